"""DESIGN §2's import table, enforced by walking the AST of worker/."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[1] / "worker"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# module → the project modules and third-party packages it may import (stdlib is always allowed).
DOMAIN: dict[str, set[str]] = {
    "worker.settingtypes": set(),
    "worker.model": {"worker.settingtypes"},
    "worker.textfmt": {"worker.model"},
    "worker.officetime": {"worker.settingtypes", "worker.brazil_holidays"},
    "worker.brazil_holidays": {"holidays"},
    "worker.intake": {"worker.model", "worker.textfmt", "email_validator", "phonenumbers"},
    "worker.slots": {"worker.model", "worker.officetime"},
    "worker.icsfile": {"worker.model", "icalendar"},
    "worker.mailparts": {"worker.model", "worker.textfmt"},
    "worker.messages": {
        "worker.model", "worker.textfmt", "worker.icsfile", "worker.mailparts", "jinja2",
    },
    "worker.identity": set(),
    "worker.packed": {"worker.identity"},
    "worker.plaintext": set(),
    "worker.lifecycle": {"worker.model", "worker.texts"},
    "worker.texts": set(),
    "worker.planners.claims": {"worker.model", "worker.identity", "worker.lifecycle", "worker.texts"},
    "worker.planners.booking": {
        "worker.model", "worker.intake", "worker.slots", "worker.texts", "worker.lifecycle",
        "worker.officetime", "worker.planners.actions",
    },
    "worker.planners.mail": {"worker.model", "worker.lifecycle"},
    "worker.planners.writeback": {
        "worker.model", "worker.intake", "worker.texts", "worker.lifecycle", "worker.ports",
    },
    "worker.planners.actions": {"worker.model"},
    "worker.planners.retention": {"worker.model", "worker.lifecycle"},
    "worker.planners.schedule": {"worker.lifecycle", "worker.officetime"},
    "worker.planners.reminders": {"worker.planners.schedule"},
    "worker.planners.alerts": {"worker.officetime"},
    "worker.planners.digest": {
        "worker.model", "worker.lifecycle", "worker.mailparts", "worker.planners.schedule",
    },
    "worker.planners.bounces": {"worker.model", "worker.planners.schedule"},
    "worker.ports": {"worker.model"},
    "worker.journal": {
        "worker.model", "worker.journal.queries", "worker.journal.schema", "worker.journal.privacy",
        "worker.journal.identity",
    },
    "worker.journal.identity": {"worker.model"},
    "worker.journal.queries": {"worker.model"},
    "worker.journal.schema": set(),
    "worker.journal.privacy": {"worker.model", "worker.journal"},
    "worker.journal.jobqueries": {"worker.model", "worker.journal"},
    "worker.retry": {"worker.model"},
    "worker.configfile": {"worker.settingtypes", "yaml"},
    "worker.officeconfig": {"worker.configfile", "worker.settingtypes"},
    "worker.config": {"worker.settingtypes", "worker.configfile", "worker.officeconfig"},
}
VENDOR = {"gspread", "googleapiclient", "google", "google_auth_oauthlib", "google_auth_httplib2",
          "smtplib", "httplib2", "requests"}
# Vendor libraries may appear only at the edges: the adapters.
VENDOR_ALLOWED_PREFIXES = ("worker.adapters.",)
CLOCK_CALLS = {("datetime", "now"), ("date", "today"), ("time", "time"), ("datetime", "utcnow")}
# The clock is read only through adapters.system.SystemClock (and by the sandbox, which stands
# in for Google's own clock).
CLOCK_ALLOWED = ("worker.adapters.", "worker.sandbox.")


def modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(WORKER.rglob("*.py")):
        rel = path.relative_to(WORKER.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return out


def imports(tree: ast.Module, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.rsplit(".", node.level)[0]
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                if node.module == "worker":
                    found.update(f"worker.{a.name}" for a in node.names)
                else:
                    found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


ALL = modules()


@pytest.mark.parametrize("module", sorted(DOMAIN))
def test_domain_module_imports_only_what_the_design_allows(module: str) -> None:
    allowed = DOMAIN[module]
    bad = []
    for name in imports(ALL[module], module):
        if top(name) in STDLIB and not name.startswith("worker"):
            continue
        if name in allowed or top(name) in allowed:
            continue
        bad.append(name)
    assert not bad, f"{module} imports {bad}; allowed: {sorted(allowed)}"


def test_only_adapters_import_google_or_smtp_libraries() -> None:
    offenders = []
    for module, tree in ALL.items():
        if module.startswith(VENDOR_ALLOWED_PREFIXES) or module.startswith("worker.sandbox"):
            continue
        for name in imports(tree, module):
            if top(name) in VENDOR:
                offenders.append((module, name))
    assert not offenders


def test_sandbox_imports_nothing_from_the_worker_but_itself() -> None:
    offenders = [
        (module, name)
        for module, tree in ALL.items()
        if module.startswith("worker.sandbox")
        for name in imports(tree, module)
        if name.startswith("worker") and not name.startswith("worker.sandbox")
    ]
    assert not offenders


def test_domain_never_reads_the_clock() -> None:
    offenders = []
    for module, tree in ALL.items():
        if module.startswith(CLOCK_ALLOWED):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in CLOCK_CALLS
            ):
                offenders.append((module, node.lineno))
    assert not offenders


def test_every_module_starts_with_a_one_line_docstring() -> None:
    missing = [m for m, tree in ALL.items() if not ast.get_docstring(tree)]
    assert not missing


def test_every_effect_boundary_has_a_named_crash_point() -> None:
    from worker import crashpoints

    used: set[str] = set()
    for tree in ALL.values():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "crash"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(str(node.args[0].value))
    assert used == set(crashpoints.POINTS) | set(crashpoints.ERASURE_POINTS)
    # Each external effect the executor performs is followed by a crash point in the same
    # function: inserts, sends and the sheet write.
    effects = {"create_event": "after_event_insert", "send": "after_send",
               "write": "after_sheet_write", "patch_event": "after_event_patch",
               "delete_event": "after_event_delete"}
    seen: set[str] = set()
    for module in ("worker.effects", "worker.placement", "worker.staffops"):
        for fn in ast.walk(ALL[module]):
            if not isinstance(fn, ast.FunctionDef):
                continue
            calls = {
                n.func.attr for n in ast.walk(fn)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Attribute)
                and n.func.value.attr in ("calendar", "mailer", "sheet")
            }
            points = {
                str(n.args[0].value) for n in ast.walk(fn)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == "crash" and n.args and isinstance(n.args[0], ast.Constant)
            }
            for effect, point in effects.items():
                if effect in calls:
                    seen.add(effect)
                    assert point in points, f"{fn.name} calls {effect} without crash point {point}"
    assert seen == set(effects), "every effect kind goes through the executor"


_SQL = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|"
                  r"ROLLBACK|VACUUM|WITH)\b", re.I)


def _sql_text(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_SQL.match(node.value))
    if isinstance(node, ast.JoinedStr) and node.values:
        return _sql_text(node.values[0])
    if isinstance(node, ast.BinOp):
        return _sql_text(node.left)
    return False


def _calls_sql(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(top(n) == "sqlite3" for n in names):
                lines.append(node.lineno)
        # A SQL call takes a statement as its first argument; Google's ``.execute()``
        # (googleapiclient requests) takes none, and check's probe names its operation.
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "executescript", "executemany")
            and node.args
            and _sql_text(node.args[0])
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_journal_runs_sql() -> None:
    offenders = {
        module: lines
        for module, tree in ALL.items()
        if not module.startswith("worker.journal") and module not in NOT_YET_ADAPTED
        and (lines := _calls_sql(tree))
    }
    assert not offenders


# Keys of Google request bodies and error shapes: only adapters (and the sandbox) spell them.
GOOGLE_SHAPES = {"conferenceData", "createRequest", "valueInputOption", "extendedProperties",
                 "sendUpdates", "conferenceDataVersion", "timeZone", "dateTime"}


def test_only_adapters_build_google_bodies() -> None:
    offenders = []
    for module, tree in ALL.items():
        if module.startswith(("worker.adapters.", "worker.sandbox")) or module in (
            NOT_YET_ADAPTED | SANDBOX_DRIVERS
        ):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in GOOGLE_SHAPES:
                offenders.append((module, node.lineno, node.value))
    assert not offenders


def _span(node: ast.AST) -> int:
    return int(getattr(node, "end_lineno", 0) or 0) - int(getattr(node, "lineno", 0) or 0) + 1


NOT_YET_ADAPTED: set[str] = set()
# The demo reads the sandbox's state (Google's event shape) to print its summary.
SANDBOX_DRIVERS = {"worker.demo"}


def test_functions_classes_and_modules_stay_small() -> None:
    """DESIGN §2: no function over 80 lines, no class over 400, no module over 700 (sandbox
    apart)."""
    big = []
    for module, tree in ALL.items():
        if module.startswith("worker.sandbox"):
            continue
        path = WORKER.parent / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = WORKER.parent / module.replace(".", "/") / "__init__.py"
        if len(path.read_text(encoding="utf-8").splitlines()) > 700:
            big.append((module, "module"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _span(node) > 80) or (isinstance(node, ast.ClassDef) and _span(node) > 400):
                big.append((module, node.name))
    assert not big
