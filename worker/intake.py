"""Header map, row parsing, validation, normalisation and fingerprints of form responses; pure: no I/O, no clock."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import json
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from worker.model import (
    AnswerTexts,
    Channel,
    ColumnTitles,
    ConfigError,
    FormAnswers,
    HeadersMissingError,
    OwnedTitles,
    ParsedRow,
    Period,
    RowProblem,
    mailbox_key,
)

__all__ = [
    "DATE_COLUMNS",
    "OWNED_COLUMNS",
    "PROBLEM_CODES",
    "AnswerTexts",
    "ColumnTitles",
    "HeaderMap",
    "build_header_map",
    "datetime_to_serial",
    "first_name",
    "normalise_text",
    "owned_collisions",
    "parse_row",
    "safe_cell",
    "serial_to_datetime",
]

# Columns balcao owns, appended to the right of the form's columns and found by title (DESIGN §3).
OWNED_COLUMNS: tuple[str, ...] = (
    "Protocolo",
    "Situação",
    "Prazo de resposta",
    "Atendimento",
    "Link ou canal",
    "Atualizado em",
    "Observação",
)
# Owned columns holding date serials, formatted once as dd/mm/aaaa hh:mm.
DATE_COLUMNS: tuple[str, ...] = ("Prazo de resposta", "Atendimento", "Atualizado em")

# RowProblem.code values parse_row can produce, in the order they are checked.
PROBLEM_CODES: tuple[str, ...] = ("timestamp", "email", "name", "channel", "phone", "consent")




# --------------------------------------------------------------------------- text normalisation

# Bidi embeddings/overrides/isolates and marks: they make "moc.elpmaxe@" display as a
# different address and hide text from staff (Trojan-Source style), so they never survive.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Invisible characters that only serve to make two equal-looking texts differ.
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u180e")
_ELLIPSIS = "…"


def _clean_char(ch: str) -> str:
    """One character as it may appear in stored text: ``""`` (dropped), ``" "`` or itself."""
    if ch in _BIDI or ch in _INVISIBLE:
        return ""
    cat = unicodedata.category(ch)
    if cat == "Cc":
        # Line breaks and tabs separate words; NUL, ESC and the like carry nothing.
        return " " if ch.isspace() else ""
    if cat == "Cs":
        # A lone surrogate cannot be encoded as UTF-8 and would break the mail build later.
        return ""
    return ch


def normalise_text(s: str, max_len: int | None = 500) -> str:
    """Form text as balcao stores and shows it: NFC, cleaned, one line, bounded.

    - control characters go: tabs and line breaks become spaces (a multi-line subject is
      kept as one line), NUL/ESC/etc. vanish;
    - bidi overrides/isolates/marks (U+202A–202E, U+2066–2069, U+200E/F, U+061C) and
      zero-width spaces/BOM vanish;
    - whitespace runs collapse to one space, the ends are trimmed;
    - longer than ``max_len`` → cut to ``max_len`` characters, the last one being ``"…"``
      (``normalise_text("abcdef", 4) == "abc…"``); length is never a reason to reject.
      ``max_len=None`` means unbounded.
    """
    # Printable text (most answers) has nothing to clean: every character _clean_char drops or
    # replaces is a control, format, surrogate or separator one, which isprintable refuses.
    cleaned = s if s.isprintable() else "".join(_clean_char(ch) for ch in s)
    text = " ".join(unicodedata.normalize("NFC", cleaned).split())
    if max_len is None or len(text) <= max_len:
        return text
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    cut = max_len - 1
    # Do not leave a combining mark without its base or a dangling space before the "…".
    while cut > 0 and unicodedata.combining(text[cut]):
        cut -= 1
    return text[:cut].rstrip() + _ELLIPSIS


def _fold(s: str) -> str:
    """Comparison key for titles: accents dropped, casefolded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", normalise_text(s, None))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def _answer_tokens(s: str) -> tuple[str, ...]:
    """Comparison key for answers: like _fold, and punctuation is a word separator too."""
    folded = _fold(s)
    return tuple("".join(ch if ch.isalnum() else " " for ch in folded).split())


_E = TypeVar("_E")


def _match_answer(text: str, options: Mapping[_E, str]) -> _E | None:
    """The option whose text equals ``text`` (see AnswerTexts), else the single prefix match."""
    got = _answer_tokens(text)
    if not got:
        return None
    wanted = {key: _answer_tokens(value) for key, value in options.items()}
    for key, tokens in wanted.items():
        if tokens == got:
            return key
    prefixed = [
        key
        for key, tokens in wanted.items()
        if tokens and (tokens[: len(got)] == got or got[: len(tokens)] == tokens)
    ]
    return prefixed[0] if len(prefixed) == 1 else None


# OWASP's formula triggers, plus LF and the full-width forms (＝ ＋ － ＠).
_FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def safe_cell(text: str) -> str:
    """Form-derived text made inert for any spreadsheet: ``"=HYPERLINK(…)"`` → ``"'=HYPERLINK(…)"``.

    balcao writes RAW, so Sheets itself never evaluates it; but staff export the sheet to CSV
    or Excel, where a cell starting with ``= + - @``, tab or CR (OWASP's list, plus LF and the
    full-width forms some Excel locales accept) becomes a formula. The OWASP remedy is a
    leading apostrophe: it is the spreadsheet convention staff already know for "this is
    text", it survives CSV export, and unlike a leading space (trimmed by importers) or a
    zero-width character (invisible, breaks search and copy) it cannot be lost or go unseen.
    Leading whitespace is looked through (``" =1"`` is prefixed too). Other text is unchanged.
    """
    if text[:1] in _FORMULA_TRIGGERS or text.lstrip()[:1] in _FORMULA_TRIGGERS:
        return "'" + text
    return text


_HONORIFICS = frozenset({"sr", "sra", "srta", "dr", "dra", "prof", "profa"})


def first_name(name: str) -> str:
    """The name to greet or to put in a calendar summary: ``"Dra. maria  da Silva"`` → ``"Maria"``.

    Honorifics (Sr., Sra., Dr., Dra., Prof., Profa., Srta.) are skipped when a name follows;
    an all-lower or all-upper name is capitalised; at most 40 characters; ``""`` → ``""``.
    """
    parts = normalise_text(name, None).split()
    while len(parts) > 1 and _fold(parts[0]).rstrip(".") in _HONORIFICS:
        parts = parts[1:]
    if not parts:
        return ""
    word = parts[0]
    if word.islower() or word.isupper():
        word = word.capitalize()
    return normalise_text(word, 40)


# --------------------------------------------------------------------------- serial numbers

_SERIAL_EPOCH = datetime(1899, 12, 30)
# date.min and date.max as serials; outside them datetime cannot represent the value.
_SERIAL_MIN = -693593.0
_SERIAL_MAX = 2958466.0


def serial_to_datetime(x: float, tz: str) -> datetime:
    """A Sheets date serial (days since 1899-12-30, wall clock of the spreadsheet) → aware datetime.

    ``serial_to_datetime(45741.60430555556, "America/Sao_Paulo")`` →
    ``2025-03-25 14:30:12-03:00``. Rounded to whole seconds (serials carry float noise).
    Raises ValueError for NaN, infinities and values outside years 1–9999.
    """
    if isinstance(x, bool) or not math.isfinite(x) or not _SERIAL_MIN <= x < _SERIAL_MAX:
        raise ValueError(f"not a date serial: {x!r}")
    seconds = round(x * 86400)
    return (_SERIAL_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=ZoneInfo(tz))


def datetime_to_serial(dt: datetime, tz: str) -> float:
    """An aware datetime → the Sheets serial of its wall-clock time in ``tz`` (inverse of the above).

    Naive datetimes are refused (ValueError): their zone would be a guess.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime_to_serial needs an aware datetime")
    wall = dt.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    delta = wall - _SERIAL_EPOCH
    return (delta.days * 86400 + delta.seconds + delta.microseconds / 1e6) / 86400


# --------------------------------------------------------------------------- header map

_REQUIRED_FIELDS = ("timestamp", "email", "name", "channel")


@dataclass(frozen=True)
class HeaderMap:
    """Where each mapped field and each owned column sits in this tick's header row.

    ``fields``: field name of ColumnTitles (``"email"``, ...) → 0-based column index, only for
    fields the configuration maps. ``owned``: owned title → 0-based index, only those present;
    ``missing_owned`` lists the others in OWNED_COLUMNS order (the service creates them).
    ``last_column``: 1-based count of header cells (empty ones included); owned columns
    that are missing are created to its right.
    """

    fields: Mapping[str, int]
    owned: Mapping[str, int]
    missing_owned: tuple[str, ...]
    last_column: int
    headers: tuple[str, ...]
    # Canonical name (default title) → the title in the sheet (``form.owned_columns``).
    owned_titles: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: OwnedTitles().by_canonical()
    )

    def title_of(self, canon: str) -> str:
        """The sheet title of an owned column known by its canonical name."""
        return self.owned_titles.get(canon, canon)

    def index(self, field_name: str) -> int | None:
        """0-based column of a form field, None when it is not mapped."""
        return self.fields.get(field_name)

    def owned_index(self, title: str) -> int | None:
        """0-based column of an owned column, None when it is absent."""
        return self.owned.get(title)


def _header_text(cell: object) -> str:
    return "" if cell is None else normalise_text(str(cell), None)


def _find_title(title: str, headers: Sequence[str], folded: Sequence[str]) -> int | None:
    """Exact (trimmed) title first, else the case/accent-insensitive one; first occurrence wins.

    Two columns with the same title happen when staff copy a column; taking the leftmost is
    stable and is the one a Google Form created (it appends new questions to the right).
    """
    wanted = normalise_text(title, None)
    for i, header in enumerate(headers):
        if header == wanted:
            return i
    key = _fold(title)
    for i, header in enumerate(folded):
        if header == key:
            return i
    return None


def build_header_map(
    header_row: Sequence[object],
    titles: ColumnTitles,
    owned: Sequence[str] = OWNED_COLUMNS,
    owned_titles: OwnedTitles | None = None,
) -> HeaderMap:
    """Map fields and owned columns by title, wherever staff moved them.

    Owned columns are keyed by their canonical name (``OWNED_COLUMNS``, the default titles)
    whatever ``owned_titles`` (``form.owned_columns``) calls them in the sheet.

    Raises HeadersMissingError (fail closed: never write into the wrong column) when a mapped
    field's title is absent; its message lists the missing titles and the headers found, e.g.
    ``missing form headers: 'Nome completo'; found: 'Carimbo de data/hora', 'Email', ...``.
    """
    for name in _REQUIRED_FIELDS:
        if not getattr(titles, name):
            raise ConfigError(f"form.columns.{name}: expected a header title, found nothing")
    headers = tuple(_header_text(cell) for cell in header_row)
    folded = tuple(_fold(h) for h in headers)
    found: dict[str, int] = {}
    missing: list[str] = []
    for f in fields(titles):
        title = getattr(titles, f.name)
        if title is None:
            continue
        idx = _find_title(title, headers, folded)
        if idx is None:
            missing.append(title)
        else:
            found[f.name] = idx
    if missing:
        shown = ", ".join(repr(normalise_text(h, 60)) for h in headers if h) or "(none)"
        raise HeadersMissingError(
            "missing form headers: " + ", ".join(repr(t) for t in missing) + f"; found: {shown}"
        )
    named = (owned_titles or OwnedTitles()).by_canonical()
    owned_found: dict[str, int] = {}
    owned_missing: list[str] = []
    for canon in owned:
        idx = _find_title(named.get(canon, canon), headers, folded)
        if idx is None:
            owned_missing.append(canon)
        else:
            owned_found[canon] = idx
    # Every cell counts, titled or not: an untitled column may still hold staff data, and
    # new owned columns go after last_column (the API already drops trailing empty cells).
    last = len(headers)
    return HeaderMap(
        fields=found,
        owned=owned_found,
        missing_owned=tuple(owned_missing),
        last_column=last,
        headers=headers,
        owned_titles=named,
    )


def owned_collisions(hmap: HeaderMap, *, first_run: bool) -> list[str]:
    """Form questions that carry the title of one of balcao's columns, as operator sentences
    (empty when there is none). balcao appends all its columns at once, to the right of the
    form's, so a title of its own is a form question when it appears twice, left of a form
    answer, or (``first_run``: no column map in the journal yet) while others are missing."""
    out: list[str] = []
    keys = {canon: _fold(title) for canon, title in hmap.owned_titles.items()}
    rightmost_field = max(hmap.fields.values(), default=-1)
    for canon, key in keys.items():
        title = hmap.owned_titles[canon]
        cols = [i for i, h in enumerate(hmap.headers) if _fold(h) == key]
        if len(cols) > 1:
            out.append(f"{title!r} is the title of {len(cols)} columns")
        elif cols and cols[0] < rightmost_field:
            out.append(f"{title!r} is a column among the form's questions")
        elif cols and first_run and hmap.missing_owned:
            out.append(f"{title!r} is already in the sheet before balcao created its columns")
    return out


# --------------------------------------------------------------------------- row parsing


def _cell_text(value: object) -> str:
    """A cell read with UNFORMATTED_VALUE as text: a phone typed as a number stays its digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


# email_validator's English reasons → short pt-BR phrases staff can read to the citizen.
# Checked in order; the first fragment found in the library's message wins.
_EMAIL_REASONS: tuple[tuple[str, str], ...] = (
    ("display name", "informe só o endereço, sem nome, aspas ou < >"),
    ("Internationalized characters before", "use apenas letras sem acento antes do @"),
    ("must have an @-sign", "falta o @"),
    ("something after the @-sign", "falta o domínio após o @"),
    ("something before the @-sign", "falta o nome antes do @"),
    ("should have a period", "o domínio após o @ está incompleto (ex.: gmail.com)"),
    ("special-use or reserved", "o domínio após o @ não recebe e-mails"),
    ("too long", "endereço longo demais"),
    ("period", "há um ponto fora de lugar"),
    ("character", "contém caracteres não permitidos"),
)
_EMAIL_FALLBACK = "formato não reconhecido"
# More than this is no address at all (RFC 5321 caps at 254); spare the validator the work.
_EMAIL_MAX_SCAN = 1000


def _check_email(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, pt-BR reason). The reason never quotes the input."""
    if not text:
        return None, "campo vazio"
    if len(text) > _EMAIL_MAX_SCAN:
        return None, "endereço longo demais"
    if any(sep in text for sep in ",;") or text.count("@") > 1:
        # A list in To would relay our mail to third parties.
        return None, "informe apenas um endereço"
    if any(ch in text for ch in '<>"'):
        return None, "informe só o endereço, sem nome, aspas ou < >"
    if any(ch.isspace() for ch in text):
        return None, "o endereço não pode conter espaços"
    # Imported on first use (as phonenumbers below): an idle tick parses no row, and these
    # two (with the asyncio that email-validator pulls in) cost megabytes of resident memory.
    from email_validator import EmailNotValidError, validate_email

    try:
        # No SMTPUTF8: the MIME build (stdlib email) and many relays refuse a non-ASCII
        # local part, so "joão@…" is flagged here, with a reason staff can pass on, rather
        # than failing at send time. A non-ASCII domain is fine: it is sent as IDNA.
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        message = str(exc)
        for fragment, reason in _EMAIL_REASONS:
            if fragment in message:
                return None, reason
        return None, _EMAIL_FALLBACK
    return result.ascii_email or result.normalized, None


def _phone_e164(text: str) -> str | None:
    """E.164 of a valid phone (Brazilian unless it starts with +), else None.

    ``"(71) 98823-0376"`` → ``"+5571988230376"``; ``"98823-0376"`` (no DDD) → None.
    """
    if not text or len(text) > 64:
        return None
    import phonenumbers

    accepted = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    try:
        number = phonenumbers.parse(text, "BR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in accepted:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_FINGERPRINT_VERSION = 1
_TEXT_FIELDS = ("email", "name", "phone", "channel", "service", "subject", "period", "consent")


def _fingerprint(texts: Mapping[str, str], secret: bytes) -> str:
    """HMAC-SHA256 over the canonical JSON of the mapped answers (timestamp excluded).

    Column positions and unmapped columns play no part, so sorting, inserting columns or a
    CPF column never change it; an edited answer does.
    """
    payload = {"v": _FINGERPRINT_VERSION, **texts}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(secret, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


_CHANNELS = {Channel.MEET: "meet", Channel.WHATSAPP: "whatsapp"}
_PERIODS = {Period.MORNING: "morning", Period.AFTERNOON: "afternoon", Period.ANY: "any"}
_K = TypeVar("_K", bound=enum.Enum)


def _options(answers: AnswerTexts, names: Mapping[_K, str]) -> dict[_K, str]:
    return {key: getattr(answers, attr) for key, attr in names.items()}


# CNJ Resolução 372/2021 created the Balcão Virtual: an earlier date is no form submission.
_TIMESTAMP_MIN_YEAR = 2021
# Forms stamps a response when it arrives; a time further ahead than this was typed or forged.
_TIMESTAMP_MAX_AHEAD = timedelta(minutes=5)


def _parse_timestamp(
    value: object, tz: str, now: datetime | None = None
) -> tuple[datetime | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if not _cell_text(value).strip():
            return None, "Carimbo de data/hora inválido: célula vazia"
        return None, (
            "Carimbo de data/hora inválido: a célula não contém uma data do formulário "
            "(linha digitada à mão?)"
        )
    try:
        submitted = serial_to_datetime(float(value), tz)
    except ValueError:
        return None, "Carimbo de data/hora inválido: número fora do intervalo de datas"
    # A Forms timestamp is always recent; a tiny serial is a number someone typed.
    if submitted.year < _TIMESTAMP_MIN_YEAR:
        return None, "Carimbo de data/hora inválido: data anterior a 2021 (linha digitada à mão?)"
    if now is not None and submitted > now + _TIMESTAMP_MAX_AHEAD:
        # Not kept: the protocol's year and the deadline must never come from such a date.
        return None, "Carimbo de data/hora inválido: data no futuro (linha digitada à mão?)"
    return submitted, None


NOTE_LANDLINE = "Telefone fixo: confirme se tem WhatsApp"


def _is_landline(e164: str) -> bool:
    """True when phonenumbers knows the number as a fixed line (not a mobile)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, "BR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def _consents(text: str, expected: str) -> bool:
    """The configured answer exactly, after trimming and case/accent folding: a longer answer
    that merely starts with it ("Sim, concordo NÃO") is no consent."""
    return bool(_fold(expected)) and _fold(text) == _fold(expected)


@dataclass(frozen=True)
class _Checked:
    problems: list[RowProblem]
    submitted: datetime | None
    email: str | None
    channel: Channel | None
    e164: str | None
    consent: bool | None
    note: str


def _validate(
    full: Mapping[str, str], email_text: str, ts_value: object, texts_of: AnswerTexts,
    sheet_tz: str, now: datetime | None,
) -> _Checked:
    """Every check of one row, in PROBLEM_CODES order."""
    problems: list[RowProblem] = []
    submitted, ts_reason = _parse_timestamp(ts_value, sheet_tz, now)
    if ts_reason:
        problems.append(RowProblem("timestamp", ts_reason))
    email, email_reason = _check_email(email_text)
    if email_reason:
        problems.append(RowProblem("email", f"E-mail inválido: {email_reason}"))
    if not normalise_text(full.get("name", ""), None):
        problems.append(RowProblem("name", "Falta o nome"))
    channel_text = full["channel"]
    channel = _match_answer(channel_text, _options(texts_of, _CHANNELS))
    if channel is None:
        state = "não reconhecida" if channel_text else "não informada"
        problems.append(RowProblem("channel", f"Forma de atendimento {state}"))
    e164 = _phone_e164(full.get("phone", ""))
    note = ""
    if channel is Channel.WHATSAPP and e164 is None:
        problems.append(
            RowProblem("phone", "Telefone inválido para WhatsApp: informe DDD e número")
        )
    elif channel is Channel.WHATSAPP and e164 is not None and _is_landline(e164):
        note = NOTE_LANDLINE  # some landlines do have WhatsApp: staff check, not refuse
    consent: bool | None = None
    if "consent" in full:
        consent = _consents(full["consent"], texts_of.consent_yes)
        if not consent:
            problems.append(RowProblem("consent", "Falta o aceite da política de privacidade"))
    return _Checked(problems, submitted, email, channel, e164, consent, note)


def _full_texts(cell: Callable[[int | None], object], hmap: HeaderMap) -> dict[str, str]:
    """Full (unbounded) normalised texts of the mapped answers: they feed the fingerprint, so
    an edit past the display bound is still an edit; the bounded ones are stored and shown."""
    full: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        idx = hmap.index(name)
        if idx is not None:
            full[name] = normalise_text(_cell_text(cell(idx)), None)
    return full


def parse_row(
    row_number: int,
    cells: Sequence[object],
    hmap: HeaderMap,
    *,
    answers: AnswerTexts | None = None,
    sheet_tz: str,
    secret: bytes,
    max_len: int = 500,
    now: datetime | None = None,
) -> ParsedRow | None:
    """One sheet row (values as read with UNFORMATTED_VALUE) → ParsedRow, or None when empty.

    Only the columns in ``hmap`` are looked at: an unmapped column (a CPF, say) never reaches
    the result or the fingerprint. "Empty" means every mapped and owned cell is empty after
    normalisation (a row holding only a stray space or U+200B is empty).

    Problems (``code``: pt-BR ``reason`` for `Observação`; the reason never quotes the citizen):
    - ``timestamp``: "Carimbo de data/hora inválido: …" when the cell is text/empty/absurd,
      before 2021, or more than 5 minutes ahead of ``now`` (such a date is not kept);
    - ``email``: "E-mail inválido: falta o @" etc.; exactly one address, syntax only (no DNS);
    - ``name``: "Falta o nome";
    - ``channel``: "Forma de atendimento não informada" / "… não reconhecida";
    - ``phone`` (WhatsApp only): "Telefone inválido para WhatsApp: informe DDD e número";
      a landline is accepted with ``note`` "Telefone fixo: confirme se tem WhatsApp";
    - ``consent`` (when mapped): "Falta o aceite da política de privacidade" unless the answer
      is the configured text exactly (trimmed, case and accents ignored).
    An unrecognised period is Period.ANY, not a problem. ``answers`` is None whenever there is
    a problem. ``raw_email`` is the casefolded normalised e-mail text, valid or not.
    """
    texts_of = answers or AnswerTexts()

    def cell(idx: int | None) -> object:
        return cells[idx] if idx is not None and 0 <= idx < len(cells) else None

    mapped = [*hmap.fields.values(), *hmap.owned.values()]
    if all(not normalise_text(_cell_text(cell(i)), None) for i in mapped):
        return None
    full = _full_texts(cell, hmap)
    # The address is validated as typed (casefolding could alter a local part: "ß" → "ss");
    # the casefolded form is the identity used for limits and the fingerprint.
    email_text = full["email"]
    full["email"] = email_text.casefold()
    checked = _validate(
        full, email_text, cell(hmap.index("timestamp")), texts_of, sheet_tz, now
    )

    def bounded(name: str, limit: int = max_len) -> str:
        return normalise_text(full.get(name, ""), limit)

    form: FormAnswers | None = None
    if not checked.problems and checked.email is not None and checked.channel is not None:
        period = Period.ANY
        if "period" in full:
            period = _match_answer(full["period"], _options(texts_of, _PERIODS)) or Period.ANY
        form = FormAnswers(
            email=checked.email,
            name=bounded("name"),
            phone=checked.e164 or bounded("phone", min(max_len, 64)),
            channel=checked.channel,
            service=bounded("service"),
            subject=bounded("subject"),
            period=period,
            consent=checked.consent,
        )
    protocol_idx = hmap.owned_index("Protocolo")
    # One inbox is one person for the duplicate check too: aliases of an address give the
    # same fingerprint (a plain address is its own mailbox key, so its fingerprint is as it was).
    return ParsedRow(
        row=row_number,
        submitted=checked.submitted,
        answers=form,
        problems=tuple(checked.problems),
        fingerprint=_fingerprint({**full, "email": mailbox_key(full["email"])}, secret),
        protocol=normalise_text(_cell_text(cell(protocol_idx)), 64) or None,
        raw_email=normalise_text(full["email"], 320),
        note=checked.note if form is not None else "",
    )
