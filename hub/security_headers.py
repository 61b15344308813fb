"""Response headers that limit what a page of the hub can be made to do: its tokens live in
localStorage, so no script may run on it but the hub's own files.

Every response gets `X-Content-Type-Options: nosniff` and a `Referrer-Policy`; a response that
sets no Content-Security-Policy of its own (JSON, scripts, errors) gets one that allows nothing.
The pages get `PAGE_POLICY`, the GraphiQL explorer `EXPLORER_POLICY` (its stylesheet injects
styles and carries data: fonts), media files their own sandbox (hub/upload.py), the speech
engine's worker its own (hub/vendor_bundle.py).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web


# Stage images, covers and audio may come from other sites (a stage's media, a cover URL); they
# cannot run script, so any http(s) source is allowed for them and nothing else. Live streams
# (docs/streaming.md) play through hls.js: it fetches the media server's playlists and segments
# (`connect-src`, that origin only), feeds them to the video as a `blob:` MediaSource, and
# transmuxes in a worker loaded from /vendor/ (`worker-src 'self'`).
def page_policy(media_origin: str = "") -> str:
    """The pages' policy; `media_origin` is the live streams' server (nothing more when empty)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http:",
        "media-src 'self' https: http: blob:",
        f"connect-src 'self' {media_origin}".rstrip(),
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])  # fmt: skip


PAGE_POLICY = page_policy()
# The page policy for one request (the live streams' origin depends on the host the page used).
PAGE_POLICY_FOR = web.AppKey[Callable[[web.BaseRequest], str]]("page_policy_for")
EXPLORER_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])  # fmt: skip
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


async def add_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    for name, value in ALWAYS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", NOTHING_POLICY)


def setup_security_headers(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
