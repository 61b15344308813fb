"""Which live streams a stage has (docs/streaming.md): the hub-only `stream` topic folded into
`state["streams"]`, `{name: {live, url, performer, since}}`. Mirrored in static/js/stage/state.js.

Only the hub publishes `stream` (from the media server's publish callbacks), but the reducer
still takes any payload: a malformed one changes nothing.
"""

from __future__ import annotations

import re

from ._util import Json, State

MAX_STREAMS = 64
MAX_TEXT = 2000
# A stream name; never all digits, which a JavaScript object would order before the others.
NAME = re.compile(r"(?![0-9]+$)[A-Za-z0-9_-]{1,64}")


def empty_streams() -> State:
    return {}


def reduce_streams(streams: State, payload: Json, at: int | float) -> State:
    """A stream started (`live` true) or stopped; past MAX_STREAMS the oldest stopped one goes
    (or the oldest, when all are live)."""
    if not isinstance(payload, dict):
        return streams
    name, live = payload.get("name"), payload.get("live")
    if not isinstance(name, str) or not NAME.fullmatch(name) or not isinstance(live, bool):
        return streams
    url, performer = payload.get("url"), payload.get("performer")
    entry = {
        "live": live,
        "url": url if isinstance(url, str) and len(url) <= MAX_TEXT else None,
        "performer": performer if isinstance(performer, str) and len(performer) <= MAX_TEXT else None,
        "since": at,
    }
    new = {**streams, name: entry}
    if len(new) > MAX_STREAMS:
        stopped = [key for key, value in new.items() if not value["live"]]
        del new[stopped[0] if stopped else next(iter(new))]
    return new
