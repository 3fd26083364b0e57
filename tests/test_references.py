"""The code and the docs point at files that exist, and at nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".git", "artifacts", "data", "__pycache__", ".pytest_cache", ".mypy_cache"}
SUFFIXES = {".py", ".md", ".toml", ".css", ".js", ".txt", ".cfg", ".example"}
# A path into one of the project's folders, named as the repository spells it.
PATH = re.compile(
    r"(?<![\w/.-])((?:docs|ipscape|ui|screens|tests|benchmarks|\.streamlit|\.ci)"
    r"/[\w./-]*\w\.(?:py|md|toml|css|js|yaml|json|example))\b"
)
# Made by whoever deploys (git-ignored), so named in the docs but never in the repository.
USER_FILES = {".streamlit/secrets.toml"}
FOREIGN = re.compile(r"DESIGN rules? \d|shared/ipscape-api\.md|\.\./shared/")


def project_files() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and (p.suffix in SUFFIXES or p.name == "run")
        and not SKIP.intersection(p.relative_to(ROOT).parts)
    )


FILES = project_files()


def test_the_scan_sees_the_code_and_the_docs() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"README.md", "docs/architecture.md", "dashboard.py", "ipscape/client.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_file_named_in_code_or_docs_exists(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    missing = sorted(
        {m for m in PATH.findall(text) if m not in USER_FILES and not (ROOT / m).exists()}
    )
    assert not missing, f"{path.relative_to(ROOT)} names files that do not exist: {missing}"
    assert not FOREIGN.search(text), f"{path.relative_to(ROOT)} cites a file outside the repo"
