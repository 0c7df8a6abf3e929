"""Every link, image and repository path that README.md and deploy/* name exists, and every #anchor has its heading."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DEPLOY = sorted((REPO / "deploy").iterdir())

# A path "named" in prose: inside backticks, starting at a folder or file of the repository.
_TOP = ("worker/", "tests/", "templates/", "bench/", "deploy/", "docs/", ".ci/")
_TOP_FILES = ("config.yaml", "credentials.example.json", "Makefile", "pyproject.toml",
              "requirements.lock", "requirements-dev.lock", "README.md", "Dockerfile")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`([^`\n]+)`")
# The install location the README and the unit use: the checkout itself (README step 4).
_INSTALLED = "/opt/balcao/"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower-case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    out: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            out.add(_slug(line.lstrip("#")))
    return out


def _named_paths(text: str) -> set[str]:
    found: set[str] = set()
    for token in _CODE.findall(text):
        for word in token.split():
            word = word.split("::")[0].rstrip(".,;:)")
            if word.startswith(_INSTALLED):
                word = word[len(_INSTALLED):]
            if word.startswith(_TOP) or word in _TOP_FILES:
                found.add(word)
    return found


def _exists(path: str) -> bool:
    if any(ch in path for ch in "*?["):
        return any(REPO.glob(path))
    return (REPO / path).exists()


def test_every_relative_link_and_image_in_the_readme_exists() -> None:
    text = README.read_text(encoding="utf-8")
    anchors = _anchors(text)
    missing = []
    for target in _LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        found = (REPO / path).exists() if path else anchor in anchors
        if not found:
            missing.append(target)
    assert missing == []


@pytest.mark.parametrize("doc", [README, *DEPLOY], ids=lambda p: p.name)
def test_every_repository_path_a_document_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    # Shell examples (README's fenced blocks) and the deploy files name paths bare.
    bare = text if doc.parent.name == "deploy" else "\n".join(re.findall(r"```.*?```", text, re.S))
    text += "\n" + " ".join(f"`{w}`" for w in re.findall(r"[\w./-]+", bare))
    missing = sorted(p for p in _named_paths(text) if not _exists(p))
    assert missing == []


def test_every_image_the_screenshots_target_writes_is_shown_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    shots = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("email-*.png"))
    assert shots, "make screenshots has not been run"
    assert [s for s in shots if f"({s})" not in text] == []


def test_the_readme_e_mail_examples_are_what_balcao_renders() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshots", REPO / "docs" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = README.read_text(encoding="utf-8")
    for stem, mail in module.samples():
        assert f"— `{mail.subject}`" in text, stem
        assert f"(docs/email-{stem}-phone.png)" in text, stem
    # A few body lines quoted in the README, checked against the rendered text.
    rendered = "\n".join(mail.text for _, mail in module.samples())
    for line in re.findall(r"^(?:Prezado|Seu atendimento|O prazo|No horário|10:00  )[^\n]*$",
                           text, re.M):
        assert line in rendered, line
