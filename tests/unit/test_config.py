"""Configuration: the shipped config.yaml, environment overrides, and every error naming its key."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from worker import config
from worker.model import ConfigError

REPO = Path(__file__).resolve().parents[2]


def load_yaml(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> config.Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, environ or {})


def test_shipped_config_describes_the_seed_office() -> None:
    s = config.load(REPO / "config.yaml", {})
    assert (s.office.opens, s.office.closes) == (time(8), time(17))
    assert s.office.timezone == "America/Bahia"
    assert s.office.workdays == ("mon", "tue", "wed", "thu", "fri")
    assert s.office.whatsapp == "+55 71 9 8823-0376"
    assert s.office.phones == ("(71) 3625-5007", "(71) 98823-0376")
    assert s.mail.transport == "gmail" and s.scheduling.mode == "auto"
    assert s.calendar.municipal_holidays == ()  # the municipality is not certain
    assert s.google.api_endpoint is None
    assert Path(s.journal.path).is_absolute()  # resolved against the config file's folder


def test_settings_are_frozen() -> None:
    s = config.load(None, {})
    with pytest.raises(AttributeError):
        s.office.opens = time(7)  # type: ignore[misc]


def test_environment_overrides_are_yaml_scalars_and_empty_means_null() -> None:
    s = config.load(REPO / "config.yaml", {
        "BALCAO__GOOGLE__API_ENDPOINT": "http://127.0.0.1:8080",
        "BALCAO__POLL__INTERVAL_SECONDS": "15",
        "BALCAO__SCHEDULING__CALENDARS": "[ana@cartorio.example, bia@cartorio.example]",
        "BALCAO__SCHEDULING__INVITE_CITIZEN": "true",
        "BALCAO__FORM__COLUMNS__CONSENT": "",
        "BALCAO__JOURNAL__PATH": "/var/lib/balcao/journal.sqlite3",
        "UNRELATED": "x",
    })
    assert s.google.api_endpoint == "http://127.0.0.1:8080"
    assert s.poll.interval_seconds == 15.0
    assert s.scheduling.calendars == ("ana@cartorio.example", "bia@cartorio.example")
    assert s.scheduling.invite_citizen is True
    assert s.form.columns.consent is None
    assert s.journal.path == "/var/lib/balcao/journal.sqlite3"


def test_closures_and_municipal_holidays_are_parsed(tmp_path: Path) -> None:
    s = load_yaml(tmp_path, """
calendar:
  municipal_holidays:
    - {name: "Corpus Christi", easter_offset: 60}
    - {name: "São João", date: "06-24"}
  extra_closures:
    - {date: "2026-12-24", name: "Véspera de Natal", open_from: "08:00", open_until: "13:00"}
    - {date: 2026-12-08, name: "Dia da Justiça"}
form:
  process_since: "2026-12-01T08:00:00"
""")
    assert s.calendar.municipal_holidays[0].easter_offset == 60
    closure = s.calendar.extra_closures[0]
    assert (closure.date, closure.open_until) == (date(2026, 12, 24), time(13))
    assert s.calendar.extra_closures[1].date == date(2026, 12, 8)
    since = s.form.process_since
    assert since is not None and since.utcoffset() is not None  # naive = office time
    assert since.replace(tzinfo=None) == datetime(2026, 12, 1, 8, 0)


@pytest.mark.parametrize(
    ("text", "env", "key", "found"),
    [
        ("office:\n  opnes: '08:00'\n", {}, "office.opnes: unknown key", "allowed here"),
        ("office:\n  closes: '07:00'\n", {}, "office.closes: expected a time after office.opens",
         "found 07:00"),
        ("office:\n  timezone: America/Salvador\n", {}, "office.timezone: expected an IANA time zone",
         "'America/Salvador'"),
        ("office:\n  opens: 'eight'\n", {}, "office.opens: expected a time HH:MM", "'eight'"),
        ("office:\n  workdays: [mon, funday]\n", {}, "office.workdays[1]: expected one of", "'funday'"),
        ("office:\n  form_url: 'javascript:alert(1)'\n", {}, "office.form_url: expected an https://",
         "'javascript:alert(1)'"),
        ("calendar:\n  extra_closures:\n    - {date: '2026-13-40', name: X}\n", {},
         "calendar.extra_closures[0].date: expected a date YYYY-MM-DD", "'2026-13-40'"),
        ("calendar:\n  extra_closures:\n    - {date: '2026-12-24', name: X, open_from: '14:00', open_until: '10:00'}\n",
         {}, "calendar.extra_closures[0].open_until: expected a time after open_from", "found 10:00"),
        ("calendar:\n  municipal_holidays:\n    - {name: X}\n", {},
         "calendar.municipal_holidays[0]: expected exactly one of", "neither"),
        ("calendar:\n  municipal_holidays:\n    - {name: X, date: '02-30'}\n", {},
         "calendar.municipal_holidays[0].date: expected MM-DD", "'02-30'"),
        ("calendar:\n  ash_wednesday_opens: '18:00'\n", {}, "calendar.ash_wednesday_opens",
         "found 18:00"),
        ("scheduling:\n  mode: automatic\n", {}, "scheduling.mode: expected one of auto | manual",
         "'automatic'"),
        ("scheduling:\n  slot_minutes: 0\n", {}, "scheduling.slot_minutes: expected an integer above 0",
         "found 0"),
        ("scheduling:\n  calendars: []\n", {}, "scheduling.calendars: expected at least one", "[]"),
        ("mail:\n  daily_limit: lots\n", {}, "mail.daily_limit: expected an integer", "'lots'"),
        ("mail:\n  smtp:\n    port: 70000\n", {}, "mail.smtp.port: expected 1-65535", "70000"),
        ("form:\n  process_since: yesterday\n", {}, "form.process_since: expected a date-time",
         "'yesterday'"),
        ("form:\n  columns:\n    email: null\n", {}, "form.columns.email: expected a string",
         "null"),
        ("google:\n  api_endpoint: localhost:8080\n", {}, "google.api_endpoint: expected a base URL",
         "'localhost:8080'"),
        ("poll:\n  interval_seconds: true\n", {}, "poll.interval_seconds: expected a number",
         "True"),
        ("", {"BALCAO__POLL__INTERVAL_SECONDS": "soon"}, "poll.interval_seconds: expected a number",
         "'soon'"),
        ("", {"BALCAO__NOPE__KEY": "1"}, "nope: unknown key", "allowed here"),
        ("- just\n- a list\n", {}, "expected a mapping at the top level", "a list"),
    ],
)
def test_each_configuration_error_names_key_expectation_and_value(
    tmp_path: Path, text: str, env: dict[str, str], key: str, found: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_yaml(tmp_path, text, env)
    message = str(err.value)
    assert key in message
    assert found in message


def test_unreadable_or_invalid_yaml_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.load(tmp_path / "missing.yaml", {})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(tmp_path, "office: [unclosed\n")


def test_unquoted_times_read_by_yaml_as_sexagesimal_still_mean_hh_mm(tmp_path: Path) -> None:
    s = load_yaml(tmp_path, "office:\n  opens: 08:00\n  closes: 17:30\n")
    assert (s.office.opens, s.office.closes) == (time(8), time(17, 30))


def test_the_loader_knows_every_section_of_the_settings() -> None:
    """`officeconfig` refuses unknown top-level keys by configfile.SECTIONS: it must name
    exactly the sections Settings has, or a section would be refused (or a typo accepted)."""
    import dataclasses

    from worker import configfile

    assert set(configfile.SECTIONS) == {f.name for f in dataclasses.fields(config.Settings)}


def test_the_office_alone_loads_as_the_whole_settings_do(tmp_path: Path) -> None:
    """`balcao deadline` and `calendar` load office: and calendar: alone (officeconfig.load):
    the same values, overrides and checks as config.load, and a misspelt section is still an
    error; the other sections are not judged there (run and check do)."""
    from worker import officeconfig

    env = {"BALCAO__OFFICE__CLOSES": "16:00", "BALCAO__POLL__INTERVAL_SECONDS": "15"}
    whole = config.load(REPO / "config.yaml", env)
    alone = officeconfig.load(REPO / "config.yaml", env)
    assert (alone.office, alone.calendar) == (whole.office, whole.calendar)
    assert alone.office.closes == time(16)
    path = tmp_path / "config.yaml"
    path.write_text("office:\n  closes: '07:00'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"office\.closes: expected a time after office\.opens"):
        officeconfig.load(path, {})
    path.write_text("ofice:\n  closes: '16:00'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ofice: unknown key"):
        officeconfig.load(path, {})
    path.write_text("calendar:\n  extra_closures:\n    - {date: 2027-13-01, name: X}\n",
                    encoding="utf-8")
    for loader in (officeconfig.load, config.load):  # PyYAML's own ValueError, too
        with pytest.raises(ConfigError, match=r"not valid YAML: month must be in 1\.\.12"):
            loader(path, {})
    path.write_text("mail:\n  daily_limit: lots\n", encoding="utf-8")
    assert officeconfig.load(path, {}).office == whole.office.__class__()
    with pytest.raises(ConfigError, match=r"mail\.daily_limit"):
        config.load(path, {})
