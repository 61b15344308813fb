"""The media server's publish callbacks (nginx-rtmp's `on_publish` / `on_publish_done`, or any
server that can POST the same form): `POST /api/streams/publish` and `POST /api/streams/done`.

Only the addresses in `HUB_STREAM_CALLBACK_FROM` may call them (the media server; 403 and a log
line for anyone else), each address rate-limited. A publish is accepted (200) only with a valid,
unexpired, unrevoked key for the published name; its start and end reach every client of the
stage as a `stream` event, published through `LiveStages` (hub/live.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .config import Settings
from .http import error
from .live import LiveStages
from .ratelimit import KeyedBuckets
from .roles import resolve_role
from .security_headers import PAGE_POLICY_FOR, page_policy
from .streams import KeyRefused, Publisher, StreamKeys, playback_url

log = logging.getLogger("hub.streams")
STREAM_KEYS = web.AppKey("stream_keys", StreamKeys)
MAX_FORM = 16 * 1024
HOSTNAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


def media_origin(pattern: str, host: str | None) -> str:
    """The origin live streams play from, for a page loaded from `host` (its Host header):
    `pattern` with `{host}` filled; empty when the streams are on the page's own origin or the
    host is not a plain host name (nothing of it goes into a header then)."""
    hostname = urlsplit(f"//{host or ''}").hostname or ""
    hostname = f"[{hostname}]" if ":" in hostname else hostname
    if "{host}" in pattern and not HOSTNAME.fullmatch(hostname):
        return ""
    url = urlsplit(pattern.replace("{host}", hostname).replace("{name}", "stream"))
    if url.scheme not in ("http", "https") or not url.netloc or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", url.netloc):
        return ""
    return f"{url.scheme}://{url.netloc}"


class StreamCallback:
    """Answers the media server: accept or refuse a publish, and announce starts and ends."""

    def __init__(self, settings: Settings, keys: StreamKeys, live: LiveStages) -> None:
        self.settings, self.keys, self.live = settings, keys, live
        self.buckets = KeyedBuckets(settings.stream_callback_rate_limit, settings.stream_callback_rate_burst)

    def caller_refused(self, request: web.Request) -> web.Response | None:
        """403 for an address that is not the media server's, 429 past its rate; None to go on.
        The address is the client's as the hub tells it behind `HUB_TRUSTED_PROXIES`: a request
        that came through a reverse proxy on the media server's host is not the media server's."""
        address = self.settings.addresses.address_of_request(request)
        if not self.buckets.take(str(address)):  # before the log line, so a flood logs little
            return error(429, "rate_limited", "too many stream callbacks from this address")
        if address is None or not any(address in network for network in self.settings.stream_callers):
            log.warning("a stream callback from an address not allowed", extra={"address": str(address)})
            return error(403, "forbidden", "stream callbacks are accepted from the media server only")
        return None

    async def form(self, request: web.Request) -> dict[str, Any]:
        """The callback's form fields (nginx-rtmp posts the publish URL's query arguments too)."""
        if (request.content_length or 0) > MAX_FORM:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM, actual_size=request.content_length or 0)
        try:
            fields = dict(await request.post())
        except (ValueError, HttpProcessingError) as exc:  # undecodable, or multipart gone wrong
            raise web.HTTPBadRequest(text="the callback's body is not a form") from exc
        return {**dict(request.query), **{k: v for k, v in fields.items() if isinstance(v, str)}}

    async def answer(self, request: web.Request, live: bool) -> web.Response:
        """A publish starting (`live`) or ending: checked, answered, and announced on the stage."""
        refused = self.caller_refused(request)
        if refused is not None:
            return refused
        try:
            form = await self.form(request)
        except web.HTTPBadRequest as bad:
            return error(400, "bad_request", bad.text or "bad form")
        name = form.get("name")
        async with self.keys.stream_lock(name if isinstance(name, str) else ""):
            try:
                publisher = await self.keys.check(form.get("key"), name, live=live)
            except KeyRefused as why:
                if not live:  # a publish that was refused ends too: nothing was live
                    return web.json_response({"ok": True, "live": False})
                log.warning("a stream publish refused", extra={"stream": str(name)[:64], "reason": str(why),
                                                              "client": str(form.get("addr"))[:64]})  # fmt: skip
                return error(403, "forbidden", f"publish refused: {why}")
            await self._announce(publisher.key.name, live, publisher)
        return web.json_response({"ok": True})

    async def _announce(self, name: str, live: bool, publisher: Publisher) -> None:
        stage, user = publisher.stage, publisher.user
        payload = {"name": name, "live": live, "url": playback_url(self.settings, name), "performer": user.username}
        sender = {"session": f"user:{user.id}", "nickname": user.username, "role": resolve_role(stage, user.id)}
        await self.live.stream_changed(stage, payload, sender)


CALLBACK = web.AppKey("stream_callback", StreamCallback)


async def _publish(request: web.Request) -> web.Response:
    return await request.app[CALLBACK].answer(request, live=True)


async def _done(request: web.Request) -> web.Response:
    return await request.app[CALLBACK].answer(request, live=False)


def setup_stream_callbacks(app: web.Application, settings: Settings, keys: StreamKeys, live: LiveStages) -> None:
    """Add the callback routes; the stream keys are `app[STREAM_KEYS]` for the other APIs."""
    app[STREAM_KEYS] = keys
    app[CALLBACK] = StreamCallback(settings, keys, live)
    app[PAGE_POLICY_FOR] = lambda request: page_policy(media_origin(settings.playback_pattern, request.host))
    app.router.add_post("/api/streams/publish", _publish)
    app.router.add_post("/api/streams/done", _done)
