"""Sheets date serials, number-format rendering and the parsing of typed text (USER_ENTERED),
both following the spreadsheet's locale as Google does.

Serial: days since 1899-12-30, wall-clock time in the spreadsheet's zone (no offset):
``45741.60430555556`` is 2025-03-25 14:30:12. Formatting knows the pattern tokens the worker
and the Forms timestamp use (``dd/MM/yyyy HH:mm:ss``, ``dd/mm/yyyy hh:mm``). Locale: pt_BR
reads and shows ``1,5`` and ``13/12/2026``; en_US ``1.5`` and ``12/13/2026``; en_GB ``1.5``
and ``13/12/2026``. A typed ISO date (``2020-01-01``) keeps its shape when shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

EPOCH = datetime(1899, 12, 30)
FORM_TIMESTAMP_FORMAT = {"type": "DATE_TIME", "pattern": "dd/MM/yyyy HH:mm:ss"}
TYPED_DATE_FORMAT = {"type": "DATE", "pattern": "dd/MM/yyyy"}
TYPED_DATETIME_FORMAT = {"type": "DATE_TIME", "pattern": "dd/MM/yyyy HH:mm:ss"}
TYPED_TIME_FORMAT = {"type": "TIME", "pattern": "HH:mm:ss"}
DATE_TYPES = frozenset({"DATE", "TIME", "DATE_TIME"})
GROUPED_NUMBER_FORMAT = {"type": "NUMBER", "pattern": "#,##0.00"}
ISO_DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
ISO_DATETIME_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd H:mm:ss"}


@dataclass(frozen=True)
class Locale:
    """What a spreadsheet locale changes in typing and showing values."""

    name: str
    decimal: str  # "," or "."
    day_first: bool  # 13/12/2026 (pt_BR, en_GB) or 12/13/2026 (en_US)
    date_pattern: str
    datetime_pattern: str
    true: str
    false: str
    months: tuple[str, ...]
    days: tuple[str, ...]

    @property
    def group(self) -> str:
        return "." if self.decimal == "," else ","

    def date_format(self, with_time: bool) -> dict[str, str]:
        if with_time:
            return {"type": "DATE_TIME", "pattern": self.datetime_pattern}
        return {"type": "DATE", "pattern": self.date_pattern}


_PT_MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
              "setembro", "outubro", "novembro", "dezembro")
_PT_DAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

LOCALES: dict[str, Locale] = {
    "pt_BR": Locale("pt_BR", ",", True, "dd/MM/yyyy", "dd/MM/yyyy HH:mm:ss", "VERDADEIRO", "FALSO",
                    _PT_MONTHS, _PT_DAYS),
    "en_US": Locale("en_US", ".", False, "M/d/yyyy", "M/d/yyyy H:mm:ss", "TRUE", "FALSE", _EN_MONTHS, _EN_DAYS),
    "en_GB": Locale("en_GB", ".", True, "dd/MM/yyyy", "dd/MM/yyyy HH:mm:ss", "TRUE", "FALSE", _EN_MONTHS, _EN_DAYS),
}
DEFAULT_LOCALE = "pt_BR"


def locale_of(name: str | None) -> Locale:
    """The conventions of a locale name; unknown names fall back by language (``pt_PT`` → pt_BR's)."""
    if name in LOCALES:
        return LOCALES[name]
    lang = (name or DEFAULT_LOCALE).split("_")[0].lower()
    return LOCALES["pt_BR"] if lang == "pt" else LOCALES["en_GB"] if lang == "en" else LOCALES["en_US"]


def to_serial(dt: datetime) -> float:
    """Naive wall-clock datetime → serial (aware ones must be converted to the sheet zone first)."""
    delta = dt.replace(tzinfo=None) - EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def from_serial(x: float) -> datetime:
    return EPOCH + timedelta(seconds=round(x * 86400))


def formula_value(text: str) -> Any:
    """What a formula shows. Only constants and HYPERLINK are computed; others show ``#NAME?``."""
    body = text[1:].strip()
    mo = re.fullmatch(r'"((?:[^"]|"")*)"', body)
    if mo:
        return mo.group(1).replace('""', '"')
    num = parse_number(body)
    if num is not None:
        return num
    if re.fullmatch(r"[0-9.,+\-*/()\s]+", body) and re.search(r"\d", body):
        arith = _arithmetic(body.replace(",", "."))
        if arith is not None:
            return arith
    mo = re.fullmatch(r'(?is)HYPERLINK\(\s*"((?:[^"]|"")*)"\s*(?:[;,]\s*"((?:[^"]|"")*)"\s*)?\)', body)
    if mo:
        return (mo.group(2) if mo.group(2) is not None else mo.group(1)).replace('""', '"')
    return "#NAME?"


def _arithmetic(text: str) -> float | int | None:
    """Evaluate ``1+1`` or ``(2*3)/4`` (numbers and + - * / only); None when it is anything else."""
    import ast

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
        raise ValueError(node)

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError):
        return None


def parse_number(text: str, locale: str | None = None) -> float | int | None:
    """A typed number: pt_BR ``1,5`` → 1.5, ``1.234,5`` → 1234.5; en_US ``1.5``, ``1,234.5``;
    ``-3`` → -3, ``1e3`` → 1000.0; anything else None."""
    loc = locale_of(locale)
    dec, grp = re.escape(loc.decimal), re.escape(loc.group)
    t = text.strip()
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    if re.fullmatch(rf"[-+]?\d*{dec}\d+|[-+]?\d+{dec}", t):
        return float(t.replace(loc.decimal, "."))
    if re.fullmatch(rf"[-+]?\d{{1,3}}({grp}\d{{3}})+({dec}\d+)?", t):
        v = float(t.replace(loc.group, "").replace(loc.decimal, "."))
        return int(v) if v.is_integer() and loc.decimal not in t else v
    if re.fullmatch(rf"[-+]?\d+({dec}\d+)?[eE][-+]?\d+", t):
        return float(t.replace(loc.decimal, "."))
    return None


_DT = re.compile(
    r"(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_datetime_text(
    text: str, today: date | None = None, locale: str | None = None
) -> tuple[float, dict[str, str]] | None:
    """Typed date/time → (serial, auto number format) or None.

    pt_BR: ``13/12/2026 10:15`` → (46369.427..., DATE_TIME); ``13/12/2026`` → DATE; ``10:15`` →
    TIME. en_US reads ``12/13/2026``. ``2026-12-13`` is read in every locale and keeps its shape.
    """
    loc = locale_of(locale)
    t = text.strip()
    mo = _DT.fullmatch(t)
    iso = _ISO.fullmatch(t) if mo is None else None
    try:
        if mo or iso:
            if mo:
                d, m, y, hh, mi, ss = mo.groups()
                if not loc.day_first:
                    d, m = m, d
                if y is None:
                    y = str((today or date.today()).year)
                year = int(y)
                if len(y) == 2:
                    year += 2000 if year < 30 else 1900
                day, month = int(d), int(m)
            else:
                assert iso is not None
                ys, ms, ds, hh, mi, ss = iso.groups()
                year, month, day = int(ys), int(ms), int(ds)
            dt = datetime(year, month, day, int(hh or 0), int(mi or 0), int(ss or 0))
            if iso:
                return to_serial(dt), ISO_DATETIME_FORMAT if hh is not None else ISO_DATE_FORMAT
            return to_serial(dt), loc.date_format(hh is not None)
        mo2 = _TIME.fullmatch(t)
        if mo2:
            hh, mi, ss = mo2.groups()
            if int(hh) > 23 or int(mi) > 59 or int(ss or 0) > 59:
                return None
            return (int(hh) * 3600 + int(mi) * 60 + int(ss or 0)) / 86400, TYPED_TIME_FORMAT
    except ValueError:
        return None
    return None


def user_entered(
    value: Any, today: date | None = None, locale: str | None = None
) -> tuple[Any, dict[str, str] | None]:
    """What a person typing ``value`` stores: (stored value, auto number format or None).

    Strings starting ``=`` stay formulas (stored as their text, shown computed); a leading ``'``
    forces text; numbers, dates and times in the locale's notation and TRUE/FALSE
    (VERDADEIRO/FALSO) are parsed. A plain number (``1``, ``1.5`` in en_US) stays a number.
    """
    loc = locale_of(locale)
    if not isinstance(value, str):
        return value, None
    if value.startswith("'"):
        return value[1:], None
    if value.startswith("=") and len(value) > 1:
        return value, None
    if value.strip().upper() in ("TRUE", "VERDADEIRO"):
        return True, None
    if value.strip().upper() in ("FALSE", "FALSO"):
        return False, None
    num = parse_number(value, loc.name)
    if num is not None:
        if loc.group in value.strip().lstrip("+-")[:4] and re.search(rf"\d{re.escape(loc.group)}\d{{3}}", value):
            return num, GROUPED_NUMBER_FORMAT  # typed with thousands marks: shown with them
        return num, None
    mo = re.fullmatch(rf"\s*([-+]?\d+(?:{re.escape(loc.decimal)}\d+)?)\s*%\s*", value)
    if mo:
        return float(mo.group(1).replace(loc.decimal, ".")) / 100, {"type": "PERCENT", "pattern": "0.00%"}
    dt = parse_datetime_text(value, today, loc.name)
    if dt is not None:
        return dt
    return value, None


def is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=") and len(value) > 1


def general_number(x: float | int, locale: str | None = None) -> str:
    """General format: pt_BR ``1.5`` → ``1,5``, en_US ``1.5``; ``45741`` → ``45741``; ``1e20`` → ``1E+20``."""
    loc = locale_of(locale)
    if isinstance(x, bool):
        return loc.true if x else loc.false
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    if math.isnan(x) or math.isinf(x):
        return "#NUM!"
    text = f"{x:.10g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant.replace('.', loc.decimal)}E{int(exp):+03d}"
    return text.replace(".", loc.decimal)


_TOKENS = re.compile(r"yyyy|yy|dddd|ddd|dd|d|mmmm|mmm|mm|m|hh|h|ss|s|am/pm|a/p|\.0+|\"[^\"]*\"|\\.|.", re.I)

def format_date_pattern(x: float, pattern: str, locale: str | None = None) -> str:
    """Render a serial with a Sheets date pattern (``m``/``mm`` after ``h`` or before ``s`` = minutes)."""
    loc = locale_of(locale)
    dt = from_serial(x)
    toks = _TOKENS.findall(pattern)
    out: list[str] = []
    lowered = [t.lower() for t in toks]
    for i, tok in enumerate(toks):
        low = lowered[i]
        if low in ("m", "mm"):
            prev = next((p for p in reversed(lowered[:i]) if p[0] in "hdsy"), "")
            nxt = next((p for p in lowered[i + 1 :] if p[0] in "hdsy"), "")
            minute = prev.startswith("h") or nxt.startswith("s")
            v = dt.minute if minute else dt.month
            out.append(f"{v:02d}" if low == "mm" else str(v))
        elif low == "yyyy":
            out.append(f"{dt.year:04d}")
        elif low == "yy":
            out.append(f"{dt.year % 100:02d}")
        elif low == "dd":
            out.append(f"{dt.day:02d}")
        elif low == "d":
            out.append(str(dt.day))
        elif low == "ddd":
            out.append(loc.days[dt.weekday()][:3])
        elif low == "dddd":
            out.append(loc.days[dt.weekday()])
        elif low == "mmm":
            out.append(loc.months[dt.month - 1][:3])
        elif low == "mmmm":
            out.append(loc.months[dt.month - 1])
        elif low == "hh":
            out.append(f"{dt.hour:02d}")
        elif low == "h":
            out.append(str(dt.hour))
        elif low == "ss":
            out.append(f"{dt.second:02d}")
        elif low == "s":
            out.append(str(dt.second))
        elif low in ("am/pm", "a/p"):
            out.append("PM" if dt.hour >= 12 else "AM")
        elif tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        else:
            out.append(tok)
    return "".join(out)


def format_number_pattern(x: float, pattern: str, locale: str | None = None) -> str:
    """A small subset of number patterns: ``0``, ``0.00``, ``#,##0.00``, ``0.00%`` (the locale's marks)."""
    loc = locale_of(locale)
    percent = pattern.endswith("%")
    core = pattern.rstrip("%")
    if percent:
        x = x * 100
    decimals = len(core.split(".", 1)[1]) if "." in core else 0
    grouping = "," in core.split(".", 1)[0]
    text = f"{x:,.{decimals}f}" if grouping else f"{x:.{decimals}f}"
    text = text.replace(",", "\0").replace(".", loc.decimal).replace("\0", loc.group)
    return text + ("%" if percent else "")


def render_formatted(value: Any, number_format: dict[str, Any] | None, locale: str | None = None) -> str:
    """FORMATTED_VALUE of a stored (already computed) value in a spreadsheet of ``locale``."""
    loc = locale_of(locale)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return loc.true if value else loc.false
    if isinstance(value, (int, float)):
        if number_format:
            ftype = number_format.get("type")
            pattern = number_format.get("pattern") or ""
            if ftype in DATE_TYPES:
                default = {"DATE": loc.date_pattern, "TIME": "HH:mm:ss", "DATE_TIME": loc.datetime_pattern}[ftype]
                return format_date_pattern(float(value), pattern or default, loc.name)
            if ftype in ("NUMBER", "PERCENT", "CURRENCY") and pattern:
                return format_number_pattern(float(value), pattern, loc.name)
            if ftype == "PERCENT":
                return format_number_pattern(float(value), "0.00%", loc.name)
        return general_number(value, loc.name)
    return str(value)
