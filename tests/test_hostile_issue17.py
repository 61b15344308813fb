"""Issue 17 as a hostile or unlucky user meets it: what broke when attacked (each test failed
before its fix), next to the feature's own tests (test_board_backstage, test_chat_rules)."""

from __future__ import annotations

from tests.conftest import Hub
from tests.test_board_backstage import BEAR, BULB, marker, ok, stage_with


async def test_starting_a_recording_keeps_the_backstage_objects(hub: Hub) -> None:
    """The recording's first snapshot leaves backstage objects out (it goes to everyone), but
    live it must not take them off the stage: a performer's prepared bulb stays prepared."""
    pat, audience = await stage_with(hub)
    olivia = await hub.joined("olivia")
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BULB})
    await ok(pat, "board", {"type": "placeObjectOnStage", "object": BEAR})
    started = await olivia.call("startRecording", {"name": "Act 1"})
    assert started["ok"], started
    await marker(pat, audience, olivia)
    assert "bulb" not in str(audience.events)
    state = (await (await hub.joined("olivia")).join("show"))["state"]
    assert [o["id"] for o in state["board"]["objects"]] == ["bulb", "bear"]
    seq = await ok(pat, "board", {"type": "moveTo", "object": {"id": "bulb", "backstage": False}})
    await audience.wait_for(lambda c: c.seq >= seq)
    assert audience.events[-1]["payload"]["object"]["src"] == "/m/bulb.png"  # shown whole, not lost
