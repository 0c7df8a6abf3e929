"""The adapter calls erasure and export make, over real HTTP against the sandbox: a row read as staff see it, an event stripped without telling anyone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_adapters_sandbox import CAL, event_spec, gcal, google_requests, gsheet

pytestmark = pytest.mark.integration


def test_a_row_read_as_displayed_shows_dates_as_staff_see_them(sandbox: Any) -> None:
    sheet = gsheet(sandbox)
    stored = sandbox.sheet_values()
    [[row]] = sheet.read_displayed(["A2:Z2"])
    assert isinstance(stored[1][0], float)
    assert row[0].count("/") == 2 and ":" in row[0]  # dd/mm/aaaa hh:mm:ss, not a serial
    assert row[1:3] == [str(v) for v in stored[1][1:3]]
    assert len(google_requests(sandbox, "values:batchGet")) == 1


def test_an_event_stripped_keeps_only_its_title_and_tells_no_one(sandbox: Any) -> None:
    cal = gcal(sandbox)
    spec = event_spec()
    cal.create_event(spec)
    cal.patch_event(CAL, spec.event_id, summary="Balcão Virtual BV-2030-000001",
                    strip_personal=True, send_updates="none")
    [patch] = [r for r in sandbox.state()["requests"] if r["method"] == "calendar.events.patch"]
    assert patch["query"]["sendUpdates"] == "none"
    event = sandbox.state()["calendars"][CAL]["events"][0]
    assert event["summary"] == "Balcão Virtual BV-2030-000001"
    assert not event.get("description") and not event.get("attendees")
