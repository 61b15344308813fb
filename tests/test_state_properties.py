"""Property tests of `hub.state.apply` over random event streams.

(1) a JSON round trip of the state at any point changes nothing that follows;
(2) apply never raises on arbitrary JSON payloads and the state stays JSON;
(3) apply never mutates its input;
(4) the state stays bounded under long streams.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.state import DEFAULT_LIMITS, Limits, apply, empty_state, scene_snapshot, view

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- valid payloads, per the wire contract's topic table, over small id pools --------------

OBJECT_IDS = st.sampled_from(["a", "b", "c", "d", "e", 7])
CHAT_IDS = st.sampled_from(["m1", "m2", "m3", "m4"])
TRACK_IDS = st.integers(1, 3)
SRCS = st.sampled_from(["https://host/1.mp3", "https://host/2.mp3", "https://host/9.mp3"])
TEXT = st.text(max_size=8)
UNIT = st.floats(0, 1, allow_nan=False)
AT = st.integers(0, 10**7)
COLOR = st.sampled_from(["#30ac45", "#000000", "#ff00ff", "red"])


def typed(kind: str, optional: dict[str, Any] | None = None, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(kind), **fields}, optional=optional or {})


BOARD_OBJECT = st.fixed_dictionaries(
    {"id": OBJECT_IDS},
    optional={
        "type": st.sampled_from(["avatar", "prop", "text", "video", "jitsi"]),
        "name": TEXT, "src": TEXT, "x": UNIT, "y": UNIT, "w": UNIT, "h": UNIT,
        "rotate": st.integers(-360, 360), "opacity": UNIT, "moveSpeed": st.integers(0, 5000),
        "wornBy": OBJECT_IDS, "holder": TEXT, "autoplayFrames": st.integers(0, 5000),
        "voice": st.fixed_dictionaries({"voice": TEXT, "pitch": st.integers(0, 100)}),
        "frames": st.lists(TEXT, max_size=3),
    },
)
ONLY_ID = st.fixed_dictionaries({"id": OBJECT_IDS})
CHAT_MESSAGE = st.fixed_dictionaries(
    {"message": TEXT, "id": CHAT_IDS},
    optional={"isPrivate": st.booleans(), "behavior": st.sampled_from(["speak", "think", "shout"]),
              "user": TEXT, "isPlayer": st.booleans(), "at": AT},
)
PLACE = typed("placeObjectOnStage", object=BOARD_OBJECT)
BOARD = st.one_of(
    PLACE, PLACE, PLACE,  # weighted up, so that the other actions find objects to act on
    typed("moveTo", {"zIndex": st.integers(0, 9)}, object=BOARD_OBJECT),
    typed("destroy", object=ONLY_ID),
    typed("switchFrame", object=st.fixed_dictionaries({"id": OBJECT_IDS, "src": TEXT})),
    typed("toggleAutoplayFrames", object=st.fixed_dictionaries({"id": OBJECT_IDS, "autoplayFrames": st.integers(0, 900)})),
    typed("speak", {"mute": st.booleans()}, avatar=BOARD_OBJECT, speak=CHAT_MESSAGE),
    typed("sendToBack", object=ONLY_ID),
    typed("bringToFront", object=ONLY_ID),
    typed("bringToFrontOf", {"side": st.sampled_from(["front", "behind"])}, front=OBJECT_IDS, back=OBJECT_IDS),
)
BACKDROP = st.fixed_dictionaries({"id": st.integers(1, 4), "src": TEXT}, optional={"at": AT, "opacity": UNIT, "speed": UNIT})
COMMAND = st.fixed_dictionaries({
    "type": st.sampled_from(["draw", "erase"]), "size": st.integers(1, 40), "color": COLOR, "x": UNIT, "y": UNIT,
    "lines": st.lists(st.fixed_dictionaries({"x": UNIT, "y": UNIT, "fromX": UNIT, "fromY": UNIT}), max_size=3),
})
TRACK = st.one_of(
    st.fixed_dictionaries({"id": TRACK_IDS}, optional={"src": SRCS}),
    st.fixed_dictionaries({"src": SRCS}),
).flatmap(lambda key: st.fixed_dictionaries(
    {k: st.just(v) for k, v in key.items()},
    optional={"isPlaying": st.booleans(), "currentTime": st.floats(0, 300, allow_nan=False), "loop": st.booleans(),
              "volume": UNIT, "saken": st.booleans(), "duration": st.floats(1, 300), "name": TEXT},
))
SNAPSHOT = st.fixed_dictionaries(
    {"board": st.fixed_dictionaries({}, optional={"objects": st.lists(BOARD_OBJECT, max_size=4),
                                                  "whiteboard": st.lists(COMMAND, max_size=3)})},
    optional={"background": st.none() | BACKDROP, "backdropColor": COLOR, "audios": st.lists(TRACK, max_size=3),
              "settings": st.fixed_dictionaries({}, optional={"chatVisibility": st.booleans(),
                                                              "chatPosition": st.sampled_from(["left", "right"]),
                                                              "audienceChat": st.booleans(), "playersMayClearChat": st.booleans()})},
)
BACKGROUND = st.one_of(
    typed("changeBackground", background=BACKDROP),
    typed("setBackdropColor", color=COLOR),
    typed("drawCurtain", curtain=st.none() | TEXT | st.fixed_dictionaries({"src": TEXT}, optional={"at": AT})),
    typed("setChatVisibility", visible=st.booleans()),
    typed("setReactionVisibility", visible=st.booleans()),
    typed("setDarkModeChat", enabled=st.booleans()),
    typed("setChatPosition", position=st.sampled_from(["left", "right"])),
    typed("setAudienceChat", enabled=st.booleans()),
    typed("setPlayersMayClearChat", enabled=st.booleans()),
    typed("loadScenes"),
    typed("blankScene"),
    typed("switchScene", {"snapshot": SNAPSHOT}, scene=st.integers(1, 3)),
)
CHAT = st.one_of(
    CHAT_MESSAGE, TEXT,
    st.just({"clear": True}), st.just({"clearPlayerChat": True}),
    st.fixed_dictionaries({"remove": CHAT_IDS}), st.fixed_dictionaries({"highlight": CHAT_IDS}),
)
DRAW = st.one_of(typed("newLine", command=COMMAND), typed("undo", index=st.integers(0, 6)), typed("clear"))
VALID_PAYLOADS: dict[str, st.SearchStrategy[Any]] = {
    "chat": CHAT,
    "board": BOARD,
    "background": BACKGROUND,
    "audio": TRACK,
    "audio_master": st.fixed_dictionaries({"volume": UNIT}, optional={"duration": st.integers(0, 5000)}),
    "draw": DRAW,
    "reaction": st.sampled_from(["❤️", "🤣", "🙌", "👏"]),
    "stream_health": st.fixed_dictionaries({"hostId": TEXT, "objectId": OBJECT_IDS, "frozen": st.booleans()}),
}
TOPICS = sorted(VALID_PAYLOADS)
# How often each topic comes up: board is the busiest on a live stage and has the most actions.
WEIGHTS = {"board": 4, "chat": 2, "background": 2, "audio": 2, "draw": 2, "audio_master": 1, "reaction": 1,
           "stream_health": 1}
VALID = st.one_of(*(st.tuples(st.just(topic), VALID_PAYLOADS[topic])
                    for topic, weight in WEIGHTS.items() for _ in range(weight)))

# ---- arbitrary JSON payloads, biased towards the keys and values the reducers look at -------

KEYS = st.sampled_from([
    "type", "object", "id", "avatar", "speak", "front", "back", "side", "background", "at", "curtain",
    "color", "visible", "enabled", "position", "snapshot", "board", "objects", "whiteboard", "audios",
    "settings", "isPlaying", "currentTime", "loop", "duration", "volume", "src", "command", "index",
    "message", "isPrivate", "clear", "clearPlayerChat", "remove", "highlight", "wornBy", "holder",
]) | st.text(max_size=4)
NAMES = st.sampled_from([
    "placeObjectOnStage", "moveTo", "destroy", "switchFrame", "toggleAutoplayFrames", "speak", "sendToBack",
    "bringToFront", "bringToFrontOf", "changeBackground", "setBackdropColor", "drawCurtain", "setChatVisibility",
    "setReactionVisibility", "setDarkModeChat", "setChatPosition", "loadScenes", "switchScene", "blankScene",
    "newLine", "undo", "clear", "behind", "front", "left", "a", "b", "m1",
])
LEAF = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 5)
        | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6) | NAMES)
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=10)


def _paths(payload: dict[str, Any]) -> list[tuple[str, ...]]:
    """The keys of a payload and of the dicts directly inside it."""
    return [(k,) for k in payload] + [(k, k2) for k, v in payload.items() if isinstance(v, dict) for k2 in v]


def _corrupted(payload: dict[str, Any], path: tuple[str, ...], value: Any, drop: bool) -> dict[str, Any]:
    head, *rest = path
    new = dict(payload)
    if rest:
        new[head] = _corrupted(new[head], tuple(rest), value, drop)
    elif drop:
        del new[head]
    else:
        new[head] = value
    return new


def _corrupt(item: tuple[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """A valid payload with one field (maybe nested one level) dropped or replaced by any JSON."""
    topic, payload = item
    if not isinstance(payload, dict) or not payload:
        return JSON.map(lambda value: (topic, value))
    return st.tuples(st.sampled_from(_paths(payload)), JSON, st.booleans()).map(
        lambda change: (topic, _corrupted(payload, *change)))


ARBITRARY = st.tuples(st.sampled_from(TOPICS), JSON) | VALID.flatmap(_corrupt)


def events(kinds: st.SearchStrategy[tuple[str, Any]], min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Streams of hub events with increasing seq and non-decreasing hub time."""
    step = st.tuples(kinds, st.integers(0, 4000), st.sampled_from(["owner", "editor", "player", "audience"]))

    def build(steps: list[tuple[tuple[str, Any], int, str]]) -> list[dict[str, Any]]:
        at, out = 1_700_000_000_000, []
        for seq, ((topic, payload), delta, role) in enumerate(steps, start=1):
            at += delta
            out.append({"seq": seq, "topic": topic, "payload": payload, "at": at,
                        "from": {"session": f"s{seq % 3}", "nickname": "n", "role": role}})
        return out

    return st.lists(step, min_size=min_size, max_size=max_size).map(build)


def run(state: dict[str, Any], stream: list[dict[str, Any]], limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    for event in stream:
        state = apply(state, event, limits)
    return state


def round_trip(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


@SETTINGS
@given(stream=events(VALID, min_size=10, max_size=30), data=st.data())
def test_json_round_trip_at_any_point_changes_nothing(stream: list[dict[str, Any]], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(stream)), label="cut")
    straight = run(empty_state(), stream)
    resumed = run(round_trip(run(empty_state(), stream[:cut])), stream[cut:])
    assert resumed == straight
    assert round_trip(straight) == straight


@SETTINGS
@given(stream=events(VALID | ARBITRARY))
def test_apply_never_raises_and_state_stays_json(stream: list[dict[str, Any]]) -> None:
    state = empty_state()
    for event in stream:
        state = apply(state, event)
        assert round_trip(state) == state
    for audience in (True, False):
        seen = view(state, stream[-1]["at"] + 5000 if stream else 0, audience)
        assert round_trip(seen) == seen
    assert round_trip(scene_snapshot(state)) == scene_snapshot(state)


@SETTINGS
@given(stream=events(VALID | ARBITRARY, max_size=20))
def test_apply_and_view_never_mutate_their_input(stream: list[dict[str, Any]]) -> None:
    state = empty_state()
    for event in stream:
        before, event_before = copy.deepcopy(state), copy.deepcopy(event)
        new = apply(state, event)
        assert state == before and event == event_before
        view(new, event["at"] + 1000, audience=True)
        scene_snapshot(new)
        state = new


SMALL = Limits(chat_messages=3, private_messages=2, whiteboard_commands=4, board_objects=3, audio_tracks=2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=events(VALID | ARBITRARY, min_size=20, max_size=40))
def test_state_stays_bounded(stream: list[dict[str, Any]]) -> None:
    # The stream is replayed eight times (later in hub time) to make it long without generating
    # hundreds of events; repeats still add strokes, id-less messages and new objects.
    span = stream[-1]["at"] - stream[0]["at"] + 1
    stream = [{**e, "at": e["at"] + lap * span} for lap in range(8) for e in stream]
    state = empty_state()
    for event in stream:
        state = apply(state, event, SMALL)
        board = state["board"]
        assert len(board["objects"]) <= SMALL.board_objects
        assert set(board["speeches"]) <= {str(o["id"]) for o in board["objects"]}
        assert len(state["chat"]["messages"]) <= SMALL.chat_messages
        assert len(state["chat"]["privateMessages"]) <= SMALL.private_messages
        assert len(state["whiteboard"]["commands"]) <= SMALL.whiteboard_commands
        assert len(state["audio"]["tracks"]) <= SMALL.audio_tracks
        assert set(state) == set(empty_state())
