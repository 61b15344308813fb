"""The management API: `POST /graphql` runs the schema in `schema.graphql` for the bearer of an
access token (or anonymously); `GET /graphql` serves the GraphiQL explorer from /vendor.

Queries are checked for size, depth and field count (`limits.py`) and for their cost, list sizes
counted (`cost.py`), before they run; anonymous requests share a few slots of work (`gate.py`),
so that a flood of them is answered 503 rather than slowing the live stages. Errors come back as
GraphQL errors whose `extensions.code` is one of `context.ERROR_CODES`.
"""

from __future__ import annotations

import inspect
import logging
import math
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError, GraphQLSchema, execute, parse, validate

from storage import DuplicateError, NotFoundError, StoreError

from ..accounts import bearer
from ..auth import AuthError
from ..inbound import Refused
from ..security_headers import EXPLORER_POLICY
from . import cost, limits
from .context import ERROR_CODES, Context, Services
from .gate import Gate
from .schema import build, default_resolver

log = logging.getLogger("hub.graphql")
SERVICES = web.AppKey("graphql_services", Services)
SCHEMA = web.AppKey("graphql_schema", GraphQLSchema)
SIZES = web.AppKey("graphql_sizes", cost.SizeCache)
ANONYMOUS = web.AppKey("graphql_anonymous_gate", Gate)
PASSWORDS = web.AppKey("graphql_password_gate", Gate)
EXPLORER = Path(__file__).with_name("graphiql.html")
MAX_BODY = 64 * 1024


def setup_graphql(app: web.Application, services: Services) -> None:
    settings = services.settings
    app[SERVICES], app[SCHEMA] = services, build()
    app[SIZES] = cost.SizeCache(services.store, app[SCHEMA])
    for lane in (ANONYMOUS, PASSWORDS):
        app[lane] = Gate(
            settings.graphql_anonymous_concurrency, settings.graphql_anonymous_queue,
            settings.graphql_anonymous_wait, settings.graphql_anonymous_per_address,
        )  # fmt: skip
    app.router.add_post("/graphql", graphql_post)
    app.router.add_get("/graphql", graphql_page)


async def graphql_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(EXPLORER, headers={"Cache-Control": "no-cache", "Content-Security-Policy": EXPLORER_POLICY})


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def reply(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


async def graphql_post(request: web.Request) -> web.Response:
    if (request.content_length or 0) > MAX_BODY:
        return reply(error_body("too_complex", f"The request is larger than {MAX_BODY} bytes."), 413)
    raw = await request.read()
    if len(raw) > MAX_BODY:
        return reply(error_body("too_complex", f"The request is larger than {MAX_BODY} bytes."), 413)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return reply(error_body("bad_request", "Send a JSON object with a query."), 400)
    services = request.app[SERVICES]
    try:
        user = await caller(services, request.headers.get("Authorization", ""))
    except AuthError as exc:
        return reply(error_body("unauthenticated", f"The access token is refused: {exc}."))
    address = services.settings.addresses.of_request(request)
    if user is None:
        return await anonymously(request, body, address)
    return reply(await run(request.app[SCHEMA], Context(services, user, address), body, request.app[SIZES]))


async def anonymously(request: web.Request, body: dict[str, Any], address: str) -> web.Response:
    """Run an anonymous request in one of the anonymous slots (`gate.py`); 503 when none is free
    soon enough, or its address already holds its share. Logging in and registering have slots
    of their own, so that a flood of anonymous queries does not keep people from logging in; a
    refresh or a logout (a token check) takes none: a logged-in page's session never waits."""
    services, kind = request.app[SERVICES], limits.account_operation(body.get("query"))
    if kind == "session":
        return reply(await run(request.app[SCHEMA], Context(services, None, address), body, request.app[SIZES]))
    gate = request.app[PASSWORDS if kind == "password" else ANONYMOUS]
    if not await gate.enter(address):
        log.info("anonymous graphql request turned away", extra={"address": address, "waiting": gate.waiting})
        busy = error_body("unavailable", "The hub is busy: try again in a moment, or log in.")
        return reply(busy, 503, {"Retry-After": str(max(1, math.ceil(gate.wait)))})
    try:
        return reply(await run(request.app[SCHEMA], Context(services, None, address), body, request.app[SIZES]))
    finally:
        gate.leave(address)


async def caller(services: Services, header: str) -> Any:
    """The active user a bearer access token names, None without a token; AuthError otherwise."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("use 'Authorization: Bearer <access token>'")
    return await bearer(services.store, services.tokens.verify(token.strip(), "access"))


async def run(schema: GraphQLSchema, context: Context, body: dict[str, Any], sizes: cost.SizeCache) -> dict[str, Any]:
    """Check, validate, cost and execute one GraphQL request; always a GraphQL response body."""
    query, variables, operation = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return error_body("bad_request", "The request has no query.")
    if variables is not None and not isinstance(variables, dict):
        return error_body("bad_request", "variables must be an object.")
    if len(query.encode()) > limits.MAX_QUERY_BYTES:
        return error_body("too_complex", f"The query is longer than {limits.MAX_QUERY_BYTES} bytes.")
    settings = context.services.settings
    try:
        document = parse(query, max_tokens=limits.MAX_TOKENS)
        limits.check(document, limits.Limits(settings.graphql_max_depth, settings.graphql_max_fields))
    except limits.TooComplex as exc:
        return error_body("too_complex", f"The query is too complex: {exc}.")
    except GraphQLError as exc:
        code = "too_complex" if "tokens" in exc.message else "bad_request"
        return {"errors": [_with_code(exc, code)]}
    problems = validate(schema, document)
    if problems:
        return {"errors": [_with_code(error, "bad_request") for error in problems]}
    operation_name = operation if isinstance(operation, str) else None
    try:
        known = await sizes.get()
    except Exception as exc:  # the store cannot count: it could not answer the query either
        log.warning("graphql list sizes unavailable", extra={"error": str(exc)[:200]})
        return error_body("unavailable", "The hub cannot take queries now; try again in a moment.")
    price, budget = cost.estimate(schema, document, operation_name, known), settings.graphql_max_cost
    if context.user is None and not cost.introspects_only(document, operation_name):
        budget = settings.graphql_anonymous_max_cost
    if price > budget:
        message = (
            f"The query is too complex: it would cost {price}, more than the limit of {budget}"
            " (see docs/management.md)."
        )
        extensions = {"code": "too_complex", "cost": price, "maxCost": budget}
        return {"errors": [{"message": message, "extensions": extensions}]}
    result = execute(
        schema, document, context_value=context, variable_values=variables,
        operation_name=operation_name, field_resolver=default_resolver,
    )  # fmt: skip
    if inspect.isawaitable(result):
        result = await result
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        reported: set[int] = set()
        response["errors"] = [formatted(error, reported) for error in result.errors]
    return response


def _with_code(error: GraphQLError, code: str) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    out["extensions"] = {**(out.get("extensions") or {}), "code": code}
    return out


STORE_CODES: tuple[tuple[type[Exception], str], ...] = (
    (Refused, ""),
    (DuplicateError, "conflict"),
    (NotFoundError, "not_found"),
    (StoreError, "bad_request"),
)


def formatted(error: GraphQLError, reported: set[int]) -> dict[str, Any]:
    """A resolver's error as the client sees it: our codes as given, the hub's refusals and store
    errors mapped to codes, anything unexpected logged (once per request: a failed batch fails
    every resolver that waited for it) and reported without its details."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        code = (error.extensions or {}).get("code")
        return dict(error.formatted) if code in ERROR_CODES else _with_code(error, "bad_request")
    for kind, code in STORE_CODES:
        if isinstance(original, kind):
            code = code or _refused_code(original)
            message = original.message if isinstance(original, Refused) else str(original)
            return {**_with_code(error, code), "message": message[:1].upper() + message[1:]}
    if id(original) not in reported:
        reported.add(id(original))
        log.error("resolver failed", exc_info=original)
    return {**_with_code(error, "unavailable"), "message": "The hub failed to handle this request."}


def _refused_code(refused: Exception) -> str:
    code = getattr(refused, "code", "")
    return code if code in ERROR_CODES else "bad_request"
