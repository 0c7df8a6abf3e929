"""The request context handed to each emulated Google method, and the reply type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.sandbox.state import State


@dataclass
class Ctx:
    state: State
    method_id: str
    params: dict[str, str]  # decoded path parameters
    query: dict[str, list[str]]
    body: Any = None
    identity: str = "anonymous"
    email: str | None = None  # the user the token speaks for, when known
    scopes: set[str] | None = None  # None = every scope

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def q_bool(self, name: str, default: bool = False) -> bool:
        v = self.q(name)
        return default if v is None else v.lower() == "true"

    def q_int(self, name: str, default: int) -> int:
        v = self.q(name)
        return default if v is None else int(v)

    def q_list(self, name: str) -> list[str]:
        return list(self.query.get(name, []))


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able; None = empty body
    headers: dict[str, str] = field(default_factory=dict)
