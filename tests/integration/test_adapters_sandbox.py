"""Every Google adapter over real HTTP against the sandbox: results, request counts and error classes."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from worker.adapters.gmail import GmailMailer
from worker.adapters.google_auth import SCOPES, load_credentials, scopes_for
from worker.adapters.google_calendar import GoogleCalendar
from worker.adapters.google_sheets import GoogleSheet
from worker.adapters.memory import FixedClock
from worker.model import AdapterError, EmailSpec, EventSpec
from worker.ports import CellWrite

pytestmark = pytest.mark.integration

SID = "sandbox-sheet"
TAB = "Respostas ao formulário 1"
BAHIA = ZoneInfo("America/Bahia")
CAL = "agenda.um@example.org"
START = datetime(2030, 3, 7, 10, 0, tzinfo=BAHIA)


def dummy(sb: Any) -> Any:
    return load_credentials(None, [], api_endpoint=sb.url, delegated_user=None)


def gsheet(sb: Any, creds: Any = None) -> GoogleSheet:
    return GoogleSheet(creds or dummy(sb), SID, TAB, api_endpoint=sb.url, timeout=5)


def gcal(sb: Any, creds: Any = None, **kw: Any) -> GoogleCalendar:
    kw.setdefault("sleep", lambda s: None)
    return GoogleCalendar(creds or dummy(sb), api_endpoint=sb.url, timeout=5, **kw)


def gmail(sb: Any, creds: Any = None, search: bool = True) -> GmailMailer:
    return GmailMailer(
        creds or dummy(sb),
        sender="Cartório de Teste <balcao@example.org>",
        can_search_sent=search,
        api_endpoint=sb.url,
        timeout=5,
        clock=FixedClock(START),
    )


def event_spec(event_id: str = "bv2030000001r0", *, meet: bool = True, hour: int = 10) -> EventSpec:
    start = START.replace(hour=hour)
    return EventSpec(
        event_id=event_id,
        calendar_id=CAL,
        protocol="BV-2030-000001",
        summary="Atendimento BV-2030-000001 (Ana)",
        description="Solicitação pelo Balcão Virtual",
        start=start,
        end=start + timedelta(minutes=30),
        timezone="America/Bahia",
        meet=meet,
    )


def mail(n: int = 1) -> EmailSpec:
    return EmailSpec(
        to="ana@example.com",
        subject="Recebemos sua solicitação",
        text="Olá, Ana.",
        html="<p>Olá, Ana.</p>",
        message_id=f"<ack.bv-2030-00000{n}.0@balcao.example.org>",
        kind="ack",
    )


def google_requests(sb: Any, path_part: str, method: str | None = None) -> list[dict[str, Any]]:
    """Logged requests whose path contains ``path_part`` (and whose API method id ends with
    ``method``, e.g. ``events.get``)."""
    return [
        r
        for r in sb.requests_log()
        if path_part in r["path"] and (method is None or str(r["method"]).endswith(method))
    ]


@pytest.fixture(scope="module")
def sa_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path_factory.mktemp("sa") / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "private_key": pem,
                "private_key_id": "k1",
                "client_email": "balcao@demo.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


# --------------------------------------------------------------------------- Sheets


def test_sheet_info_and_one_batch_get_read_the_sample_form(sandbox: Any) -> None:
    sheet = gsheet(sandbox)
    info = sheet.info()
    assert info.timezone == "America/Bahia" and info.column_count >= 26 and info.row_count >= 1000
    stored = sandbox.sheet_values()
    header, first_column = sheet.read(["1:1", "A2:A"])
    assert header == [stored[0]]
    assert len(first_column) == len(stored) - 1
    assert isinstance(first_column[0][0], float)  # a serial number, not a formatted string
    assert len(google_requests(sandbox, "values:batchGet")) == 1


def test_sheet_write_is_raw_and_one_request(sandbox: Any) -> None:
    sheet = gsheet(sandbox)
    sheet.write([CellWrite(2, 20, "=1+1"), CellWrite(2, 21, 46000.5), CellWrite(3, 20, "Recebido")])
    values = sandbox.sheet_values()
    assert values[1][19:21] == ["=1+1", 46000.5]
    assert values[2][19] == "Recebido"
    assert len(google_requests(sandbox, "values:batchUpdate")) == 1


def test_add_columns_widens_the_grid_then_writes_fit(sandbox: Any) -> None:
    sheet = gsheet(sandbox)
    width = sheet.info().column_count
    titles = ["Protocolo", "Situação", "Prazo de resposta"]
    with pytest.raises(AdapterError) as err:
        sheet.write([CellWrite(2, width + 2, "x")])
    assert err.value.status == 400 and not err.value.transient
    sheet.add_columns(titles, width, [width + 2])
    assert sheet.info().column_count == width + 2
    assert sheet.read(["1:1"])[0][0][width - 1 : width + 2] == titles
    sheet.write([CellWrite(2, width + 2, 46000.5)])
    assert sandbox.sheet_values()[1][width + 1] == 46000.5


def test_status_tab_is_created_and_rewritten(sandbox: Any) -> None:
    sheet = gsheet(sandbox)
    sheet.write_status_tab("balcao", [["Último ciclo", 46000.5], ["Situação", "em execução"]])
    sheet.write_status_tab("balcao", [["Último ciclo", 46000.6]])
    tab = sandbox.state()["spreadsheets"][SID]["sheets"]["balcao"]["values"]
    assert tab[0] == ["Último ciclo", 46000.6]


def test_sheet_quota_fault_is_transient_with_retry_after_and_not_retried(sandbox: Any) -> None:
    sandbox.fault(path_regex="values:batchGet", status=429, headers={"Retry-After": "9"})
    with pytest.raises(AdapterError) as err:
        gsheet(sandbox).read(["1:1"])
    assert err.value.transient and err.value.status == 429 and err.value.retry_after == 9.0
    assert len(google_requests(sandbox, "values:batchGet")) == 1


def test_sheet_server_error_and_insufficient_scope(sandbox: Any) -> None:
    sandbox.fault(path_regex="values:batchGet", status=500)
    with pytest.raises(AdapterError) as err:
        gsheet(sandbox).read(["1:1"])
    assert err.value.transient and not err.value.outcome_unknown
    sandbox.fault(path_regex="values:batchUpdate", status=403, reason="insufficientPermissions")
    with pytest.raises(AdapterError) as err:
        gsheet(sandbox).write([CellWrite(2, 20, "x")])
    assert err.value.auth and not err.value.transient


def test_sheet_write_with_a_dropped_answer_is_outcome_unknown_and_sent_once(sandbox: Any) -> None:
    sandbox.fault(path_regex="values:batchUpdate", drop=True, after_effect=True)
    with pytest.raises(AdapterError) as err:
        gsheet(sandbox).write([CellWrite(2, 20, "applied")])
    assert err.value.transient and err.value.outcome_unknown
    assert sandbox.sheet_values()[1][19] == "applied"
    assert len(google_requests(sandbox, "values:batchUpdate")) == 1


# --------------------------------------------------------------------------- Calendar


def test_event_with_meet_then_409_reads_it_back(sandbox: Any) -> None:
    cal = gcal(sandbox)
    first = cal.create_event(event_spec())
    assert first.status == "confirmed" and first.meet_status == "success"
    assert first.meet_link and first.meet_link.startswith("https://meet.google.com/")
    again = cal.create_event(event_spec())
    assert again.meet_link == first.meet_link
    events = sandbox.state()["calendars"][CAL]["events"]
    assert len(events) == 1
    stored = events[0]
    assert stored["start"]["timeZone"] == "America/Bahia"
    assert stored["extendedProperties"]["private"]["balcaoProtocol"] == "BV-2030-000001"


def test_whatsapp_event_has_no_conference(sandbox: Any) -> None:
    result = gcal(sandbox).create_event(event_spec("bv2030000002r0", meet=False))
    assert (result.meet_status, result.meet_link) == (None, None)


def test_event_deleted_by_staff_is_cancelled_and_never_recreated(sandbox: Any) -> None:
    cal = gcal(sandbox)
    cal.create_event(event_spec())
    cal.delete_event(CAL, "bv2030000001r0")
    cal.delete_event(CAL, "bv2030000001r0")  # 410: done
    assert cal.create_event(event_spec()).status == "cancelled"
    got = cal.get_event(CAL, "bv2030000001r0")
    assert got is not None and got.status == "cancelled"
    assert cal.get_event(CAL, "bv2030999999r0") is None
    found = cal.find_events(CAL, "BV-2030-000001")
    assert [(e.event_id, e.status) for e in found] == [("bv2030000001r0", "cancelled")]


def test_pending_meet_is_polled_within_its_bound(sandbox: Any) -> None:
    sandbox.config(meet_pending_gets=3)
    patient = gcal(sandbox, meet_poll_gets=3).create_event(event_spec())
    assert patient.meet_status == "success" and patient.meet_link
    gets = google_requests(sandbox, "/events/bv2030000001r0", "events.get")
    assert len(gets) == 3
    hurried = gcal(sandbox, meet_poll_gets=1).create_event(event_spec("bv2030000003r0"))
    assert (hurried.meet_status, hurried.meet_link) == ("pending", None)
    later = gcal(sandbox).get_event(CAL, "bv2030000003r0")
    assert later is not None and later.meet_status == "pending"


def test_freebusy_splits_a_long_horizon_and_parses_google_times(sandbox: Any) -> None:
    cal = gcal(sandbox)
    cal.create_event(event_spec(hour=10))
    cal.create_event(event_spec("bv2030000004r0", hour=11, meet=False))
    start = datetime(2030, 3, 1, tzinfo=BAHIA)
    busy = cal.busy([CAL, "agenda.dois@example.org"], start, start + timedelta(days=100))
    assert busy["agenda.dois@example.org"] == []
    assert busy[CAL] == [
        (START, START.replace(minute=30)),
        (START.replace(hour=11), START.replace(hour=11, minute=30)),
    ]
    assert len(google_requests(sandbox, "/freeBusy")) == 2


def test_freebusy_on_an_unshared_calendar_is_an_operator_error(sandbox: Any) -> None:
    sandbox.config(unshared_calendars=["fechada@example.org"])
    try:
        with pytest.raises(AdapterError) as err:
            gcal(sandbox).busy(["fechada@example.org"], START, START + timedelta(days=1))
        assert err.value.auth and err.value.reason == "notFound"
    finally:
        sandbox.config(unshared_calendars=[])


def test_dropped_insert_is_outcome_unknown_sent_once_and_recovered_by_409(sandbox: Any) -> None:
    sandbox.fault(method="POST", path_regex="/events$", drop=True, after_effect=True)
    cal = gcal(sandbox)
    with pytest.raises(AdapterError) as err:
        cal.create_event(event_spec())
    assert err.value.transient and err.value.outcome_unknown
    assert len(google_requests(sandbox, "/events", "events.insert")) == 1
    assert cal.create_event(event_spec()).meet_link  # the retry meets a 409 and reads it back
    assert len(sandbox.state()["calendars"][CAL]["events"]) == 1


def test_meet_refused_without_delegation_is_an_operator_error(sandbox: Any) -> None:
    sandbox.fault(
        path_regex="/events$",
        status=400,
        message="Invalid conference type value.",
        reason="invalid",
    )
    with pytest.raises(AdapterError) as err:
        gcal(sandbox).create_event(event_spec())
    assert err.value.auth and not err.value.transient


# --------------------------------------------------------------------------- Gmail


def test_send_then_find_sent_and_read_the_stored_message_id(sandbox: Any) -> None:
    mailer = gmail(sandbox)
    gid = mailer.send(mail())
    assert mailer.find_sent(mail().message_id) == gid
    assert mailer.find_sent("<never@balcao.example.org>") is None
    assert mailer.read_message_id(gid) == mail().message_id
    (box,) = sandbox.state()["gmail"].values()
    (stored,) = box["messages"]
    raw = base64.urlsafe_b64decode(stored["raw"] + "=" * (-len(stored["raw"]) % 4))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"].addresses[0].addr_spec == "balcao@example.org"
    assert mailer.profile()["emailAddress"]


def test_rewritten_message_id_is_visible_to_the_rewrite_check(sandbox: Any) -> None:
    sandbox.config(rewrite_message_id=True)
    mailer = gmail(sandbox)
    gid = mailer.send(mail())
    assert mailer.read_message_id(gid) != mail().message_id


def test_dropped_send_is_outcome_unknown_and_never_resent_by_the_library(sandbox: Any) -> None:
    sandbox.fault(path_regex="/messages/send", drop=True, after_effect=True)
    with pytest.raises(AdapterError) as err:
        gmail(sandbox).send(mail())
    assert err.value.transient and err.value.outcome_unknown
    (box,) = sandbox.state()["gmail"].values()
    assert len(box["messages"]) == 1  # httplib2's silent retry would have made it 2
    assert len(google_requests(sandbox, "/messages/send")) == 1


def test_send_quota_and_server_errors(sandbox: Any) -> None:
    sandbox.fault(path_regex="/messages/send", status=429)
    with pytest.raises(AdapterError) as err:
        gmail(sandbox).send(mail())
    assert err.value.transient and not err.value.outcome_unknown
    sandbox.fault(path_regex="/messages/send", status=500, after_effect=True)
    with pytest.raises(AdapterError) as err:
        gmail(sandbox).send(mail(2))
    assert err.value.transient and err.value.outcome_unknown


# --------------------------------------------------------------------------- credentials and scopes


def test_sandbox_issued_tokens_carry_exactly_the_least_privilege_scopes(
    sandbox: Any, sa_file: Path
) -> None:
    creds = load_credentials(
        str(sa_file),
        scopes_for("gmail", False, False),
        api_endpoint=sandbox.url,
        delegated_user="balcao@example.org",
    )
    gsheet(sandbox, creds).read(["1:1"])
    gcal(sandbox, creds).create_event(event_spec())
    gcal(sandbox, creds).busy([CAL], START, START + timedelta(days=1))
    mailer = gmail(sandbox, creds)
    mailer.send(mail())
    # the search needs gmail.readonly, which this configuration did not ask for
    with pytest.raises(AdapterError) as err:
        mailer.find_sent(mail().message_id)
    assert err.value.auth and err.value.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert len(google_requests(sandbox, "/token")) >= 1


def test_calendar_without_its_scope_is_refused_as_auth(sandbox: Any, sa_file: Path) -> None:
    creds = load_credentials(
        str(sa_file), [SCOPES.SPREADSHEETS], api_endpoint=sandbox.url, delegated_user=None
    )
    with pytest.raises(AdapterError) as err:
        gcal(sandbox, creds).busy([CAL], START, START + timedelta(days=1))
    assert err.value.auth


def test_revoked_credentials_are_an_auth_error(sandbox: Any, sa_file: Path) -> None:
    sandbox.fault(
        path_regex="^/token",
        status=400,
        reason="invalid_grant",
        message="Token has been expired or revoked.",
    )
    creds = load_credentials(
        str(sa_file), [SCOPES.SPREADSHEETS], api_endpoint=sandbox.url, delegated_user=None
    )
    with pytest.raises(AdapterError) as err:
        gsheet(sandbox, creds).read(["1:1"])
    assert err.value.auth and err.value.reason == "invalid_grant"
