"""meSpeak for the browser: its npm package is CommonJS only (`require("./ESpeak.js")`,
`module.exports`), and the client has no build step, so the hub wraps it into one classic
script, the speech engine's Web Worker (meSpeak, then `static/js/speech-worker.js`), plus the
config and voice JSON files the engine loads.

The wrapping is text only (each file inside a function that gives it its own `module`, and
`require` answering from the files already wrapped); no code is evaluated from a string, so no
'unsafe-eval'. A worker runs under its own script's policy (`WORKER_POLICY`: it may fetch the
hub's JSON, nothing else). The script (about 5 MB, 0.7 MB gzipped) is built once, at the first
request, and kept with its gzip in memory; a page loads it only when a voice is spoken.
"""

from __future__ import annotations

import asyncio
import gzip
from functools import cache
from pathlib import Path

from aiohttp import web

MESPEAK = "mespeak"
SCRIPT = "mespeak-worker.js"
WORKER_POLICY = "default-src 'none'; connect-src 'self'"

# meSpeak's voices (`voices/` in the package): the id an avatar's voice names -> file.
VOICES = [
    "ca", "cs", "de", "el", "en/en", "en/en-n", "en/en-rp", "en/en-sc", "en/en-us", "en/en-wm",
    "eo", "es", "es-la", "fi", "fr", "hu", "it", "kn", "la", "lv", "nl", "pl", "pt", "pt-pt",
    "ro", "sk", "sv", "tr", "zh", "zh-yue",
]  # fmt: skip


def vendor_files() -> dict[str, str]:
    """The `/vendor/` names of meSpeak's data: its config and one file per voice
    (`mespeak-voice-en-us.json` for `en/en-us`), mapped to their files under node_modules."""
    files = {"mespeak-config.json": f"{MESPEAK}/src/mespeak_config.json"}
    for voice in VOICES:
        files[f"mespeak-voice-{voice.rsplit('/', 1)[-1]}.json"] = f"{MESPEAK}/voices/{voice}.json"
    return files


def _wrap(name: str, source: str) -> str:
    return (
        f"modules[{name!r}] = (function () {{ var module = {{ exports: {{}} }};\n"
        f"{source}\n;return module.exports; }})();\n"
    )


@cache
def _bundle(node_modules: Path, handler: Path) -> tuple[bytes, bytes]:
    src = node_modules / MESPEAK / "src"
    engine = (src / "ESpeak.js").read_text(encoding="latin-1")  # Latin-1 letters in comments only
    index = (src / "index.js").read_text(encoding="utf-8")
    script = (
        "// meSpeak 2.0.2 (GPL), wrapped from its CommonJS files by the hub (hub/vendor_bundle.py)\n"
        "(function () {\nvar modules = {};\n"
        "function require(name) { return modules[name]; }\n"
        + _wrap("./ESpeak.js", engine)
        + _wrap("mespeak", index)
        + "self.meSpeak = modules['mespeak'];\n})();\n"
        + handler.read_text(encoding="utf-8")
    ).encode()
    return script, gzip.compress(script, 6)


async def bundle_response(request: web.Request, node_modules: Path, handler: Path) -> web.Response:
    """The worker (wrapped meSpeak, then the `handler` script), gzipped when the browser takes it
    (it nearly always does). The first build (5 MB read and gzipped) runs off the event loop."""
    if not (node_modules / MESPEAK / "src" / "index.js").is_file():
        raise web.HTTPNotFound(text="meSpeak is missing; run `make install` for node_modules")
    plain, zipped = await asyncio.get_running_loop().run_in_executor(None, _bundle, node_modules, handler)
    headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    headers["Content-Security-Policy"] = WORKER_POLICY
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=zipped, content_type="text/javascript", charset="utf-8", headers=headers)
    return web.Response(body=plain, content_type="text/javascript", charset="utf-8", headers=headers)
