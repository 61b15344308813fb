"""Stream keys (docs/streaming.md): the hub signs, for one performer and one stage, the secret
that lets a media server accept their stream, and checks it when the server asks.

A key has a public id and stream name and a secret `<id>.<expires>.<nonce>.<signature>`: the
signature is an HMAC with the hub's secret key over the key's id, stage, performer, name, expiry
and nonce. The store keeps only a SHA-256 of the nonce (for revocation and so that a database
dump rebuilds no secret), and the secret is shown once, when the key is made. One module for the
socket calls and GraphQL; rights are the caller's role on the stage (`hub/roles.py`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from storage import Stage, Store, StreamKey, User

from .config import Settings
from .inbound import Refused
from .ratelimit import KeyedBuckets
from .roles import EDITOR, OWNER, is_performer, resolve_role

log = logging.getLogger("hub.streams")
MAX_LABEL = 100
DROP_TIMEOUT = 3.0
MIN_TTL = 60
LISTED = 200  # keys a listing shows, newest first
KEPT_AFTER_EXPIRY = 86_400  # seconds an expired key's row is kept (its stream's end may come late)
CREATE_RATE, CREATE_BURST = 0.2, 10  # keys a performer may make on a stage, per second and at once
LOCKS = 64  # striped per stream name: one stream's start, end and revocation happen in turn
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECRET = re.compile(r"([0-9a-f]{16})\.([0-9]{1,12})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})")
KEY_ID = re.compile(r"[0-9a-f]{16}")


class KeyRefused(Exception):
    """Why a media server must not accept a publish (logged; the server is told only 403)."""


@dataclass(frozen=True)
class Publisher:
    """Who a checked key lets publish: the key, its stage and its performer."""

    key: StreamKey
    stage: Stage
    user: User


def playback_url(settings: Settings, name: str) -> str:
    """The stream's playback URL; `{host}` stays for the browser to fill with the page's host."""
    return settings.playback_pattern.replace("{name}", name)


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class StreamKeys:
    """Making, listing, revoking and checking stream keys."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._signing = hashlib.sha256(b"upstage-stream-keys|" + settings.secret_key.encode()).digest()
        self._creating = asyncio.Lock()  # the per-performer count and the insert, as one step
        self._creates = KeyedBuckets(CREATE_RATE, CREATE_BURST)
        self._streams = [asyncio.Lock() for _ in range(LOCKS)]

    def stream_lock(self, name: str) -> asyncio.Lock:
        """The lock a stream's callbacks and its key's revocation take, so that they happen in
        the order they came: an end never overtakes its start, a revocation waits for an
        accepted start to be announced (so the media server has a publish to drop)."""
        return self._streams[int(hashlib.blake2b(name.encode(), digest_size=4).hexdigest(), 16) % LOCKS]

    def _sign(self, key_id: str, stage_id: int, user_id: int, name: str, expires: int, nonce: str) -> str:
        message = f"{key_id}|{stage_id}|{user_id}|{name}|{expires}|{nonce}".encode()
        digest = hmac.new(self._signing, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def ttl_of(self, value: Any) -> int:
        """A key's lifetime in seconds: the default when not given, else MIN_TTL..the maximum."""
        if value is None:
            return min(self.settings.stream_key_ttl, self.settings.stream_key_max_ttl)
        top = self.settings.stream_key_max_ttl
        if not isinstance(value, int) or isinstance(value, bool) or not MIN_TTL <= value <= top:
            raise Refused("bad_request", f"ttl must be a whole number of seconds from {MIN_TTL} to {top}")
        return value

    async def create(self, stage: Stage, user_id: int | None, label: Any = None, ttl: Any = None) -> dict[str, Any]:
        """A new key for `user_id` (a performer on `stage`): `{key, publishUrl, secret}`, the
        secret shown this once."""
        if user_id is None or not is_performer(resolve_role(stage, user_id)):
            raise Refused("forbidden", "only the stage's performers may make stream keys")
        if label is not None and (not isinstance(label, str) or len(label.strip()) > MAX_LABEL):
            raise Refused("bad_request", f"label must be a string of at most {MAX_LABEL} characters")
        if label is not None and any(ord(c) < 32 for c in label):
            raise Refused("bad_request", "label must not contain control characters (NUL, line breaks...)")
        lifetime = self.ttl_of(ttl)
        if not self._creates.take(f"{stage.id}:{user_id}"):
            raise Refused("rate_limited", "stream keys are being made too fast: wait a little")
        key_id, nonce = secrets.token_hex(8), secrets.token_urlsafe(18)
        prefix = re.sub(r"[^a-z0-9-]+", "-", stage.slug.lower()).strip("-")[:40] or "stream"
        name = f"{prefix}-{secrets.token_hex(4)}"
        async with self._creating:
            now = int(time.time())
            await self.store.purge_stream_keys(now - KEPT_AFTER_EXPIRY)
            if await self.store.count_stream_keys(stage.id, user_id, now) >= self.settings.stream_keys_per_performer:
                limit = self.settings.stream_keys_per_performer
                raise Refused("rate_limited", f"you hold {limit} usable stream keys on this stage: revoke one first")
            expires = now + lifetime
            key = StreamKey(key_id, stage.id, user_id, name, (label or "").strip(), _nonce_hash(nonce), expires)
            key = await self.store.create_stream_key(key)
        secret = f"{key_id}.{expires}.{nonce}.{self._sign(key_id, stage.id, user_id, name, expires, nonce)}"
        server = self.settings.publish_base
        return {"key": self.describe(key), "publishUrl": f"{server}/{name}?key={secret}", "server": server,
                "streamKey": f"{name}?key={secret}", "secret": secret}  # fmt: skip

    def describe(self, key: StreamKey) -> dict[str, Any]:
        """A key as its holders see it (never the secret), with its playback URL."""
        return {**key.public(), "url": playback_url(self.settings, key.name)}

    async def listed(self, stage: Stage, user_id: int | None, admin: bool = False) -> list[dict[str, Any]]:
        """The caller's keys on the stage (the newest LISTED); the owner, editors (and admins)
        see everyone's."""
        role = resolve_role(stage, user_id)
        if role in (OWNER, EDITOR) or admin:
            keys = await self.store.stream_keys(stage.id, limit=LISTED)
        elif is_performer(role) and user_id is not None:
            keys = await self.store.stream_keys(stage.id, user_id, limit=LISTED)
        else:
            raise Refused("forbidden", "only the stage's performers have stream keys")
        return [self.describe(key) for key in keys]

    async def revoke(self, stage: Stage, user_id: int | None, key_id: Any, admin: bool = False) -> dict[str, Any]:
        """Revoke a key: its holder may, and the stage's owner, editors and admins."""
        if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
            raise Refused("bad_request", "id must be a stream key's id")
        key = await self.store.get_stream_key(key_id)
        role = resolve_role(stage, user_id)
        if key is None or key.stage_id != stage.id or not (is_performer(role) or admin):
            raise Refused("not_found", f"no stream key {key_id!r} on this stage")
        if key.user_id != user_id and role not in (OWNER, EDITOR) and not admin:
            raise Refused("forbidden", "only the key's performer and the stage's owner and editors may revoke it")
        async with self.stream_lock(key.name):
            await self.store.revoke_stream_key(key.id)
            await self.cut(key.name)
        return self.describe(await self._reread(key.id))

    async def cut(self, name: str) -> None:
        """Ask the media server to drop a running publish of `name` (nginx-rtmp's control API);
        its end reaches the stage through the `done` callback. A failure is logged: the key is
        revoked all the same, and the next publish with it is refused."""
        control = self.settings.stream_control
        if control is None:
            return
        query = {"app": "live", "name": name}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DROP_TIMEOUT)) as http,
                http.get(f"{control}/drop/publisher", params=query) as response,
            ):
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            status, why = 0, repr(exc)[:200]
        else:
            why = f"HTTP {status}"
        if not 200 <= status < 300:
            log.warning("the media server did not drop a revoked stream", extra={"stream": name, "why": why})

    async def _reread(self, key_id: str) -> StreamKey:
        key = await self.store.get_stream_key(key_id)
        assert key is not None
        return key

    async def check(self, secret: Any, name: Any, live: bool = True) -> Publisher:
        """The key that lets `name` be published with `secret`; KeyRefused saying why not.
        `live` False (the stream ended) skips expiry, revocation and the role: a stream that
        was accepted may always be said to have stopped."""
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise KeyRefused("the stream name is missing or malformed")
        match = SECRET.fullmatch(secret) if isinstance(secret, str) else None
        if match is None:
            raise KeyRefused("the key is missing or malformed")
        key_id, expires, nonce, signature = match.groups()
        key = await self.store.get_stream_key(key_id)
        if key is None:
            raise KeyRefused("no such key")
        expected = self._sign(key.id, key.stage_id, key.user_id, key.name, int(expires), nonce)
        if not hmac.compare_digest(expected, signature) or not hmac.compare_digest(_nonce_hash(nonce), key.nonce_hash):
            raise KeyRefused("the key's signature is wrong")
        if key.name != name:
            raise KeyRefused(f"the key is for stream {key.name!r}, not {name!r}")
        if live and key.revoked:
            raise KeyRefused("the key was revoked")
        if live and key.expires_at <= time.time():
            raise KeyRefused("the key expired")
        stage = await self.store.get_stage_by_id(key.stage_id)
        user = await self.store.get_user(key.user_id)
        if stage is None or user is None:
            raise KeyRefused("the key's stage or performer is gone")
        if live and (not user.active or not is_performer(resolve_role(stage, user.id))):
            raise KeyRefused("the key's performer is no longer a performer on its stage")
        return Publisher(key, stage, user)
