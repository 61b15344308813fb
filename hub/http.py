"""Plain HTTP routes: login and refresh for players, health and metrics for operators."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import Store

from . import accounts
from .auth import TokenIssuer
from .metrics import Metrics

routes = web.RouteTableDef()
STORE = web.AppKey("store", Store)
TOKENS = web.AppKey("tokens", TokenIssuer)
METRICS = web.AppKey("metrics", Metrics)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


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


ACCOUNT_STATUS = {"unauthenticated": (401, "unauthorized"), "forbidden": (403, "forbidden")}


def _refused(exc: accounts.AccountError) -> web.Response:
    status, code = ACCOUNT_STATUS[exc.code]
    return error(status, code, exc.message)


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    body = await _json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error(400, "bad_request", "username and password are required")
    try:
        pair = await accounts.log_in(request.app[STORE], request.app[TOKENS], username, password)
    except accounts.AccountError as exc:
        return _refused(exc)
    return web.json_response(_tokens_for(pair))


@routes.post("/api/refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await _json_body(request)
    token = body.get("refresh_token")
    if not isinstance(token, str):
        return error(400, "bad_request", "refresh_token is required")
    try:
        pair = await accounts.refresh(request.app[STORE], request.app[TOKENS], token)
    except accounts.AccountError as exc:
        return _refused(exc)
    return web.json_response(_tokens_for(pair))


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    try:
        if not request.app[STORE].db.is_connected:
            raise ConnectionError("database is not connected")
        await request.app[STORE].db.fetch_val("SELECT 1")
    except Exception as exc:  # the database is what can fail here
        return web.json_response({"ok": False, "database": str(exc)[:200]}, status=503)
    return web.json_response({"ok": True, "database": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": Metrics.content_type})
