"""Fixtures for the sandbox conformance suite: real clients against the shared sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clients import make_google_service, make_gspread_client
from worker.sandbox import schema

WS = "Respostas ao formulário 1"
SID = "sandbox-sheet"


@pytest.fixture
def gc(sandbox: Any) -> Any:
    return make_gspread_client(sandbox.url)


@pytest.fixture
def ws(gc: Any) -> Any:
    return gc.open_by_key(SID).worksheet(WS)


@pytest.fixture
def cal(sandbox: Any) -> Any:
    return make_google_service("calendar", "v3", sandbox.url)


@pytest.fixture
def gmail(sandbox: Any) -> Any:
    return make_google_service("gmail", "v1", sandbox.url)


@pytest.fixture
def sheets_api(sandbox: Any) -> Any:
    return make_google_service("sheets", "v4", sandbox.url)


def error_body(exc: Any) -> dict[str, Any]:
    """The JSON error body of a googleapiclient HttpError or a gspread APIError."""
    content = getattr(exc, "content", None)
    if content is None:
        content = exc.response.content
    return json.loads(content)["error"]


def check_response(method_id: str, body: Any) -> Any:
    """Validate a response body against the method's response schema in the discovery doc."""
    method = schema.method_by_id(method_id)
    assert method.response_ref, method_id
    schema.validate(method.api, method.response_ref, body, enums=True)
    return body
