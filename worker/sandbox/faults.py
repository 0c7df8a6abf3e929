"""Injected faults (DESIGN §3): validation, matching, and the error each one answers with.

A fault: ``{"method": REGEX?, "path_regex": REGEX, "status": N, "times": N, "after_effect": bool,
"reason": STR?, "message": STR?, "headers": {..}?, "drop": bool?, "delay_s": N?}``. The method
regex must match the HTTP method fully, ``path_regex`` is searched in the decoded path.
Faults stack: the first one still armed that matches is used (and its ``times`` decremented).
"""

from __future__ import annotations

import re
from typing import Any

from worker.sandbox.errors import ApiError, OAuthError

FIELDS = {"method", "path_regex", "status", "times", "after_effect", "reason", "message",
          "headers", "drop", "delay_s"}


class FaultSpecError(ValueError):
    pass


def normalise(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault is a JSON object")
    unknown = sorted(set(spec) - FIELDS)
    if unknown:
        raise FaultSpecError(f"faults: unknown field {unknown[0]!r} (fields: {', '.join(sorted(FIELDS))})")
    if "path_regex" not in spec:
        raise FaultSpecError("faults: missing field 'path_regex'")
    if spec.get("status") is None and not spec.get("drop") and spec.get("delay_s") is None:
        raise FaultSpecError("faults: a fault needs field 'status', 'drop' or 'delay_s'")

    def number(key: str, default: Any, kind: type) -> Any:
        value = spec.get(key, default)
        if value is None:
            return None
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise FaultSpecError(f"faults: field {key!r} must be a number, not {value!r}") from None

    if not isinstance(spec.get("headers") or {}, dict):
        raise FaultSpecError("faults: field 'headers' must be an object")
    f = {
        "method": spec.get("method"),
        "path_regex": spec["path_regex"],
        "status": number("status", None, int),
        "times": number("times", 1, int),
        "after_effect": bool(spec.get("after_effect", False)),
        "reason": spec.get("reason"),
        "message": spec.get("message"),
        "headers": dict(spec.get("headers") or {}),
        "drop": bool(spec.get("drop", False)),
        "delay_s": number("delay_s", 0, float) or 0.0,
    }
    try:
        if f["method"]:
            re.compile(f["method"])
        re.compile(f["path_regex"])
    except re.error as exc:
        raise FaultSpecError(f"faults: field 'method' or 'path_regex' is not a regular expression: {exc}") from None
    return f


def take(faults: list[dict[str, Any]], http_method: str, path: str) -> dict[str, Any] | None:
    """Find and consume the first matching armed fault (caller holds the state lock)."""
    for f in faults:
        if f["times"] <= 0:
            continue
        if f["method"] and not re.fullmatch(f["method"], http_method, flags=re.I):
            continue
        if not re.search(f["path_regex"], path):
            continue
        f["times"] -= 1
        return dict(f)
    return None


def is_error(f: dict[str, Any]) -> bool:
    return f["status"] is not None or f["drop"]


def error_for(f: dict[str, Any], api: str) -> ApiError | OAuthError:
    status = int(f["status"])
    if api == "oauth":
        return OAuthError(f["reason"] or ("invalid_grant" if status < 500 else "server_error"),
                          f["message"] or ("Bad Request" if status < 500 else "Internal error"), code=status)
    extra_details = None
    if status == 403 and (f["reason"] or "") == "insufficientPermissions":
        extra_details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                          "domain": "googleapis.com"}]
    err = ApiError(status, f["message"], f["reason"], details=extra_details, headers=f["headers"])
    if status == 403 and f["reason"] in ("rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded"):
        err.domain = "usageLimits"
    return err
