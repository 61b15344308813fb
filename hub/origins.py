"""One origin policy for browsers: which web pages may call `/api/*`, `/graphql` and Socket.IO.

`HUB_CORS_ORIGINS` is empty by default: only the hub's own pages (an `Origin` naming the host the
request was sent to) may call it; `*` allows any origin; otherwise a comma-separated list of
origins (`https://upstage.example, http://localhost:5173`) is allowed besides the hub's own.
Clients that are not browsers send no `Origin` and are not concerned. A refused origin gets 403
on HTTP and a refused handshake on Socket.IO; an allowed one gets proper preflight answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

GUARDED_PREFIXES = ("/api/", "/graphql")
ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE = "600"
DEFAULT_PORTS = {"http": 80, "https": 443}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def origin_of(text: str) -> tuple[str, str, int] | None:
    """`scheme://host[:port]` as (scheme, host, port), default ports filled in; None for anything
    else (`null`, a path, another scheme)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True)
class OriginPolicy:
    """Which `Origin`s may call the hub (see the module doc)."""

    any_origin: bool = False
    listed: frozenset[tuple[str, str, int]] = frozenset()

    @classmethod
    def parse(cls, text: str) -> OriginPolicy:
        """`HUB_CORS_ORIGINS` as a policy; raises ValueError naming an entry that is not an origin."""
        entries = [item.strip() for item in text.split(",") if item.strip()]
        listed = set()
        for entry in entries:
            if entry == "*":
                continue
            origin = origin_of(entry)
            if origin is None:
                raise ValueError(f"HUB_CORS_ORIGINS: {entry!r} is not an origin such as https://example.org")
            listed.add(origin)
        return cls("*" in entries, frozenset(listed))

    def allows(self, origin: str | None, host: str | None) -> bool:
        """Whether a page of `origin` may call the hub reached as `host` (the Host header)."""
        if origin is None:
            return False
        if self.any_origin:
            return True
        parsed = origin_of(origin)
        if parsed is None:
            return False
        return parsed in self.listed or _same_host(parsed, host)

    def allows_socket(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """The check python-engineio calls for every Socket.IO request that has an `Origin`."""
        return self.allows(origin, environ.get("HTTP_HOST"))


def _same_host(origin: tuple[str, str, int], host: str | None) -> bool:
    """Whether `origin` names the host the request was sent to, whatever the scheme (TLS usually
    ends at a proxy, so the hub cannot tell which scheme the page used)."""
    if not host:
        return False
    reached = origin_of(f"{origin[0]}://{host}")
    return reached is not None and reached[1:] == origin[1:]


def _guarded(path: str) -> bool:
    return path.startswith(GUARDED_PREFIXES[0]) or path == GUARDED_PREFIXES[1]


def _refusal(path: str, origin: str) -> web.Response:
    message = f"Pages of {origin[:100]} may not call this hub (HUB_CORS_ORIGINS)."
    if path == "/graphql":
        body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": "forbidden"}}]}
    else:
        body = {"ok": False, "error": {"code": "forbidden", "message": message}}
    return web.Response(body=orjson.dumps(body), status=403, content_type="application/json")


def setup_origins(app: web.Application, policy: OriginPolicy) -> None:
    """Refuse calls from pages of other origins, answer preflights, and add the CORS headers."""

    @web.middleware
    async def check_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not _guarded(request.path):
            return await handler(request)
        if not policy.allows(origin, request.host):
            return _refusal(request.path, origin)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers={
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            })  # fmt: skip
        return await handler(request)

    async def cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
        """Every response of a guarded path, errors included, varies by Origin; an allowed
        origin may read it."""
        if not _guarded(request.path):
            return
        response.headers.add("Vary", "Origin")
        origin = request.headers.get("Origin")
        if policy.allows(origin, request.host):
            response.headers["Access-Control-Allow-Origin"] = origin or ""
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS

    app.middlewares.append(check_origin)
    app.on_response_prepare.append(cors_headers)
