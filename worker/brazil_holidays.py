"""The ``holidays`` library's Brazil class, loaded without the ~250 other countries; no dates here."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from holidays import HolidayBase

__all__ = ["brazil"]

# What importing Brazil's module the ordinary way costs, measured on the turn-1 release:
# ``import holidays`` reads its version through importlib.metadata (~25 ms); any
# ``holidays.countries.X`` (``from holidays.countries.brazil import Brazil`` too) runs
# ``holidays/countries/__init__.py``, which imports every country (~150 ms, ~11 MiB);
# ``holidays.calendars`` and ``holidays.groups`` import every calendar system (Islamic,
# Hindu, Chinese... tables: ~15 ms, ~2 MiB). Brazil needs the Gregorian calendar and the
# Christian and international groups only.
_PACKAGES = ("holidays", "holidays.countries", "holidays.calendars", "holidays.groups")
_GROUPS = {"ChristianHolidays": "christian", "InternationalHolidays": "international"}


@functools.cache
def brazil() -> type[HolidayBase]:
    """``holidays.countries.brazil.Brazil``, with only the modules it needs.

    The four packages above are stood in for, while Brazil's module loads, by empty packages
    that only know where their files are (the groups one also holds the two classes Brazil
    imports from it). The stand-ins are removed at once: a later ``import holidays`` gets the
    real packages, which reuse the modules loaded here, so there is one Brazil class."""
    if "holidays.countries" in sys.modules:  # the whole library is loaded already
        return importlib.import_module("holidays.countries.brazil").Brazil  # type: ignore[no-any-return]
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the holidays library is not installed", name="holidays")
    root = list(spec.submodule_search_locations)
    added: list[str] = []
    for name in _PACKAGES:
        if name not in sys.modules:
            stand_in = types.ModuleType(name)
            stand_in.__path__ = [p + name[len("holidays") :].replace(".", "/") for p in root]
            sys.modules[name] = stand_in
            added.append(name)
    try:
        groups = sys.modules["holidays.groups"]
        for cls, module in _GROUPS.items():
            if not hasattr(groups, cls):
                loaded = importlib.import_module(f"holidays.groups.{module}")
                setattr(groups, cls, getattr(loaded, cls))
        return importlib.import_module("holidays.countries.brazil").Brazil  # type: ignore[no-any-return]
    finally:
        for name in added:
            sys.modules.pop(name, None)
