"""Personal-data rules (DESIGN §9): the retention settings and their old name, legal hold, which requests retention erases, which cells of a row are answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker import config
from worker.model import ConfigError, RequestRecord
from worker.planners.retention import answer_columns, matching, needs_cancelling, retention_due

BAHIA = ZoneInfo("America/Bahia")
NOW = datetime(2029, 6, 1, 10, 0, tzinfo=BAHIA)


def load(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, {})


def rec(protocol: str, *, days_ago: int, status: str = "Agendado", **kw: object) -> RequestRecord:
    at = NOW - timedelta(days=days_ago)
    fields: dict[str, object] = dict(
        protocol=protocol, seq=1, fingerprint="f", submitted=at.isoformat(), ts_key="1",
        received_at=at.isoformat(), deadline=None, status=status, updated_at=at.isoformat(),
        event_state="created", conf_state="sent", conf_revision=0, calendar_id="c",
        event_id="e", slot_start=at.isoformat(), slot_end=(at + timedelta(minutes=30)).isoformat(),
    )
    fields.update(kw)
    return RequestRecord(**fields)  # type: ignore[arg-type]


def test_retention_defaults_to_a_year_and_the_old_key_is_still_accepted(tmp_path: Path) -> None:
    assert config.load(None, {}).retention_days == 365
    assert load(tmp_path, "journal:\n  retention_days: 90\n").retention_days == 90
    assert load(tmp_path, "privacy:\n  retention_days: 30\n").retention_days == 30


def test_setting_both_retention_keys_is_a_configuration_error_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"privacy\.retention_days.*journal\.retention_days"):
        load(tmp_path, "privacy:\n  retention_days: 30\njournal:\n  retention_days: 90\n")


def test_a_legal_hold_entry_that_is_not_a_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"privacy\.legal_hold\[1\]"):
        load(tmp_path, "privacy:\n  legal_hold: [BV-2026-000001, ana@example.com]\n")


def test_the_shipped_config_names_an_encarregado() -> None:
    s = config.load(Path(__file__).resolve().parents[2] / "config.yaml", {})
    assert s.privacy.encarregado.email and s.privacy.legal_hold == ()


def test_retention_takes_only_old_finished_requests_not_held_nor_erased() -> None:
    recs = [
        rec("BV-2028-000001", days_ago=400),  # old, done
        rec("BV-2028-000002", days_ago=10),  # recent
        rec("BV-2028-000003", days_ago=400),  # on legal hold
        rec("BV-2028-000004", days_ago=400, duplicate_of="BV-2028-000003", valid=0),
        rec("BV-2028-000005", days_ago=400, status="Pendente", conf_state=""),  # owes an e-mail
        rec("BV-2028-000006", days_ago=400),  # an open intent
        rec("BV-2028-000007", days_ago=400, erasure_id=3),  # already erased
        rec("BV-2028-000008", days_ago=400, status="Requer atenção", problem="edited"),
        rec("BV-2028-000009", days_ago=400, status="Cancelado", event_state="cancelled"),
    ]
    due = retention_due(recs, NOW, 365, {"BV-2028-000003"}, {"BV-2028-000006"})
    assert due == ["BV-2028-000001", "BV-2028-000008", "BV-2028-000009"]


def test_a_late_status_change_or_appointment_keeps_a_request_longer() -> None:
    changed = rec("BV-2028-000001", days_ago=400, updated_at=(NOW - timedelta(days=5)).isoformat())
    ahead = rec("BV-2028-000002", days_ago=400,
                slot_start=(NOW + timedelta(days=1)).isoformat(),
                slot_end=(NOW + timedelta(days=1, minutes=30)).isoformat())
    assert retention_due([changed, ahead], NOW, 365, set(), set()) == []


def test_only_requests_still_going_to_happen_are_cancelled_by_an_erasure() -> None:
    past = rec("BV-2028-000001", days_ago=3)
    ahead = rec("BV-2028-000002", days_ago=0, slot_start=(NOW + timedelta(days=1)).isoformat())
    waiting = rec("BV-2028-000003", days_ago=0, event_state="", conf_state="",
                  status="Recebido", ack_state="sent")
    final = rec("BV-2028-000004", days_ago=0, status="Realizado",
                slot_start=(NOW + timedelta(days=1)).isoformat())
    assert [needs_cancelling(r, NOW) for r in (past, ahead, waiting, final)] == [
        False, True, True, False,
    ]


def test_the_answers_of_a_row_are_every_titled_or_filled_cell_but_the_kept_ones() -> None:
    header = ["Carimbo", "E-mail", "", "CPF", "Protocolo"]
    row = [46000.5, "a@b.c", "nota solta", "", "BV-2028-000001", "fora do cabeçalho"]
    assert answer_columns(header, row, keep={0, 4}) == [1, 2, 3, 5]


def test_an_address_matches_its_aliases_only() -> None:
    held = [("BV-1", "Ana.Souza@gmail.com"), ("BV-2", "ana.souza@cartorio.example"),
            ("BV-3", "outra@gmail.com"), ("BV-4", "ANASOUZA+x@googlemail.com")]
    assert matching(held, "anasouza@gmail.com") == ["BV-1", "BV-4"]
    assert matching(held, "Ana.Souza+y@cartorio.example") == ["BV-2"]
