"""Pure reducers for a stage's live state: what the hub keeps of every accepted event, what a
joining client receives, and what a saved scene holds. No I/O, no asyncio, no hub imports."""

from ._util import nests_deeper_than
from .limits import DEFAULT_LIMITS, Limits
from .meter import Measure, StateMeter
from .scenes import scene_snapshot
from .stage import apply, empty_state
from .view import depends_on_time, view

__all__ = [
    "DEFAULT_LIMITS", "Limits", "Measure", "StateMeter", "apply", "depends_on_time", "empty_state", "nests_deeper_than",
    "scene_snapshot", "view",
]  # fmt: skip
