"""The WSGI app: routes Google paths (from the discovery documents, on the still-encoded URI)
and the ``/_sandbox/*`` control surface of DESIGN §3.

Per Google request: fault lookup → (delay) → auth (401/403 by scope) → quota → query and body
validation against discovery → handler → ``fields`` partial response → request log entry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from werkzeug.wrappers import Request, Response

from worker.sandbox import calendar, faults, gmail, oauth, schema, sheets
from worker.sandbox.context import Ctx, Reply
from worker.sandbox.errors import ApiError, OAuthError, invalid_payload
from worker.sandbox.state import State

log = logging.getLogger("worker.sandbox")

HANDLERS: dict[str, Any] = {**sheets.HANDLERS, **calendar.HANDLERS, **gmail.HANDLERS}
OAUTH_TOKEN_PATHS = ("/token", "/o/oauth2/token", "/oauth2/v4/token")
OAUTH_AUTH_PATHS = ("/o/oauth2/auth", "/o/oauth2/v2/auth")
UNAUTHENTICATED_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
SERVICES = {"sheets": "sheets.googleapis.com", "calendar": "calendar-json.googleapis.com", "gmail": "gmail.googleapis.com"}


def _api_of(path: str) -> str:
    if path.startswith("/v4/"):
        return "sheets"
    if path.startswith("/calendar/"):
        return "calendar"
    if path.startswith("/gmail/"):
        return "gmail"
    if path in OAUTH_TOKEN_PATHS or path in OAUTH_AUTH_PATHS:
        return "oauth"
    return "unknown"


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


# -- partial responses (the `fields` parameter) ----------------------------------------------
def _parse_fields(text: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    i = 0

    def parse_list(end: str | None) -> dict[str, Any]:
        nonlocal i
        out: dict[str, Any] = {}
        while i < len(text):
            start = i
            while i < len(text) and text[i] not in ",()":
                i += 1
            name = text[start:i].strip()
            sub: dict[str, Any] | None = None
            if i < len(text) and text[i] == "(":
                i += 1
                sub = parse_list(")")
            if name:
                node = out
                parts = [p for p in name.replace(".", "/").split("/") if p]
                for p in parts[:-1]:
                    node = node.setdefault(p, {}) or node.setdefault(p, {})
                last = parts[-1]
                if sub is None:
                    node[last] = {}
                else:
                    existing = node.get(last)
                    node[last] = {**(existing or {}), **sub}
            if i < len(text) and text[i] == ",":
                i += 1
                continue
            if i < len(text) and text[i] == ")":
                if end == ")":
                    i += 1
                    return out
                i += 1
        return out

    tree = parse_list(None)
    return tree


def apply_fields(body: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return body
    if isinstance(body, list):
        return [apply_fields(x, tree) for x in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, sub in tree.items():
        if key == "*":
            return body
        if key in body:
            out[key] = apply_fields(body[key], sub)
    return out


# -- the app ---------------------------------------------------------------------------------
class SandboxApp:
    def __init__(self, state: State) -> None:
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not raw_uri:
            raw_uri = quote(environ.get("PATH_INFO", "/"), safe="/:@!$&'()*+,;=%")
            if environ.get("QUERY_STRING"):
                raw_uri += "?" + environ["QUERY_STRING"]
        if "://" in raw_uri.split("?", 1)[0]:  # absolute-form request line
            raw_uri = "/" + raw_uri.split("://", 1)[1].split("/", 1)[-1]
        raw_path, _, raw_query = raw_uri.partition("?")
        request = Request(environ)
        if raw_path.startswith("/_sandbox"):
            response = self._control(request, unquote(raw_path))
        else:
            response = self._google(request, environ, raw_path, raw_query)
        return response(environ, start_response)

    # -- Google ------------------------------------------------------------------------------
    def _google(self, request: Request, environ: dict[str, Any], raw_path: str, raw_query: str) -> Response:
        state = self.state
        path = unquote(raw_path)
        query = parse_qs(raw_query, keep_blank_values=True)
        api = _api_of(path)
        method = None
        groups: list[str] = []
        if api != "oauth":
            method, groups = schema.match(request.method, raw_path)
        method_id = method.id if method else ("oauth.token" if path in OAUTH_TOKEN_PATHS else
                                             "oauth.authorize" if path in OAUTH_AUTH_PATHS else None)
        with state.lock:
            fault = faults.take(state.faults, request.method, path)
        if fault and fault["delay_s"]:
            time.sleep(fault["delay_s"])
        status_code = 0
        body_bytes = b""
        dropped = False
        try:
            if fault and faults.is_error(fault) and not fault["after_effect"]:
                response = None if fault["drop"] else self._error_response(faults.error_for(fault, api))
            else:
                response = self._dispatch(request, api, method, groups, query, path)
                if fault and faults.is_error(fault):
                    response = None if fault["drop"] else self._error_response(faults.error_for(fault, api))
            if response is None:
                dropped = True
                response = Response(b"", status=500)
            else:
                status_code = response.status_code
                body_bytes = response.get_data()
            return response
        finally:
            entry = {
                "api": api,
                "method": method_id,
                "path": path,
                "query": {k: (v[0] if len(v) == 1 else v) for k, v in query.items()},
                "status": status_code,
                "bytes": len(body_bytes),
            }
            with state.lock:
                state.requests.append(entry)
            if dropped:  # after logging, so a client's immediate retry is logged after this one
                self._drop(environ)

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _error_response(self, err: ApiError | OAuthError) -> Response:
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if isinstance(err, ApiError):
            headers.update(err.headers)
            if err.code == 401:
                headers.setdefault("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')
        return Response(_json_bytes(err.body()), status=err.code, headers=headers)

    def _dispatch(self, request: Request, api: str, method: schema.Method | None, groups: list[str],
                  query: dict[str, list[str]], path: str) -> Response:
        state = self.state
        if api == "oauth":
            try:
                with state.lock:
                    if path in OAUTH_AUTH_PATHS:
                        location = oauth.authorize(state, {k: v[-1] for k, v in query.items()})
                        return Response(b"", status=302, headers={"Location": location})
                    form = {k: v for k, v in request.form.items()}
                    body = oauth.token(state, form)
                return Response(_json_bytes(body), status=200, headers={"Content-Type": "application/json; charset=utf-8"})
            except OAuthError as exc:
                return self._error_response(exc)
        try:
            if method is None:
                raise ApiError(404, f"The requested URL {path} was not found on this server.", "notFound")
            handler = HANDLERS.get(method.id)
            ctx = self._authorise(request, method, query)
            with state.lock:
                self._quota(ctx, method)
                schema.check_query(method, query, strict_unknown=method.api != "calendar")
                ctx.params = {name: unquote(g) for name, g in zip(method.param_names, groups, strict=False)}
                if method.request_ref:
                    ctx.body = self._json_body(request, method)
                if handler is None:
                    raise ApiError(501, f"Method not emulated by the balcao sandbox: {method.id}", "notImplemented")
                reply: Reply = handler(ctx)
                fields = ctx.q("fields")
                body = reply.body
                if fields and body is not None and reply.status < 300:
                    body = apply_fields(body, _parse_fields(fields))
            if reply.status == 204 or body is None:
                return Response(b"", status=reply.status, headers=reply.headers)
            headers = {"Content-Type": "application/json; charset=UTF-8", **reply.headers}
            return Response(_json_bytes(body), status=reply.status, headers=headers)
        except schema.SchemaError as exc:
            return self._error_response(invalid_payload(str(exc)))
        except ApiError as exc:
            return self._error_response(exc)
        except Exception as exc:  # an emulation bug: answer as Google's 500 and say so in the log
            log.exception("sandbox handler failed")
            return self._error_response(ApiError(500, f"Internal error encountered. ({type(exc).__name__}: {exc})"))

    def _json_body(self, request: Request, method: schema.Method) -> Any:
        data = request.get_data()
        if not data.strip():
            return None
        try:
            body = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc.args[0] if exc.args else 'Unexpected token'}.",
                           "parseError") from None
        assert method.request_ref is not None
        schema.validate(method.api, method.request_ref, body)
        return body

    def _authorise(self, request: Request, method: schema.Method, query: dict[str, list[str]]) -> Ctx:
        state = self.state
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        if token is None and query.get("access_token"):
            token = query["access_token"][-1]
        if not token:
            raise ApiError(401, UNAUTHENTICATED_MESSAGE, "required",
                           extra={"location": "Authorization", "locationType": "header"})
        with state.lock:
            info = state.tokens.get(token)
        if info is None:
            import hashlib

            ctx = Ctx(state, method.id, {}, query, identity="bearer:" + hashlib.sha1(token.encode()).hexdigest()[:10])
        else:
            ctx = Ctx(state, method.id, {}, query, identity=info["identity"], email=info["email"], scopes=info["scopes"])
        if not schema.token_has_scope(method, ctx.scopes):
            short = method.id.split(".", 1)[1]
            raise ApiError(
                403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                details=[{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"method": short, "service": SERVICES[method.api]},
                }],
            )
        return ctx

    def _quota(self, ctx: Ctx, method: schema.Method) -> None:
        state = self.state
        if not state.config["quota"]:
            return
        limits = state.config["quota_limits"]
        now = state.monotonic()
        checks: list[tuple[tuple[str, ...], int, int, ApiError]] = []
        if method.api == "sheets":
            kind = "read" if method.id in sheets.READ_METHODS else "write"
            metric = "Read requests" if kind == "read" else "Write requests"
            for scope_, who in (("user", ctx.identity), ("project", "*")):
                limit = int(limits[f"sheets_{kind}_per_{scope_}"])
                limit_name = f"{metric} per minute per {scope_}" if scope_ == "user" else f"{metric} per minute"
                msg = (f"Quota exceeded for quota metric '{metric}' and limit '{limit_name}' of service "
                       f"'sheets.googleapis.com' for consumer 'project_number:000000000000'.")
                err = ApiError(429, msg, "rateLimitExceeded", details=[{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com",
                    "metadata": {"quota_metric": f"sheets.googleapis.com/{kind}_requests",
                                 "quota_limit": f"{kind.capitalize()}RequestsPerMinute{'PerUser' if scope_ == 'user' else ''}",
                                 "quota_limit_value": str(limit), "service": "sheets.googleapis.com",
                                 "consumer": "projects/000000000000"},
                }])
                checks.append((("sheets", kind, who), 1, limit, err))
        elif method.api == "calendar":
            err = ApiError(403, "Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")
            checks.append((("calendar", ctx.identity), 1, int(limits["calendar_per_user"]), err))
        elif method.api == "gmail":
            units = gmail.QUOTA_UNITS.get(method.id, 5)
            err = ApiError(429, "User-rate limit exceeded.  Retry after later", "rateLimitExceeded", domain="usageLimits")
            checks.append((("gmail", ctx.identity), units, int(limits["gmail_units_per_user"]), err))
        for bucket, units, limit, err in checks:
            window = state.quota_windows.setdefault(bucket, deque())
            while window and window[0][0] <= now - 60:
                window.popleft()
            if sum(u for _, u in window) + units > limit:
                raise err
        for bucket, units, _, _ in checks:
            state.quota_windows[bucket].append((now, units))

    # -- control surface ---------------------------------------------------------------------
    def _control(self, request: Request, path: str) -> Response:
        state = self.state

        def ok(body: Any, status: int = 200) -> Response:
            return Response(_json_bytes(body), status=status, headers={"Content-Type": "application/json; charset=utf-8"})

        def fail(message: str, status: int = 400) -> Response:
            return ok({"error": message}, status)

        try:
            spec: Any = {}
            if request.method in ("POST", "PUT"):
                data = request.get_data()
                spec = json.loads(data) if data.strip() else {}
                if not isinstance(spec, dict):
                    return fail("the body must be a JSON object")
            route = (request.method, path.rstrip("/"))
            with state.lock:
                if route == ("GET", "/_sandbox/state"):
                    return ok(self.dump())
                if route == ("POST", "/_sandbox/faults"):
                    f = faults.normalise(spec)
                    state.faults.append(f)
                    return ok({"fault": f, "armed": len(state.faults)})
                if route == ("GET", "/_sandbox/faults"):
                    return ok({"faults": state.faults})
                if route == ("DELETE", "/_sandbox/faults"):
                    n = len(state.faults)
                    state.faults.clear()
                    return ok({"cleared": n})
                if route == ("POST", "/_sandbox/config"):
                    try:
                        return ok(state.set_config(spec))
                    except KeyError as exc:
                        return fail(f"config: unknown field {exc.args[0]!r} (fields: {', '.join(state.config)})")
                    except (ValueError, TypeError) as exc:
                        return fail(f"config: {exc}")
                if route == ("GET", "/_sandbox/config"):
                    return ok(state.config)
                if route == ("POST", "/_sandbox/calendar/expire_sync_tokens"):
                    if spec:
                        return fail(f"unknown field(s) {sorted(spec)}: this path takes no body")
                    state.sync_epoch += 1
                    return ok({"expired": True})
                if route == ("POST", "/_sandbox/reset"):
                    if spec:
                        return fail(f"reset: unknown field {sorted(spec)[0]!r} (reset takes no fields)")
                    state.reset_all()
                    return ok({"reset": True})
                actions = {
                    "/_sandbox/form/submit": sheets.form_submit,
                    "/_sandbox/form/edit": sheets.form_edit,
                    "/_sandbox/sheet/sort": sheets.sort_sheet,
                    "/_sandbox/sheet/insert_column": sheets.insert_column,
                    "/_sandbox/sheet/delete_row": sheets.delete_row,
                    "/_sandbox/sheet/type": sheets.type_cell,
                }
                if request.method == "POST" and route[1] in actions:
                    return ok(actions[route[1]](state, spec))
            return fail(f"no control endpoint {request.method} {path}", 404)
        except (faults.FaultSpecError, sheets.ControlError) as exc:
            return fail(str(exc))
        except (KeyError, ValueError, TypeError) as exc:
            return fail(f"{type(exc).__name__}: {exc}")

    def dump(self) -> dict[str, Any]:
        state = self.state
        with state.lock:
            return {
                "spreadsheets": {
                    sid: {
                        "properties": {**sp.properties(), "spreadsheetId": sid},
                        "sheets": {sh.title: {"values": sh.trimmed_values(), "properties": sh.properties()}
                                   for sh in sp.sheets},
                    }
                    for sid, sp in state.spreadsheets.items()
                },
                "calendars": calendar.dump(state),
                "gmail": gmail.dump(state),
                "requests": list(state.requests),
                "config": dict(state.config),
            }
