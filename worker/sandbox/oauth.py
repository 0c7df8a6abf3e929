"""OAuth 2.0 token and authorization endpoints (service-account JWT, refresh token, auth code).

Tokens issued here carry exactly the requested scopes; the API layer checks them against each
method's discovery scopes. The JWT assertion's signature is not verified (the payload is only
base64-decoded): the sandbox tests scope handling, not cryptography.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlencode

from worker.sandbox.errors import OAuthError
from worker.sandbox.state import DEFAULT_USER_EMAIL, State

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EXPIRES_IN = 3599


def _jwt_claims(assertion: str) -> dict[str, Any]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, json.JSONDecodeError):
        raise OAuthError("invalid_grant", "Invalid JWT Signature.") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "Invalid JWT Signature.")
    return claims


def _issue(state: State, scopes: list[str] | None, identity: str, email: str | None) -> str:
    token = "ya29.sandbox-" + secrets.token_urlsafe(24)
    state.tokens[token] = {"scopes": None if scopes is None else set(scopes), "identity": identity, "email": email}
    return token


def token(state: State, form: dict[str, str]) -> dict[str, Any]:
    grant = form.get("grant_type")
    if grant == JWT_BEARER:
        claims = _jwt_claims(form.get("assertion") or "")
        scope = claims.get("scope") or ""
        if not scope.strip():
            raise OAuthError("invalid_scope", "Empty or missing scope not allowed.")
        scopes = scope.split()
        email = claims.get("sub") or claims.get("iss")
        access = _issue(state, scopes, identity=str(email), email=email)
        return {"access_token": access, "expires_in": EXPIRES_IN, "token_type": "Bearer"}
    if grant == "refresh_token":
        rt = form.get("refresh_token")
        if not rt:
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        known = state.refresh_tokens.get(rt)
        asked = (form.get("scope") or "").split()
        if known is None:  # a refresh token we never issued: every scope
            access = _issue(state, None, identity="refresh:" + hashlib.sha1(rt.encode()).hexdigest()[:10], email=None)
            out: dict[str, Any] = {"access_token": access, "expires_in": EXPIRES_IN, "token_type": "Bearer"}
            if asked:
                out["scope"] = " ".join(asked)
            return out
        if known.get("revoked"):
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        granted = list(known["scopes"])
        if asked and not set(asked) <= set(granted):
            raise OAuthError("invalid_scope", "Some requested scopes were invalid. {{invalid=[{}]}}".format(", ".join(sorted(set(asked) - set(granted)))))
        scopes = asked or granted
        access = _issue(state, scopes, identity=known["email"], email=known["email"])
        return {"access_token": access, "expires_in": EXPIRES_IN, "scope": " ".join(scopes), "token_type": "Bearer"}
    if grant == "authorization_code":
        code = form.get("code") or ""
        entry = state.codes.pop(code, None)
        if entry is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if entry.get("redirect_uri") and form.get("redirect_uri") != entry["redirect_uri"]:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        challenge = entry.get("code_challenge")
        if challenge:
            verifier = form.get("code_verifier") or ""
            if entry.get("code_challenge_method", "plain") == "S256":
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            else:
                computed = verifier
            if computed != challenge:
                raise OAuthError("invalid_grant", "Invalid code verifier.")
        scopes = entry["scopes"]
        access = _issue(state, scopes, identity=entry["email"], email=entry["email"])
        refresh = "1//sandbox-" + secrets.token_urlsafe(24)
        state.refresh_tokens[refresh] = {"scopes": scopes, "email": entry["email"], "client_id": form.get("client_id")}
        return {"access_token": access, "expires_in": EXPIRES_IN, "refresh_token": refresh,
                "scope": " ".join(scopes), "token_type": "Bearer"}
    if not grant:
        raise OAuthError("unsupported_grant_type", "Invalid grant_type: ")
    raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")


def authorize(state: State, args: dict[str, str]) -> str:
    """Consent is given at once: returns the redirect Location with ``code`` and ``state``."""
    redirect = args.get("redirect_uri")
    if not redirect:
        raise OAuthError("invalid_request", "Missing required parameter: redirect_uri")
    if args.get("response_type", "code") != "code":
        raise OAuthError("unsupported_response_type", f"Unsupported response type: {args.get('response_type')}")
    scopes = (args.get("scope") or "").split()
    if not scopes:
        raise OAuthError("invalid_request", "Missing required parameter: scope")
    code = "4/sandbox-" + secrets.token_urlsafe(24)
    state.codes[code] = {
        "scopes": scopes,
        "redirect_uri": redirect,
        "client_id": args.get("client_id"),
        "email": args.get("login_hint") or DEFAULT_USER_EMAIL,
        "code_challenge": args.get("code_challenge"),
        "code_challenge_method": args.get("code_challenge_method", "plain"),
    }
    params = {"code": code, "scope": " ".join(scopes)}
    if args.get("state") is not None:
        params = {"state": args["state"], **params}
    return redirect + ("&" if "?" in redirect else "?") + urlencode(params)
