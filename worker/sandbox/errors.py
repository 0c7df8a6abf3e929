"""Google-shaped and OAuth-shaped error bodies; nothing else lives here."""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    410: "GONE",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULTS: dict[int, tuple[str, str]] = {
    # status → (reason, message) used when a fault gives none
    400: ("badRequest", "Bad Request"),
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "The caller does not have permission"),
    404: ("notFound", "Requested entity was not found."),
    409: ("conflict", "Conflict"),
    410: ("deleted", "Resource has been deleted"),
    429: ("rateLimitExceeded", "Resource has been exhausted (e.g. check quota)."),
    500: ("backendError", "Internal error encountered."),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "The request timed out."),
}


class ApiError(Exception):
    """An error answered in Google's JSON shape."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        reason: str | None = None,
        *,
        domain: str = "global",
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        d_reason, d_message = DEFAULTS.get(code, ("backendError" if code >= 500 else "badRequest", "Error"))
        self.code = code
        self.message = message if message is not None else d_message
        self.reason = reason or d_reason
        self.domain = domain
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        item.update(self.extra)
        err: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "errors": [item],
            "status": self.status,
        }
        if self.details:
            err["details"] = self.details
        return {"error": err}


class OAuthError(Exception):
    """A token-endpoint error: ``{"error": "invalid_grant", "error_description": ...}``."""

    def __init__(self, error: str, description: str, code: int = 400) -> None:
        self.error = error
        self.description = description
        self.code = code
        super().__init__(description)

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def bad_request(message: str, reason: str = "badRequest") -> ApiError:
    return ApiError(400, message, reason)


def invalid_payload(message: str) -> ApiError:
    field = message.split(" at '", 1)[1].split("'", 1)[0] if " at '" in message else ""
    return ApiError(
        400,
        message,
        "invalid",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        ],
    )
