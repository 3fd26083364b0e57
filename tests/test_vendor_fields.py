"""The tenant's field names are read in ipscape/frames/ and nowhere else in ipscape/.

A tenant whose JSON differs is then served by changing the frames package alone. The simulator
(the fake tenant writes that JSON) is left out, and so are operations.py and client.py, where
the API's paths and query parameters live (``campaignId`` is a path parameter there too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipscape.frames import FEED_COLUMNS
from ipscape.frames.records import VENDOR_FIELDS
from ipscape.metrics.feeds import FEED_COLUMNS as METRIC_FEED_COLUMNS

PACKAGE = Path(__file__).resolve().parents[1] / "ipscape"
FRAMES = PACKAGE / "frames"
LEFT_OUT = (FRAMES, PACKAGE / "simulator", PACKAGE / "operations.py", PACKAGE / "client.py")

# Single words the tenant uses that are also names of our own: our frames' columns ("state",
# "type", "source", ...) and the history's agent counts ("agents"). Reading them is reading our
# frames, so only the tenant's other names are looked for.
# Our own column names: the frames' and the metrics' (which the collector publishes as feeds).
OUR_OWN_NAMES = {
    column
    for columns in (*FEED_COLUMNS.values(), *METRIC_FEED_COLUMNS.values())
    for column in columns
} | {"agents"}
LOOKED_FOR = VENDOR_FIELDS - OUR_OWN_NAMES
# The tenant writes camelCase and we snake_case: such a name anywhere (not only as a key) is
# the tenant's.
CAMEL_CASE = {name for name in VENDOR_FIELDS if not name.islower()}


def keys_read(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of every string read as a key: ``x["name"]``, ``x.get("name")`` (also
    ``pop``/``setdefault``) and ``{"name": ...}``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            if isinstance(node.slice.value, str):
                yield node.lineno, node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.lineno, key.value


def vendor_reads(source: str) -> list[tuple[int, str]]:
    """Where ``source`` uses a field name of the tenant's."""
    tree = ast.parse(source)
    found = {(line, name) for line, name in keys_read(tree) if name in LOOKED_FOR}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in CAMEL_CASE:
            found.add((node.lineno, node.value))
    return sorted(found)


def modules_outside_the_frames() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not any(path == out or out in path.parents for out in LEFT_OUT)
    )


@pytest.mark.parametrize(
    "path", modules_outside_the_frames(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_outside_the_frames_package_reads_a_tenant_field(path: Path) -> None:
    reads = vendor_reads(path.read_text(encoding="utf-8"))
    where = [f"{path.relative_to(PACKAGE.parent)}:{line} reads {name!r}" for line, name in reads]
    assert not where, "read it through a function of ipscape/frames/ instead: " + "; ".join(where)


@pytest.mark.parametrize(
    "source",
    [
        'ids = [item["campaignId"] for item in listing]',
        'active = item.get("isActive") is not False',
        'stamps = data.get("timestamps")',
        'KEY = "voicemailMetadata"',
        'query = {"phoneNumber": number}',
    ],
)
def test_the_check_finds_a_tenant_field_read_outside_the_frames(source: str) -> None:
    assert vendor_reads(source)


@pytest.mark.parametrize(
    "source",
    [
        'states = agents["state"]',
        'kinds = frame["type"].isin(KNOWN)',
        'shown = counts["agents"]',
        '"""Reads ``campaignId`` through the frames."""',
    ],
)
def test_our_own_names_are_not_taken_for_the_tenants(source: str) -> None:
    assert vendor_reads(source) == []


def test_the_declared_fields_are_exactly_those_the_frames_package_reads() -> None:
    """The frames read the tenant's JSON with ``field(rows, "name")`` (one field of every record)
    and ``.get("name")`` (one item); result.py reads our own results only."""
    read: set[str] = set()
    for path in set(FRAMES.glob("*.py")) - {FRAMES / "result.py"}:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "field" and len(node.args) == 2:
                key = node.args[1]
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
                key = node.args[0]
            else:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                read.add(key.value)
    assert read == VENDOR_FIELDS
