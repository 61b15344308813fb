"""Scene operations spanning several families: blank the stage, switch to a saved scene, and
take the snapshot a saved scene keeps (upstage-spec §2.4 and §3.6).

The snapshot has the key layout of the original client's scene payload (`background`,
`backdropColor`, `board.objects`, `board.whiteboard`, `settings`, `audios`), so scenes saved
by the original UpStage can be switched to as well.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from ._util import Json, State, index_of
from .audio import reconcile, rewind_all
from .background import blank_background, scene_background
from .board import board_from_objects, empty_board
from .costumes import is_backstage
from .limits import Limits
from .settings import merge_settings
from .whiteboard import empty_whiteboard, whiteboard_from


def scene_snapshot(state: State) -> dict[str, Any]:
    """What a saved scene keeps: backdrop, backdrop colour, board objects, whiteboard, settings
    and audio tracks; not chat, curtain, speech or master volume, nor backstage objects (a scene
    goes to everyone in `switchScene`, as the original kept only live objects in scenes)."""
    objects = [o for o in state["board"]["objects"] if not is_backstage(o)]
    return {
        "background": state["background"]["backdrop"],
        "backdropColor": state["background"]["backdropColor"],
        "board": {"objects": objects, "whiteboard": list(state["whiteboard"]["commands"])},
        "settings": dict(state["settings"]),
        "audios": list(state["audio"]["tracks"].values()),
    }


def blank_scene(state: State, at: int | float) -> State:
    """An empty board and whiteboard, no backdrop image, the default colour, audio positions at 0.
    Chat, curtain, settings and whether tracks play are kept."""
    return {
        **state,
        "board": empty_board(),
        "background": blank_background(state["background"]),
        "whiteboard": empty_whiteboard(),
        "audio": rewind_all(state["audio"], at),
    }


def switch_scene(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    """Replace backdrop, colour, board, whiteboard, settings and audio by the scene the hub
    attached as `payload["snapshot"]`; a missing or malformed snapshot changes nothing."""
    snapshot = payload.get("snapshot") if isinstance(payload, dict) else None
    if not _well_formed(snapshot):
        return state
    board = snapshot["board"]
    return {
        **state,
        "board": board_from_objects(board.get("objects", []), limits, at),
        "background": scene_background(state["background"], snapshot.get("background"), snapshot.get("backdropColor")),
        "whiteboard": whiteboard_from(board.get("whiteboard", []), limits),
        "settings": merge_settings(state["settings"], snapshot.get("settings")),
        "audio": reconcile(state["audio"], snapshot.get("audios", []), at, limits),
    }


def restate_scene(state: State, payload: Json, at: int | float, limits: Limits) -> State:
    """A recording's first snapshot (`recordingSnapshot`): the scene as it is, like `switch_scene`,
    keeping the backstage objects the snapshot leaves out (it goes to everyone) where they were,
    so starting a recording takes nothing off the performers' stage."""
    after = switch_scene(state, payload, at, limits)
    if after is state:
        return state
    objects = list(after["board"]["objects"])
    for index, obj in enumerate(state["board"]["objects"]):
        if is_backstage(obj) and index_of(objects, obj["id"]) < 0:
            objects.insert(index, obj)
    kept = objects[-limits.board_objects :] if limits.board_objects > 0 else []
    return {**after, "board": {**after["board"], "objects": kept}}


def _well_formed(snapshot: Json) -> TypeGuard[dict[str, Json]]:
    """A scene needs a `board` dict; the parts it has must have the right JSON types."""
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("board"), dict):
        return False
    board = snapshot["board"]
    expected: list[tuple[Json, type | tuple[type, ...]]] = [
        (board.get("objects", []), list),
        (board.get("whiteboard", []), list),
        (snapshot.get("audios", []), list),
        (snapshot.get("settings", {}), dict),
        (snapshot.get("background"), (dict, type(None))),
        (snapshot.get("backdropColor", ""), str),
    ]
    return all(isinstance(value, kinds) for value, kinds in expected)
