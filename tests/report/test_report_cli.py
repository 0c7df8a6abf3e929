"""`balcao report` as the operator runs it: a subprocess, the real clock, the shipped config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.report.kit import build
from worker.report import CSV_HEADER

REPO = Path(__file__).resolve().parents[2]


def balcao(*args: str, journal: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BALCAO__JOURNAL__PATH": str(journal)}
    return subprocess.run(
        [sys.executable, "-m", "worker", *args, "-c", str(REPO / "config.yaml")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )


def test_report_with_out_writes_the_csv_the_page_and_the_chart(tmp_path: Path) -> None:
    journal = build(tmp_path / "j.sqlite3")
    out = tmp_path / "relatorios"
    done = balcao("report", "--month", "2026-03", "--out", str(out), journal=journal)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("balcao report for 2026-03 (março de 2026)")
    assert sorted(p.name for p in out.iterdir()) == [
        "balcao-2026-03.csv", "balcao-2026-03.html", "balcao-2026-03.png"]
    assert (out / "balcao-2026-03.csv").read_text(encoding="utf-8").startswith(
        ",".join(CSV_HEADER) + "\n")
    assert "data:image/png;base64," in (out / "balcao-2026-03.html").read_text(encoding="utf-8")


def test_report_without_out_prints_the_current_month_and_writes_nothing(tmp_path: Path) -> None:
    journal = build(tmp_path / "j.sqlite3")
    done = balcao("report", journal=journal)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("balcao report for ")
    # SQLite's WAL side files aside, nothing new appears.
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("j.sqlite3")] == []


def test_a_malformed_month_exits_2_naming_the_argument(tmp_path: Path) -> None:
    done = balcao("report", "--month", "03/2026", journal=build(tmp_path / "j.sqlite3"))
    assert done.returncode == 2
    assert "--month: expected YYYY-MM" in done.stderr and "'03/2026'" in done.stderr


def test_the_cli_and_the_report_module_load_neither_pandas_nor_matplotlib() -> None:
    code = ("import sys, worker.cli, worker.report; worker.cli.build_parser(); "
            "assert not {'pandas', 'matplotlib', 'jinja2'} & set(sys.modules), sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=REPO)


def test_only_the_report_page_imports_matplotlib() -> None:
    import ast

    importers = set()
    for path in (REPO / "worker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "matplotlib" for n in names):
                importers.add(path.relative_to(REPO).as_posix())
    assert importers == {"worker/reportpage.py"}
