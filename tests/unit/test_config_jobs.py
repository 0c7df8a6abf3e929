"""The scheduled jobs' settings: defaults, environment overrides, and errors that name key, expectation and value."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from worker import config
from worker.model import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_jobs_defaults_are_the_designs() -> None:
    s = config.load(REPO / "config.yaml", {})
    assert s.reminders.hours_before == (24, 2)
    assert s.digest.recipients == () and s.digest.at == time(7, 30)
    assert s.alerts.before_deadline_minutes == 120
    assert s.mail.bounce_check is False


def test_the_jobs_settings_come_from_the_environment_too() -> None:
    s = config.load(REPO / "config.yaml", {
        "BALCAO__REMINDERS__HOURS_BEFORE": "[48, 3]",
        "BALCAO__DIGEST__RECIPIENTS": "[equipe@cartorio.example]",
        "BALCAO__DIGEST__AT": "'08:15'",
        "BALCAO__ALERTS__BEFORE_DEADLINE_MINUTES": "60",
        "BALCAO__MAIL__BOUNCE_CHECK": "true",
    })
    assert s.reminders.hours_before == (48, 3)
    assert s.digest.recipients == ("equipe@cartorio.example",)
    assert s.digest.at == time(8, 15)
    assert s.alerts.before_deadline_minutes == 60
    assert s.mail.bounce_check is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BALCAO__REMINDERS__HOURS_BEFORE": "[24, 0]"},
         "reminders.hours_before[1]: expected hours between 1 and 168, found 0"),
        ({"BALCAO__REMINDERS__HOURS_BEFORE": "[2, 2]"},
         "reminders.hours_before: expected distinct hours, found [2, 2]"),
        ({"BALCAO__REMINDERS__HOURS_BEFORE": "24"},
         "reminders.hours_before: expected a list, found an integer 24"),
        ({"BALCAO__DIGEST__RECIPIENTS": "[equipe]"},
         "digest.recipients[0]: expected one e-mail address, found 'equipe'"),
        ({"BALCAO__DIGEST__RECIPIENTS": "['a@x.example, b@x.example']"},
         "digest.recipients[0]: expected one e-mail address"),
        ({"BALCAO__DIGEST__AT": "'7h30'"}, "digest.at: expected a time HH:MM, found a string '7h30'"),
        ({"BALCAO__ALERTS__BEFORE_DEADLINE_MINUTES": "0"},
         "alerts.before_deadline_minutes: expected office minutes between 1 and 1440, found 0"),
        ({"BALCAO__MAIL__BOUNCE_CHECK": "true", "BALCAO__MAIL__TRANSPORT": "smtp"},
         "mail.bounce_check: expected false with mail.transport: smtp"),
    ],
)
def test_each_jobs_setting_error_names_key_expectation_and_value(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(REPO / "config.yaml", env)
    assert message in str(err.value)


def test_bounce_check_asks_for_gmail_readonly() -> None:
    from worker import bootstrap

    s = config.load(REPO / "config.yaml", {"BALCAO__MAIL__BOUNCE_CHECK": "true"})
    assert any(scope.endswith("gmail.readonly") for scope in bootstrap.google_scopes(s))
    plain = config.load(REPO / "config.yaml", {})
    assert not any(scope.endswith("gmail.readonly") for scope in bootstrap.google_scopes(plain))
