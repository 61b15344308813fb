"""Plain HTTP routes: login and refresh for players, health and metrics for operators."""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from storage import Store

from . import accounts
from .accounts import Accounts
from .auth import TokenIssuer
from .graphql import SERVICES
from .inbound import Refused
from .login_guard import Throttled
from .metrics import Metrics
from .stagelog import LogUnavailable, StageLog

routes = web.RouteTableDef()
STORE = web.AppKey("store", Store)
TOKENS = web.AppKey("tokens", TokenIssuer)
METRICS = web.AppKey("metrics", Metrics)
STAGE_LOG = web.AppKey("stage_log", StageLog)


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"ok": False, "error": body}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": {"code": "bad_request", "message": "expected a JSON object"}}',
            content_type="application/json",
        )
    return body


def _tokens_for(pair: accounts.TokenPair) -> dict[str, Any]:
    return {
        "ok": True,
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "user": pair.user.public(),
    }


REFUSAL_STATUS = {
    "unauthenticated": (401, "unauthorized"),
    "forbidden": (403, "forbidden"),
    "bad_request": (400, "bad_request"),
    "rate_limited": (429, "rate_limited"),
    "unavailable": (503, "unavailable"),
}


def _refused(
    exc: Refused, statuses: dict[str, tuple[int, str]] = REFUSAL_STATUS, field: str | None = None
) -> web.Response:
    """A refused account call: 429 and 503 say when to try again (`Retry-After`, seconds);
    `field` names the refused input, when there is one."""
    status, code = statuses.get(exc.code, (400, "bad_request"))
    response = error(status, code, exc.message, field)
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        response.headers["Retry-After"] = "1"
    return response


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    body = await _json_body(request)
    accounts, address = _accounts(request)
    try:
        pair = await accounts.log_in(body.get("username"), body.get("password"), address)
    except Refused as exc:
        return _refused(exc)
    return web.json_response(_tokens_for(pair))


@routes.post("/api/refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await _json_body(request)
    accounts, address = _accounts(request)
    try:
        pair = await accounts.refresh(body.get("refresh_token"), address)
    except Refused as exc:
        return _refused(exc)
    return web.json_response(_tokens_for(pair))


def _accounts(request: web.Request) -> tuple[Accounts, str]:
    """The hub's account rules and the caller's address key (for its throttles)."""
    services = request.app[SERVICES]
    return services.accounts, services.settings.addresses.of_request(request)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """503 when the database is unreachable (nothing can be accepted); `degraded` when the stage
    log is (publishes and new stages wait for it, the stages' sockets stay connected). `pid`
    tells apart the processes behind one address (HUB_WORKERS, a load balancer)."""
    pid = os.getpid()
    try:
        if not request.app[STORE].db.is_connected:
            raise ConnectionError("database is not connected")
        await request.app[STORE].db.fetch_val("SELECT 1")
    except Exception as exc:  # the database is what can fail here
        return web.json_response({"ok": False, "status": "down", "database": str(exc)[:200], "pid": pid}, status=503)
    try:
        await request.app[STAGE_LOG].ping()
    except LogUnavailable as exc:
        degraded = {"ok": True, "status": "degraded", "database": "ok", "stagelog": str(exc)[:200], "pid": pid}
        return web.json_response(degraded)
    return web.json_response({"ok": True, "status": "ok", "database": "ok", "stagelog": "ok", "pid": pid})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": Metrics.content_type})
