"""`python -m bench.tracehub serve`: the hub, with tracemalloc snapshots on demand, for finding leaks.

Tracing (TRACE_FRAMES frames per allocation, default 15) starts before the hub is imported. Each
SIGUSR1 writes a snapshot to `$HUB_VAR_DIR/trace-<n>.snap` (n = 1, 2, ...), then touches
`trace-<n>.done`; `bench.soak --trace` compares two of them by traceback. Taking a snapshot
blocks the hub for a moment: a diagnosis tool, not for figures.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tracemalloc
from itertools import count
from pathlib import Path
from types import FrameType

_numbers = count(1)


def _dump(signum: int, frame: FrameType | None) -> None:
    n = next(_numbers)
    var = Path(os.environ.get("HUB_VAR_DIR", "."))
    gc.collect()
    tracemalloc.take_snapshot().dump(str(var / f"trace-{n}.snap"))
    (var / f"trace-{n}.done").touch()


if __name__ == "__main__":
    if not tracemalloc.is_tracing():
        tracemalloc.start(int(os.environ.get("TRACE_FRAMES", "15")))
    signal.signal(signal.SIGUSR1, _dump)
    from hub.cli import main

    sys.exit(main(sys.argv[1:]))
