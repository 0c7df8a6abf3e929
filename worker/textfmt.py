"""pt-BR date/time wording and PII masking for e-mails, sheet cells and logs; pure, no I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

__all__ = [
    "WEEKDAYS_PT",
    "first_name",
    "fmt_date",
    "fmt_datetime",
    "fmt_in_words",
    "fmt_office_hours",
    "fmt_time",
    "mask_email",
    "mask_name",
    "mask_phone",
    "person_name",
    "weekday_pt",
]

# Monday first, as date.weekday() counts.
WEEKDAYS_PT: tuple[str, ...] = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)


def _local(dt: datetime, tz: str | None) -> datetime:
    """``dt`` as wall-clock time in ``tz`` (unchanged when ``tz`` is None).

    Converting a naive datetime would silently use the host's zone, so that is refused.
    """
    if tz is None:
        return dt
    if dt.tzinfo is None:
        raise ValueError("cannot convert a naive datetime to another time zone")
    return dt.astimezone(ZoneInfo(tz))


def weekday_pt(d: date) -> str:
    """``date(2026, 12, 14)`` → ``"segunda-feira"``; Saturday and Sunday are ``"sábado"``, ``"domingo"``."""
    return WEEKDAYS_PT[d.weekday()]


def fmt_date(d: date) -> str:
    """``date(2026, 12, 13)`` → ``"13/12/2026"`` (a datetime is formatted by its own date)."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def fmt_time(dt: datetime, tz: str | None = None) -> str:
    """``10:15``; seconds are dropped, not rounded (16:59:59 → ``16:59``, never later than the real time)."""
    local = _local(dt, tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def fmt_datetime(dt: datetime, tz: str | None = None) -> str:
    """``datetime(2026, 12, 13, 10, 15)`` → ``"13/12/2026 10:15"``; with ``tz`` the instant is shown in that zone."""
    local = _local(dt, tz)
    return f"{fmt_date(local)} {fmt_time(local)}"


def fmt_in_words(dt: datetime, tz: str | None = None) -> str:
    """``"sexta-feira, 11/12/2026, às 10:15"``.

    The article agrees with the hour as spoken: ``"à 01:30"`` (à uma hora) and ``"à 00:15"``
    (à zero hora), ``"às"`` for every other hour.
    """
    local = _local(dt, tz)
    article = "à" if local.hour in (0, 1) else "às"
    return f"{weekday_pt(local)}, {fmt_date(local)}, {article} {fmt_time(local)}"


_DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHORT_DAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")


def fmt_office_hours(workdays: Sequence[str], opens: time, closes: time) -> str:
    """Office hours for e-mails, from the config's ``office.workdays/opens/closes``.

    ``(["mon", "tue", "wed", "thu", "fri"], 08:00, 17:00)`` → ``"segunda a sexta, das 08:00 às 17:00"``;
    ``["mon", "wed", "fri"]`` → ``"segunda, quarta e sexta, das …"``; one day → ``"sábado, das …"``.
    Unknown day codes raise ValueError.
    """
    try:
        idx = sorted({_DAY_CODES.index(d) for d in workdays})
    except ValueError:
        raise ValueError(f"unknown day code in {list(workdays)!r}") from None
    if not idx:
        raise ValueError("no workdays")
    names = [_SHORT_DAYS[i] for i in idx]
    if len(idx) >= 3 and idx == list(range(idx[0], idx[-1] + 1)):
        days = f"{names[0]} a {names[-1]}"
    elif len(names) == 1:
        days = names[0]
    else:
        days = ", ".join(names[:-1]) + f" e {names[-1]}"
    return f"{days}, das {opens:%H:%M} às {closes:%H:%M}"


# --------------------------------------------------------------------------- names

# Particles of Portuguese names stay lower-case unless they open the name ("Maria das Dores",
# "João da Silva", "Pedro e Souza"); "De Souza" typed as the first word keeps its capital.
_PARTICLES = frozenset({"da", "das", "de", "do", "dos", "e"})
# Generational suffixes written in capitals ("João Paulo II"); "I" alone is left out, it
# could be an initial.
_ROMAN = frozenset({"ii", "iii", "iv"})


def _cap(piece: str) -> str:
    """One piece of a word (between hyphens/apostrophes): first letter up, rest down."""
    return piece[:1].upper() + piece[1:].lower()


def _name_word(word: str, first: bool) -> str:
    low = word.lower()
    if not first and low in _PARTICLES:
        return low
    if not first and low in _ROMAN:
        return word.upper()
    if word != low and word != word.upper():
        # Mixed case was typed on purpose ("McDonald", "DiCaprio"): keep it.
        return word
    out = "-".join(
        "'".join(_cap(part) for part in segment.split("'")) for segment in low.split("-")
    )
    if not first and out.startswith("D'"):
        out = "d'" + out[2:]  # "Maria d'Ávila", as the particle "de" it stands for
    return out


def person_name(name: str) -> str:
    """A name as typed in the form, capitalised pt-BR style, for greetings and event titles.

    ``"maria das dores"`` → ``"Maria das Dores"``; ``"JOÃO DA SILVA"`` → ``"João da Silva"``;
    ``"ana-lúcia d'ávila"`` → ``"Ana-Lúcia d'Ávila"``; ``"joão paulo ii"`` → ``"João Paulo II"``.
    Particles (da, das, de, do, dos, e) are lower-case except as the first word; a word typed
    in mixed case (``"McDonald"``) is kept as typed; spaces are collapsed; ``""`` → ``""``.
    """
    words = name.split()
    return " ".join(_name_word(w, i == 0) for i, w in enumerate(words))


# Courtesy titles typed before the name are not the name ("Dra. Maria" is called Maria).
_HONORIFICS = frozenset({"sr", "sra", "srta", "dr", "dra", "prof", "profa"})


def first_name(name: str) -> str:
    """How staff call the citizen (event title, digest): ``"maria das dores"`` → ``"Maria"``.

    A leading courtesy title is skipped when a name follows (``"DRA. ANA LIMA"`` → ``"Ana"``);
    at most 40 characters; ``""`` → ``""``.
    """
    words = person_name(name).split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _HONORIFICS:
        words = words[1:]
    return words[0][:40] if words else ""


# --------------------------------------------------------------------------- masking
# Masked values are for logs, dry-run output and demo tables: enough to tell rows apart,
# never enough to recover the address, phone or name.

_TWO_LEVEL_SUFFIX = re.compile(r"^[a-z]{2,3}$")


def _mask_local(local: str) -> str:
    if len(local) >= 4:
        return f"{local[0]}***{local[-1]}"
    if len(local) >= 2:
        return f"{local[0]}***"
    return "***"


def mask_email(email: str) -> str:
    """``"maria.silva@example.com"`` → ``"m***a@e***.com"``; ``"ana@uol.com.br"`` → ``"a***@u***.com.br"``.

    The local part keeps at most its first and last characters (none when shorter than two);
    the domain keeps the first character of its name and its public suffix (the last label,
    or the last two for ``.com.br``-style suffixes). Anything without exactly one ``@`` → ``"***"``.
    """
    text = email.strip()
    if text.count("@") != 1:
        return "***"
    local, domain = text.split("@")
    labels = [label for label in domain.lower().split(".") if label]
    if not local or not labels:
        return "***"
    if len(labels) >= 3 and len(labels[-1]) == 2 and _TWO_LEVEL_SUFFIX.fullmatch(labels[-2]):
        suffix = labels[-2:]
        name = labels[-3]
    elif len(labels) >= 2:
        suffix = labels[-1:]
        name = labels[-2]
    else:
        return f"{_mask_local(local)}@***"
    return f"{_mask_local(local)}@{name[0]}***.{'.'.join(suffix)}"


def mask_phone(phone: str) -> str:
    """``"+5571988230376"`` → ``"+55 71 *****-0376"``; ``"+557132345678"`` → ``"+55 71 ****-5678"``.

    Brazilian E.164 numbers keep the country code, the DDD and the last four digits; any other
    number keeps only its last four digits (``"+351912345678"`` → ``"+********-5678"``);
    fewer than eight digits → ``"***"``.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    plus = "+" if phone.strip().startswith("+") else ""
    if plus and digits.startswith("55") and len(digits) in (12, 13):
        hidden = len(digits) - 8
        return f"+55 {digits[2:4]} {'*' * hidden}-{digits[-4:]}"
    if len(digits) < 8:
        return "***"
    return f"{plus}{'*' * (len(digits) - 4)}-{digits[-4:]}"


def mask_name(name: str) -> str:
    """``"Maria da Silva"`` → ``"M*** d*** S***"``: initials only; ``""`` → ``"***"``."""
    parts = name.split()
    if not parts:
        return "***"
    return " ".join(f"{part[0]}***" for part in parts)
