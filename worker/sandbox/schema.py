"""Discovery documents shipped in googleapiclient: method table, scopes and JSON validation.

Only the JSON files are read (as package data); googleapiclient itself is never imported, so
the sandbox stays free of client-library code. Validation follows Google's JSON→proto parser:
an unknown field or a value of the wrong JSON type is a 400, ``null`` is accepted anywhere.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APIS = {"sheets": "sheets.v4", "calendar": "calendar.v3", "gmail": "gmail.v1"}

# Standard query parameters of every Google API (besides the per-method ones).
STANDARD_PARAMS = frozenset(
    {
        "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
        "prettyPrint", "quotaUser", "uploadType", "upload_protocol", "userIp",
    }
)


class SchemaError(ValueError):
    """A request body or query that Google's parser would refuse (message is Google's)."""


def _documents_dir() -> Path:
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("googleapiclient is not installed: its discovery documents are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "discovery_cache" / "documents"


@functools.cache
def document(api: str) -> dict[str, Any]:
    """The discovery document of ``api`` ("sheets", "calendar", "gmail")."""
    name = APIS[api]
    return json.loads((_documents_dir() / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Method:
    api: str
    id: str
    http_method: str
    path: str  # full path from the server root, e.g. "/calendar/v3/calendars/{calendarId}/events"
    regex: re.Pattern[str]
    param_names: list[str]
    parameters: dict[str, Any]
    scopes: list[str]
    request_ref: str | None
    response_ref: str | None
    literal_len: int = field(default=0)


def _walk_methods(api: str, resources: dict[str, Any], out: list[Method], prefix: str) -> None:
    for res in resources.values():
        for m in res.get("methods", {}).values():
            path = "/" + prefix + m["path"]
            names: list[str] = []

            def repl(match: re.Match[str], names: list[str] = names) -> str:
                plus, name = match.group(1), match.group(2)
                names.append(name)
                return "(.+?)" if plus else "([^/]+?)"

            pattern = re.sub(r"\{(\+?)([A-Za-z_]+)\}", repl, re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
            out.append(
                Method(
                    api=api,
                    id=m["id"],
                    http_method=m["httpMethod"],
                    path=path,
                    regex=re.compile("^" + pattern + "$"),
                    param_names=names,
                    parameters=m.get("parameters", {}),
                    scopes=m.get("scopes", []),
                    request_ref=(m.get("request") or {}).get("$ref"),
                    response_ref=(m.get("response") or {}).get("$ref"),
                    literal_len=len(re.sub(r"\{\+?[A-Za-z_]+\}", "", path)),
                )
            )
        _walk_methods(api, res.get("resources", {}), out, prefix)


@functools.cache
def methods() -> list[Method]:
    """Every method of the three APIs, most specific path first."""
    out: list[Method] = []
    for api in APIS:
        doc = document(api)
        _walk_methods(api, doc["resources"], out, doc["servicePath"])
    out.sort(key=lambda m: -m.literal_len)
    return out


@functools.cache
def method_by_id(method_id: str) -> Method:
    for m in methods():
        if m.id == method_id:
            return m
    raise KeyError(method_id)


def match(http_method: str, raw_path: str) -> tuple[Method | None, list[str]]:
    """Find the discovery method for a still-encoded path; ``(None, [])`` when none.

    Returns ``(method, encoded_groups)``; the caller unquotes each group.
    """
    path_only_matches = False
    for m in methods():
        mo = m.regex.match(raw_path)
        if mo is None:
            continue
        if m.http_method != http_method:
            path_only_matches = True
            continue
        return m, list(mo.groups())
    del path_only_matches
    return None, []


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(spec: dict[str, Any]) -> str:
    t = spec.get("type")
    fmt = spec.get("format", "")
    if "enum" in spec:
        return "TYPE_ENUM"
    if t == "string":
        return {"int64": "TYPE_INT64", "uint64": "TYPE_UINT64", "byte": "TYPE_BYTES"}.get(fmt, "TYPE_STRING")
    if t == "integer":
        return {"uint32": "TYPE_UINT32"}.get(fmt, "TYPE_INT32")
    if t == "number":
        return "TYPE_DOUBLE" if fmt != "float" else "TYPE_FLOAT"
    if t == "boolean":
        return "TYPE_BOOL"
    return "TYPE_MESSAGE"


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def validate(api: str, ref_or_spec: str | dict[str, Any], value: Any, path: str = "", *, enums: bool = True) -> None:
    """Raise SchemaError with Google's message when ``value`` does not fit the schema.

    ``path`` is the proto path Google prints (snake_case, ``data[0].values``).
    """
    schemas = document(api)["schemas"]
    spec: dict[str, Any] = {"$ref": ref_or_spec} if isinstance(ref_or_spec, str) else ref_or_spec
    _check(schemas, spec, value, path, enums)


def _check(schemas: dict[str, Any], spec: dict[str, Any], value: Any, path: str, enums: bool) -> None:
    if value is None:
        return
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    t = spec.get("type")
    if t == "any" or (t is None and "properties" not in spec):
        return
    if t == "array":
        if not isinstance(value, list):
            raise SchemaError(
                f"Invalid value at '{path}' ({_type_name(spec.get('items', {}))}), {_shown(value)}"
                if not isinstance(value, dict)
                else f"Invalid JSON payload received. Unknown name \"\" at '{path}': Proto field is not repeating, cannot start list."
            )
        for i, item in enumerate(value):
            _check(schemas, spec.get("items", {}), item, f"{path}[{i}]", enums)
        return
    if t == "object" or "properties" in spec:
        if not isinstance(value, dict):
            if isinstance(value, list):
                tail = path.rsplit(".", 1)[-1]
                parent = path.rsplit(".", 1)[0] if "." in path else ""
                at = f" at '{parent}'" if parent else ""
                raise SchemaError(
                    f"Invalid JSON payload received. Unknown name \"{tail}\"{at}: Proto field is not repeating, cannot start list."
                )
            raise SchemaError(f"Invalid value at '{path}' (TYPE_MESSAGE), {_shown(value)}")
        props = spec.get("properties")
        addl = spec.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                _check(schemas, props[key], item, _join(path, _snake(key)), enums)
            elif addl is not None:
                _check(schemas, addl, item, f"{path}[{_shown(key)}]", enums)
            elif props is None:
                continue
            else:
                at = f" at '{path}'" if path else ""
                raise SchemaError(f"Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field.")
        return
    # scalars
    ok = True
    if t == "string":
        fmt = spec.get("format")
        if fmt in ("int64", "uint64"):
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
            )
        else:
            ok = isinstance(value, str)
        if ok and enums and "enum" in spec and value not in spec["enum"]:
            ok = False
    elif t == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        ) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
    elif t == "number":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|NaN|-?Infinity", value) is not None
        )
    elif t == "boolean":
        ok = isinstance(value, bool)
    if not ok:
        raise SchemaError(f"Invalid value at '{path}' ({_type_name(spec)}), {_shown(value)}")


def check_query(method: Method, query: dict[str, list[str]], *, strict_unknown: bool) -> None:
    """Check the query string against the method's parameters (enums, booleans, unknown names)."""
    for name, values in query.items():
        spec = method.parameters.get(name)
        if spec is None or spec.get("location") != "query":
            if name in STANDARD_PARAMS or not strict_unknown:
                continue
            raise SchemaError(
                f"Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. "
                f"Field '{name}' could not be found in request message."
            )
        if len(values) > 1 and not spec.get("repeated"):
            raise SchemaError(
                f"Invalid JSON payload received. Unknown name \"{name}\": Proto field is not repeating, cannot start list."
            )
        for v in values:
            bad = False
            if "enum" in spec:
                bad = v not in spec["enum"]
            elif spec.get("type") == "boolean":
                bad = v.lower() not in ("true", "false")
            elif spec.get("type") == "integer":
                bad = re.fullmatch(r"-?\d+", v) is None
            if bad:
                raise SchemaError(f"Invalid value at '{_snake(name)}' ({_type_name(spec)}), \"{v}\"")


def token_has_scope(method: Method, granted: set[str] | None) -> bool:
    """``granted`` None means every scope."""
    if granted is None or not method.scopes:
        return True
    return any(s in granted for s in method.scopes)
