"""The board reducer's costumes and backstage objects (hub/state/costumes.py), pure."""

from __future__ import annotations

from typing import Any

import pytest

from hub.state import apply, empty_state, scene_snapshot, view


def fold(*payloads: dict[str, Any]) -> dict[str, Any]:
    state = empty_state()
    for i, payload in enumerate(payloads):
        state = apply(state, {"topic": "board", "payload": payload, "at": 1000 + i})
    return state


def objects(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in state["board"]["objects"]}


def place(**obj: Any) -> dict[str, Any]:
    return {"type": "placeObjectOnStage", "object": obj}


def move(**obj: Any) -> dict[str, Any]:
    return {"type": "moveTo", "object": obj}


AVATAR = place(id="av", type="avatar", x=0.2, y=0.2, w=0.2, h=0.4)
HAT = place(id="hat", type="prop", x=0.25, y=0.1, w=0.1, h=0.1, wornBy="av")


def test_a_costume_follows_its_wearer_by_offset_and_scale() -> None:
    state = fold(AVATAR, HAT, move(id="av", x=0.5, y=0.3, w=0.4, h=0.4, moveSpeed=700))
    hat = objects(state)["hat"]
    assert (hat["x"], hat["y"], hat["w"], hat["h"], hat["moveSpeed"]) == pytest.approx((0.6, 0.2, 0.2, 0.1, 700))


def test_no_pose_change_no_follow_and_a_taken_off_costume_stays() -> None:
    still = fold(AVATAR, HAT, move(id="av", name="renamed"))
    assert objects(still)["hat"] == objects(fold(AVATAR, HAT))["hat"]
    off = fold(AVATAR, HAT, move(id="hat", wornBy=None), move(id="av", x=0.9))
    assert objects(off)["hat"]["x"] == 0.25


def test_a_costume_on_the_other_side_of_the_curtain_does_not_follow() -> None:
    state = fold(AVATAR, HAT, move(id="av", backstage=True), move(id="av", x=0.9))
    assert objects(state)["hat"]["x"] == 0.25
    both = fold(AVATAR, HAT, move(id="av", backstage=True), move(id="hat", backstage=True), move(id="av", x=0.9))
    assert objects(both)["hat"]["x"] == pytest.approx(0.95)


def test_showing_brings_to_front_and_the_audience_view_hides_backstage() -> None:
    state = fold(place(id="bulb", x=0, backstage=True), AVATAR,
                 {"type": "speak", "avatar": {"id": "bulb"}, "speak": {"message": "psst"}})  # fmt: skip
    assert [o["id"] for o in state["board"]["objects"]] == ["bulb", "av"]
    seen = view(state, 1500, audience=True)
    assert [o["id"] for o in seen["board"]["objects"]] == ["av"] and seen["board"]["speeches"] == {}
    assert [o["id"] for o in view(state, 1500, audience=False)["board"]["objects"]] == ["bulb", "av"]
    assert [o["id"] for o in scene_snapshot(state)["board"]["objects"]] == ["av"]
    shown = apply(state, {"topic": "board", "payload": move(id="bulb", backstage=False), "at": 2000})
    assert [o["id"] for o in shown["board"]["objects"]] == ["av", "bulb"]
    hidden_again = apply(shown, {"topic": "board", "payload": move(id="bulb", backstage=True), "at": 2001})
    assert [o["id"] for o in hidden_again["board"]["objects"]] == ["av", "bulb"]  # hiding keeps its place


def test_destroying_the_wearer_releases_the_costume() -> None:
    state = fold(AVATAR, HAT, {"type": "destroy", "object": {"id": "av"}})
    assert list(objects(state)) == ["hat"] and "wornBy" not in objects(state)["hat"]
