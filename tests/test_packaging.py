"""Packaging: what `pip install .` builds, what it depends on, and what CI installs.

pyproject.toml declares the package; requirements.txt and requirements-dev.txt (which the README's
commands install) say the same; constraints.txt pins what CI installs. These tests keep the
lists from drifting apart and build the source distribution offline, as pip would, to see what
it holds.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):  # -r, -c: other files
            lines.append(line)
    return lines


def _keyed(requirements: list[str]) -> dict[str, tuple[frozenset[str], str, str]]:
    """name -> (extras, specifier, marker), names and specifiers normalised."""
    out = {}
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name not in out, f"{req.name} is declared twice"
        out[name] = (frozenset(req.extras), str(req.specifier), str(req.marker or ""))
    return out


def _runtime() -> dict[str, tuple[frozenset[str], str, str]]:
    return _keyed(_requirement_lines(REPO / "requirements.txt"))


def _pins() -> dict[str, Version]:
    pins = {}
    for line in _requirement_lines(REPO / "constraints.txt"):
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt pins exact versions only, not {line!r}"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_requirements_txt_declares_what_pyproject_declares():
    assert _runtime() == _keyed(PROJECT["dependencies"])


def test_requirements_dev_txt_is_the_runtime_plus_the_dev_extra():
    dev_file = REPO / "requirements-dev.txt"
    assert "-r requirements.txt" in dev_file.read_text(encoding="utf-8").splitlines()
    assert _keyed(_requirement_lines(dev_file)) == _keyed(PROJECT["optional-dependencies"]["dev"])


def test_streamlit_is_capped_to_the_minor_release_the_wall_targets():
    installed = Version(importlib.import_module("streamlit").__version__)
    _, specifier, _ = _runtime()["streamlit"]
    spec = Requirement(f"streamlit{specifier}").specifier
    assert installed in spec
    assert Version(f"{installed.major}.{installed.minor}.0") in spec
    assert Version(f"{installed.major}.{installed.minor + 1}.0") not in spec


def test_constraints_pin_every_requirement_within_its_bounds():
    pins = _pins()
    assert "ipscape-dashboard" not in pins, "the project itself is not a constraint"
    declared = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt pins no version of {req.name}"
        assert pins[name] in req.specifier, f"constraints.txt pins {name} outside {text!r}"


def _third_party_imports() -> set[str]:
    """Top-level modules that ipscape/ imports and the standard library does not provide."""
    names = set()
    for path in (REPO / "ipscape").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"ipscape", "__future__"}


def test_every_library_the_package_imports_is_a_declared_dependency():
    declared = set(_runtime())
    by_module = packages_distributions()
    for module in sorted(_third_party_imports()):
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        assert dists, f"{module} is imported but not installed"
        assert dists & declared, f"ipscape/ imports {module} ({', '.join(dists)}): declare it"


def test_console_scripts_name_the_cli_entry_points():
    scripts = PROJECT["scripts"]
    assert set(scripts) == {"ipscape", "ipscape-simulator"}
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


@pytest.mark.parametrize(
    ("module", "usage"),
    [("ipscape", "python -m ipscape"), ("ipscape.simulator", "python -m ipscape.simulator")],
)
def test_help_runs_from_another_directory(tmp_path, module, usage):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {usage} ")


def test_ci_runs_the_readme_test_command_then_lint_format_and_types():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Run the tests**", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    command = block.strip()
    assert "-c constraints.txt" in command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    after = ci[ci.index(command) + 1 :]
    checks = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"]
    assert [line for line in after if line in checks] == checks


def _source_copy(dest: Path) -> Path:
    """The checkout's Python files, packaging files and everything under ipscape/: enough for
    setuptools to see every top-level folder a clone has."""

    def ignored(folder: str, names: list[str]) -> set[str]:
        inside_package = Path(folder).resolve().is_relative_to(REPO / "ipscape")
        local = {"__pycache__", "data", "artifacts", "venv"}  # what a clone does not have
        return {
            name
            for name in names
            if name.startswith(".")
            or name in local
            or (Path(folder, name).is_file() and not inside_package and not name.endswith(".py"))
        }

    shutil.copytree(REPO, dest, ignore=ignored)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    return dest


def test_the_source_distribution_holds_the_library_its_data_and_its_entry_points(tmp_path):
    pytest.importorskip("setuptools", reason="the build backend (setuptools) is not installed")
    source = _source_copy(tmp_path / "src")
    out = tmp_path / "dist"
    # What pip runs first to build: setuptools' PEP 517 hook, offline, in the copy.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
            str(out),
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=120,
    )
    info = next(source.glob("*.egg-info"))
    assert info.name == "ipscape_dashboard.egg-info"
    assert (info / "top_level.txt").read_text().split() == ["ipscape"]
    files = set((info / "SOURCES.txt").read_text().split())
    packaged = {f for f in files if not f.endswith((".egg-info", ".txt", ".toml", ".md", ".cfg"))}
    packaged = {f for f in packaged if not f.startswith(f"{info.name}/")}
    assert packaged and all(f.startswith("ipscape/") for f in packaged), sorted(packaged)
    library = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "ipscape").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert library <= files, f"not packaged: {sorted(library - files)}"
    entry_points = (info / "entry_points.txt").read_text()
    for name, target in PROJECT["scripts"].items():
        assert f"{name} = {target}" in entry_points
    assert "Requires-Python: >=3.11" in (info / "PKG-INFO").read_text()
    # requires.txt: the dependencies, then one [section] per extra.
    requires = (info / "requires.txt").read_text().split("\n[", 1)[0].split()
    assert _keyed(requires) == _runtime()
