"""Files only the hub's own user may read: the var directory, its media and the SQLite database
(password hashes, refresh-token families); see docs/security.md."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents with mode 0700; an existing directory is left as the
    operator made it (it may be shared on purpose)."""
    for missing in [p for p in (path, *path.parents) if not p.exists()][::-1]:
        missing.mkdir(mode=PRIVATE_DIR, exist_ok=True)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it is missing, and tighten it to 0600 if it exists
    (a database made by an older hub was world-readable)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    with contextlib.suppress(OSError):  # not ours to change: the operator keeps it as they set it
        os.chmod(path, PRIVATE_FILE)
