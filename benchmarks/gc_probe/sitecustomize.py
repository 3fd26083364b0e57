"""The garbage collector seen from inside a server under benchmarks/soak.py (``--mode gc``).

The soak puts this folder on the server's PYTHONPATH, so Python imports it at start-up. With
IPSCAPE_GC_PROBE naming a file, a daemon thread appends one JSON line to it every
IPSCAPE_GC_PROBE_S seconds (15 by default): collections and objects collected per generation so
far, the objects each generation holds now, the frozen count, uncollectable garbage, and how many
objects of a few types a closed session or an old snapshot would leave behind if cycles were not
collected. Nothing happens without IPSCAPE_GC_PROBE.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections import Counter

PROBE_ENV = "IPSCAPE_GC_PROBE"
# Type names whose counts show whether sessions and frames are freed (tracked objects only).
WATCHED = ("AppSession", "ScriptRunner", "SessionState", "DataFrame", "Figure", "Styler")


def sample() -> dict[str, object]:
    objects = gc.get_objects()  # the three generations; frozen objects are not listed
    kinds = Counter(type(o).__name__ for o in objects)
    del objects
    return {
        "at": time.time(),
        "stats": gc.get_stats(),
        "generations": [len(gc.get_objects(generation=g)) for g in range(3)],
        "frozen": gc.get_freeze_count(),
        "garbage": len(gc.garbage),
        "types": {name: kinds.get(name, 0) for name in WATCHED},
    }


def probe(path: str, every_s: float) -> None:
    while True:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(sample()) + "\n")
        time.sleep(every_s)


if os.environ.get(PROBE_ENV):
    threading.Thread(
        target=probe,
        args=(os.environ[PROBE_ENV], float(os.environ.get("IPSCAPE_GC_PROBE_S", "15"))),
        name="gc probe",
        daemon=True,
    ).start()
