"""Reading config.yaml and its BALCAO__ environment overrides, and the typed conversion every settings section goes through; no schema here.

The schema is the frozen dataclasses of worker.config and worker.officeconfig; ``build``
turns a raw mapping into one of them, and every error names its key path.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml

from worker.settingtypes import ConfigError

ENV_PREFIX = "BALCAO__"
# The top-level sections of config.yaml (worker.config.Settings' fields; a test keeps them
# equal): a loader of some sections still refuses a misspelt one.
SECTIONS = (
    "office", "calendar", "form", "google", "intake", "scheduling", "mail", "journal", "poll",
    "retry", "log", "metrics", "heartbeat", "lifecycle", "privacy", "reminders", "digest",
    "alerts",
)

# libyaml's safe loader when PyYAML was built with it: the same constructors as
# yaml.safe_load, ~10x faster on config.yaml (40 ms of every command's start-up otherwise).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(path: str | Path | None, environ: Mapping[str, str]) -> tuple[dict[str, Any], Path]:
    """The raw mapping of ``path`` (None = defaults only) with ``BALCAO__`` overrides applied,
    and the folder relative paths in it are resolved against (the config file's)."""
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
        try:
            loaded = yaml.load(text, Loader=_YAML_LOADER)
        except (yaml.YAMLError, ValueError) as exc:
            # PyYAML raises a bare ValueError for an impossible date such as 2027-13-01.
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level, found {_kind(loaded)}")
        raw = loaded
        base = p.resolve().parent
    return apply_env(raw, environ), base


def sections(raw: dict[str, Any], wanted: typing.Iterable[str]) -> dict[str, Any]:
    """The ``wanted`` sections of a raw config; an unknown top-level key is still an error."""
    for key in raw:
        if key not in SECTIONS:
            allowed = ", ".join(sorted(SECTIONS))
            raise ConfigError(f"{key}: unknown key (allowed here: {allowed})")
    return {k: raw[k] for k in wanted if k in raw}


def apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``BALCAO__SECTION__KEY=value`` (values parsed as YAML scalars, empty = null)."""
    out = _deepcopy(raw)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            raise ConfigError(f"environment variable {name}: malformed name (empty key part)")
        text = environ[name]
        try:
            value = None if text == "" else yaml.load(text, Loader=_YAML_LOADER)
        except (yaml.YAMLError, ValueError):
            raise ConfigError(f"environment variable {name}: not a YAML scalar: {text!r}") from None
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def _deepcopy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, dict) else v for k, v in d.items()}


def _kind(v: object) -> str:
    if v is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(v), type(v).__name__)


def _found(v: object) -> str:
    if isinstance(v, dict | list):
        return _kind(v)
    return f"{_kind(v)} {v!r}"


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:
            return _convert(non_null[0], value, path)
        raise AssertionError(f"unsupported union at {path}")
    if value is None:
        raise ConfigError(f"{path}: expected {_describe(tp)}, found null")
    if origin is Literal:
        if value not in args:
            choices = " | ".join(str(a) for a in args)
            raise ConfigError(f"{path}: expected one of {choices}, found {_found(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, found {_found(value)}")
        return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, found {_found(value)}")
        return build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, found {_found(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, found {_found(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, found {_found(value)}")
        return float(value)
    if tp is str:
        if isinstance(value, bool | dict | list) or value is None:
            raise ConfigError(f"{path}: expected a string, found {_found(value)}")
        # YAML turns 12345 into an int; an id or a phone written bare is still meant as text.
        return str(value)
    if tp is time:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 08:00 as the sexagesimal integer 480.
            return time(value // 60, value % 60)
        m = _TIME_RE.match(str(value)) if isinstance(value, str) else None
        if not m:
            raise ConfigError(f"{path}: expected a time HH:MM, found {_found(value)}")
        return time(int(m.group(1)), int(m.group(2)))
    if tp is date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(f"{path}: expected a date YYYY-MM-DD, found {_found(value)}")
    if tp is datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        raise ConfigError(
            f"{path}: expected a date-time like 2026-12-01T08:00:00-03:00, found {_found(value)}"
        )
    raise AssertionError(f"unsupported type {tp!r} at {path}")


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        time: "a time HH:MM",
        date: "a date YYYY-MM-DD",
        datetime: "a date-time",
    }.get(tp, str(tp))


def build(cls: Any, raw: dict[str, Any], path: str) -> Any:
    """``raw`` as the frozen dataclass ``cls`` (``path``: its key path, for errors)."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            allowed = ", ".join(sorted(names))
            raise ConfigError(f"{where}: unknown key (allowed here: {allowed})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            sub = f"{path}.{f.name}" if path else f.name
            kwargs[f.name] = _convert(hints[f.name], raw[f.name], sub)
    return cls(**kwargs)
