"""Brazil's holidays loaded alone: the same holidays as the whole library, without the rest of it."""

from __future__ import annotations

import json
import subprocess
import sys

import holidays

from worker.brazil_holidays import brazil


def test_brazil_alone_gives_the_same_bahia_holidays_as_the_whole_library() -> None:
    for year in range(2000, 2061):
        alone = brazil()(subdiv="BA", language="pt_BR", years=year)
        whole = holidays.country_holidays("BR", subdiv="BA", language="pt_BR", years=year)
        assert dict(alone) == dict(whole), year


def test_loading_brazil_loads_no_other_country_or_calendar_system() -> None:
    code = (
        "import json, sys\n"
        "from worker.brazil_holidays import brazil\n"
        "days = brazil()(subdiv='BA', language='pt_BR', years=2028)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('holidays'))\n"
        "import holidays.countries\n"  # the real packages still load afterwards, sharing Brazil
        "print(json.dumps([loaded, len(days), holidays.countries.Brazil is brazil()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, count, same_class = json.loads(out.stdout)
    assert "holidays.countries.brazil" in loaded
    assert not [m for m in loaded if m.startswith("holidays.countries.") and m != "holidays.countries.brazil"]
    assert not [m for m in loaded if m.endswith((".islamic", ".hindu", ".chinese", ".hebrew"))]
    assert count >= 10
    assert same_class
