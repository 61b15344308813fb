"""The browser client's routes: pages, static ES modules and the npm packages they import.

Pages are plain HTML files in `static/`; third-party browser code is served from `node_modules`
(installed by `make install`) through an allow-list, never from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import vendor_bundle
from .security_headers import PAGE_POLICY, PAGE_POLICY_FOR, setup_security_headers

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"

# URL name under /vendor/ -> file under node_modules.
VENDOR: dict[str, str] = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    **vendor_bundle.vendor_files(),  # meSpeak's config and voices; its script is vendor_bundle.SCRIPT
    "hls.light.min.mjs": "hls.js/dist/hls.light.min.mjs",
    "hls.worker.js": "hls.js/dist/hls.worker.js",
}

# Page URL -> HTML file in static/.
PAGES: dict[str, str] = {
    "/": "foyer.html",
    "/stage/{slug}": "stage.html",
    "/stage/{slug}/chat": "chat.html",
    "/replay/{slug}/{performance}": "replay.html",
    "/backstage": "backstage.html",
    "/studio": "studio.html",
    "/admin": "admin.html",
    "/signup": "signup.html",
    "/forgot": "forgot.html",
    "/reset": "reset.html",
    "/profile": "profile.html",
}

routes = web.RouteTableDef()


def page(filename: str, policy: str = PAGE_POLICY) -> web.FileResponse:
    """One HTML page, under the strict page policy; pages are small and change with releases, so
    they are not cached."""
    path = STATIC / filename
    if not path.is_file():
        raise web.HTTPNotFound(text=f"{filename} is missing from static/")
    return web.FileResponse(path, headers={"Cache-Control": "no-cache", "Content-Security-Policy": policy})


def add_page(app: web.Application, url: str, filename: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        policy = request.app.get(PAGE_POLICY_FOR)
        return page(filename, policy(request) if policy else PAGE_POLICY)

    app.router.add_get(url, handler)


@routes.get("/vendor/{name}")
async def vendor(request: web.Request) -> web.StreamResponse:
    if request.match_info["name"] == vendor_bundle.SCRIPT:
        return await vendor_bundle.bundle_response(request, NODE_MODULES, STATIC / "js" / "speech-worker.js")
    relative = VENDOR.get(request.match_info["name"])
    path = NODE_MODULES / relative if relative else None
    if path is None or not path.is_file():
        raise web.HTTPNotFound(text="unknown vendor file; run `make install` for node_modules")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico whatever the pages link: answer with the project's SVG icon."""
    headers = {"Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"}
    return web.FileResponse(STATIC / "favicon.svg", headers=headers)


def setup_web(app: web.Application) -> None:
    """Add the pages, `/static/` and `/vendor/` to the app, and the security headers to every
    response."""
    setup_security_headers(app)
    app.add_routes(routes)
    for url, filename in PAGES.items():
        add_page(app, url, filename)
    STATIC.mkdir(exist_ok=True)
    app.router.add_static("/static/", STATIC, append_version=False)
