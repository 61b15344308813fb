"""Account self-service over plain HTTP, for the /signup, /forgot and /reset pages.

- `POST /api/signup {username, email, password}`: 202 whether or not the email was taken
  (hub/signup.py); 409 for a taken username; 403 while sign-up is closed.
- `POST /api/password/forgot {login}`: always 202 with the same body (hub/password_reset.py).
- `POST /api/password/reset {token, password}`: 200, or 400 saying why the link is refused.
Refusals are `{"ok": false, "error": {"code", "message", "field"?}}`; 429 has `Retry-After`.
"""

from __future__ import annotations

from aiohttp import web

from .graphql import SERVICES
from .http import REFUSAL_STATUS, _json_body, _refused
from .inbound import Refused

routes = web.RouteTableDef()
STATUS = {**REFUSAL_STATUS, "conflict": (409, "conflict")}

ASKED = {
    "ok": True,
    "message": "If that names an account with an email address, a link to choose a new password is on its way.",
}
SIGNED_UP = {
    "ok": True,
    "message": "Thank you: an admin will look at your sign-up. You will hear by mail when you can log in.",
}


def _answer(exc: Refused) -> web.Response:
    """A refusal as JSON naming the refused field; a taken username is 409."""
    field = getattr(exc, "field", None) or ("username" if exc.code == "conflict" else None)
    return _refused(exc, STATUS, field)


@routes.post("/api/signup")
async def signup(request: web.Request) -> web.Response:
    body = await _json_body(request)
    services = request.app[SERVICES]
    address = services.settings.addresses.of_request(request)
    try:
        await services.self_service.signups.sign_up(
            body.get("username"), body.get("email"), body.get("password"), address
        )
    except Refused as exc:
        return _answer(exc)
    return web.json_response(SIGNED_UP, status=202)


@routes.post("/api/password/forgot")
async def forgot(request: web.Request) -> web.Response:
    body = await _json_body(request)
    services = request.app[SERVICES]
    try:
        services.self_service.resets.ask(body.get("login"), services.settings.addresses.of_request(request))
    except Refused as exc:
        return _answer(exc)
    return web.json_response(ASKED, status=202)


@routes.post("/api/password/reset")
async def reset(request: web.Request) -> web.Response:
    body = await _json_body(request)
    services = request.app[SERVICES]
    address = services.settings.addresses.of_request(request)
    try:
        user = await services.self_service.resets.use(body.get("token"), body.get("password"), address)
    except Refused as exc:
        return _answer(exc)
    return web.json_response(
        {"ok": True, "username": user.username, "message": "Your password is set: log in with it."}
    )
