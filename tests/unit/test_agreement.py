"""Issue 13's pure rules as literal tables: one inbox per mailbox, plain event text, colliding column titles, protocols the journal never issued, rows of one second told apart, exact consent, odd timestamps, landlines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker import intake
from worker.agreement import unknown_above
from worker.config import ConfigError, load
from worker.identity import locate
from worker.model import ColumnTitles, OwnedTitles, ParsedRow, mailbox_key
from worker.packed import IdentityIndex
from worker.plaintext import plain_text
from worker.planners import claims

BAHIA = ZoneInfo("America/Bahia")
HEADER = ColumnTitles().titles()
OWNED = list(intake.OWNED_COLUMNS)


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("maria.silva@gmail.com", "mariasilva@gmail.com"),
        ("Maria.Silva+balcao@GMAIL.com", "mariasilva@gmail.com"),
        ("m.a.r.i.a.silva@googlemail.com", "mariasilva@gmail.com"),
        ("ana+x@cartorio.example", "ana@cartorio.example"),
        ("Ana.Maria@Cartorio.Example", "ana.maria@cartorio.example"),  # dots matter elsewhere
        ("sem-arroba", "sem-arroba"),
    ],
)
def test_one_inbox_is_one_mailbox_whatever_the_alias(address: str, mailbox: str) -> None:
    assert mailbox_key(address) == mailbox


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ('<a href="javascript:alert(1)">Maria</a> da Silva', "Maria da Silva"),
        ("<b>Escritura</b>", "Escritura"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "alert(1)"),
        ("<img src=x onerror=alert(1)>Ana", "Ana"),
        ("JaVaScRiPt:alert(1)", "alert(1)"),
        ("java\tscript:alert(1)", "alert(1)"),
        ("<scr<b>ipt>x", "ipt›x"),
        ("a < b e c > d", "a ‹ b e c › d"),
        ("Data: 10/05, às 14h", "Data: 10/05, às 14h"),
        ("https://exemplo.com.br/pagina", "https://exemplo.com.br/pagina"),
        ("Procuração", "Procuração"),
    ],
)
def test_event_text_is_plain_text(text: str, plain: str) -> None:
    assert plain_text(text) == plain


def hmap_of(header: list[str], owned: OwnedTitles | None = None) -> intake.HeaderMap:
    return intake.build_header_map(header, ColumnTitles(), owned_titles=owned)


@pytest.mark.parametrize(
    ("header", "first_run", "named"),
    [
        ([*HEADER, *OWNED], True, []),
        ([*HEADER], True, []),
        ([*HEADER, "Observação"], True, ["'Observação'"]),
        ([*HEADER, "observacao "], True, ["'Observação'"]),  # folded like staff type
        ([*HEADER, "Observação", *OWNED], False, ["'Observação'"]),  # twice
        ([HEADER[0], "Protocolo", *HEADER[1:], *OWNED[1:]], False, ["'Protocolo'"]),
        ([*HEADER, "Situação", "Protocolo"], False, []),  # balcao's own, one recreated
    ],
)
def test_a_form_question_titled_like_a_balcao_column_is_named(
    header: list[str], first_run: bool, named: list[str]
) -> None:
    found = intake.owned_collisions(hmap_of(header), first_run=first_run)
    assert [f.split(" is ")[0] for f in found] == named


def test_renamed_balcao_columns_are_found_by_their_new_title_and_known_by_their_role() -> None:
    owned = OwnedTitles(note="Nota do balcão", protocol="Protocolo do balcão")
    header = [*HEADER, "Observação", "Protocolo", "Protocolo do balcão", *OWNED[1:6],
              "Nota do balcão"]
    hmap = hmap_of(header, owned)
    assert hmap.owned["Protocolo"] == header.index("Protocolo do balcão")
    assert hmap.owned["Observação"] == header.index("Nota do balcão")
    assert intake.owned_collisions(hmap, first_run=False) == []
    fresh = hmap_of([*HEADER, "Observação"], owned)
    assert next(fresh.title_of(k) for k in fresh.missing_owned) == "Protocolo do balcão"


def test_config_refuses_a_form_field_titled_like_a_balcao_column() -> None:
    env = {"BALCAO__FORM__COLUMNS__SUBJECT": "observacao"}
    with pytest.raises(ConfigError, match=r"form\.columns\.subject.*form\.owned_columns\.note"):
        load(None, env)
    with pytest.raises(ConfigError, match=r"form\.owned_columns\.note"):
        load(None, {"BALCAO__FORM__OWNED_COLUMNS__NOTE": "Situacao"})


@pytest.mark.parametrize(
    ("cells", "known", "highest", "unknown"),
    [
        (["BV-2026-000003"], {}, {}, ["BV-2026-000003"]),  # an empty journal
        (["BV-2026-000003", "BV-2026-000004"], {"BV-2026-000003"}, {2026: 3},
         ["BV-2026-000004"]),  # a journal one tick old
        (["BV-2026-000002"], {}, {2026: 3}, []),  # typed by hand below: only flagged
        (["BV-2025-000002"], {}, {2026: 3}, ["BV-2025-000002"]),  # none that year
        ([" BV-2026-000009 ", "texto", 7, None], {}, {2026: 10}, []),
    ],
)
def test_protocols_the_journal_never_issued_above_its_highest_are_found(
    cells: list[object], known: set[str], highest: dict[int, int], unknown: list[str]
) -> None:
    assert unknown_above(cells, dict.fromkeys(known), highest) == unknown


def test_a_row_showing_an_unknown_protocol_keeps_it_and_is_flagged() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=BAHIA)
    typed = ParsedRow(5, now, None, (), "fp1", "BV-2026-000002", raw_email="a@x.example")
    fresh = ParsedRow(6, now, None, (), "fp2", None, raw_email="b@x.example")
    out = claims.classify_new([typed, fresh], claims.IntakeContext(8, timedelta(0), 3), now)
    assert [(d.protocol, d.status.value, d.reason) for d in out] == [
        ("BV-2026-000002", "Requer atenção", "Protocolo não reconhecido"),
        ("BV-2026-000008", "Pendente", ""),
    ]


class Answers:
    """A resolver of twin rows from a table: row → the protocol whose answers it holds."""

    def __init__(self, rows: dict[int, str]) -> None:
        self.rows = rows
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, row: int, candidates: Sequence[str], *, must: bool) -> str | None:
        self.calls.append((row, must))
        got = self.rows.get(row)
        return got if got in candidates else None


def test_rows_of_one_second_are_placed_by_their_answers_not_their_order() -> None:
    index = IdentityIndex.load([("BV-2026-000001", "45000.5"), ("BV-2026-000002", "45000.5")])
    ts = {2: 45000.5, 3: 45000.5}
    # After a sort, row 2 holds the second request's answers; neither shows a protocol.
    view = locate(ts, {}, index.known, index.by_ts,
                  resolve=Answers({2: "BV-2026-000002", 3: "BV-2026-000001"}))
    assert view.row_of == {"BV-2026-000002": 2, "BV-2026-000001": 3}
    # Cells written the wrong way round by an older release are repaired.
    swapped = {2: "BV-2026-000001", 3: "BV-2026-000002"}
    view = locate(ts, swapped, index.known, index.by_ts,
                  resolve=Answers({2: "BV-2026-000002", 3: "BV-2026-000001"}))
    assert sorted(view.repairs) == [(2, "BV-2026-000002"), (3, "BV-2026-000001")]


@pytest.mark.parametrize(
    ("answer", "consents"),
    [
        ("Sim, concordo", True),
        ("  sim, CONCORDO ", True),
        ("Sim, concordo NÃO", False),
        ("Sim", False),
        ("Não concordo", False),
        ("", False),
    ],
)
def test_consent_is_the_configured_answer_exactly(answer: str, consents: bool) -> None:
    parsed = parse_good({"Declaro que li e concordo com a política de privacidade": answer})
    assert (parsed.answers is not None) is consents


NOW = datetime(2026, 12, 7, 10, 0, tzinfo=BAHIA)


def parse_good(changes: dict[str, object], now: datetime = NOW) -> ParsedRow:
    good: dict[str, object] = {
        "Carimbo de data/hora": intake.datetime_to_serial(NOW - timedelta(hours=1), str(BAHIA)),
        "Endereço de e-mail": "maria@example.com",
        "Nome completo": "Maria da Silva",
        "Telefone com DDD (WhatsApp)": "(71) 98823-0376",
        "Como prefere ser atendido?": "Google Meet",
        "Serviço": "Escritura",
        "Assunto do atendimento": "Dúvida",
        "Período de preferência": "Sem preferência",
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
    }
    good.update(changes)
    hmap = intake.build_header_map(HEADER, ColumnTitles())
    parsed = intake.parse_row(7, [good.get(t, "") for t in HEADER], hmap, sheet_tz=str(BAHIA),
                              secret=b"s", now=now)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("submitted", "flagged"),
    [
        (NOW + timedelta(minutes=4), False),
        (NOW + timedelta(minutes=6), True),
        (datetime(2099, 1, 1, 9, 0, tzinfo=BAHIA), True),
        (datetime(2020, 12, 31, 9, 0, tzinfo=BAHIA), True),
        (datetime(2021, 1, 4, 9, 0, tzinfo=BAHIA), False),
    ],
)
def test_a_timestamp_ahead_of_now_or_before_2021_is_flagged_and_not_kept(
    submitted: datetime, flagged: bool
) -> None:
    parsed = parse_good({"Carimbo de data/hora": intake.datetime_to_serial(submitted,
                                                                           str(BAHIA))})
    assert bool(parsed.problems) is flagged
    assert (parsed.submitted is None) is flagged


@pytest.mark.parametrize(
    ("phone", "note"),
    [
        ("(71) 3322-1100", "Telefone fixo: confirme se tem WhatsApp"),
        ("(71) 98823-0376", ""),
    ],
)
def test_a_whatsapp_request_with_a_landline_is_accepted_with_a_note(phone: str, note: str) -> None:
    parsed = parse_good({"Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
                         "Telefone com DDD (WhatsApp)": phone})
    assert parsed.answers is not None and parsed.note == note


def test_aliases_of_one_inbox_share_a_fingerprint_for_the_duplicate_check() -> None:
    a = parse_good({"Endereço de e-mail": "maria.silva@gmail.com"})
    b = parse_good({"Endereço de e-mail": "MariaSilva+2@googlemail.com"})
    c = parse_good({"Endereço de e-mail": "outra@gmail.com"})
    assert a.fingerprint == b.fingerprint != c.fingerprint
