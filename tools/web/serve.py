"""The static server of the browser test (`make test-chromium`), the web demo (`make
demo-web`) and the browser benchmark (`benchmarks/bench_web.py --chromium`): on 127.0.0.1
only, a free port unless told, nothing but these folders.

    /pyodide/     Pyodide, from npm (WEB_CACHE/node_modules/pyodide, `make web-deps`)
    /wheels/      the pure wheels of tools/web/wheels.txt (micropip among them)
    /dist/        `make dist`: wasmimport's pure wheel, the sample wheels in /dist/samples/
    /big/         the 9 MiB module of tools/web/bigmodule.py (build/web/big)
    /test/        the test page, tools/web/page/
    /demo/        the demo page, examples/web/
    /bench/       the benchmark's page, tools/web/bench/ (opened by tools/web/bench_page.mjs)
    /benchmarks/  benchmarks/: the page fetches bench_web.py and guest/bench.wasm.toml
    /bench-web/   .cache/bench-web/: the bench.wasm bench_web.py builds
    /index.json   what a page installs: {"micropip": url, "wasmimport": url, "samples": {...}}

The first line printed is ``serving http://127.0.0.1:PORT/`` (the test script reads the port
from it); then it serves until killed (Ctrl-C).

    python tools/web/serve.py [--port N] [--cache WEB_CACHE] [--page /demo/] [--log]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import posixpath
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
         ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
         ".py": "text/plain; charset=utf-8", ".toml": "text/plain; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".css": "text/css"}


def mounts(cache: Path) -> dict[str, Path]:
    return {"pyodide": cache / "node_modules" / "pyodide", "wheels": cache / "wheels",
            "dist": ROOT / "dist", "big": ROOT / "build" / "web" / "big",
            "test": ROOT / "tools" / "web" / "page", "demo": ROOT / "examples" / "web",
            "bench": ROOT / "tools" / "web" / "bench", "benchmarks": ROOT / "benchmarks",
            "bench-web": ROOT / ".cache" / "bench-web"}


def index(folders: dict[str, Path]) -> dict[str, object]:
    """The wheels there are, as URLs: the pages install these."""
    def wheels(mount: str, sub: str = "") -> list[str]:
        folder = folders[mount] / sub
        names = sorted(p.name for p in folder.glob("*.whl")) if folder.is_dir() else []
        return [f"/{mount}/{sub + '/' if sub else ''}{name}" for name in names]
    pure = [url for url in wheels("dist") if url.endswith("-py3-none-any.whl")]
    return {"micropip": next((u for u in wheels("wheels") if "/micropip-" in u), None),
            "wasmimport": pure[0] if len(pure) == 1 else None,
            "samples": {url.rsplit("/", 1)[1].split("-", 1)[0]: url
                        for url in wheels("dist", "samples")}}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files of the mounts only; the right types for .wasm and .mjs; no caching."""

    folders: dict[str, Path] = {}
    log = False

    def translate_path(self, path: str) -> str:
        parts = [p for p in posixpath.normpath(urllib.parse.unquote(
            urllib.parse.urlsplit(path).path)).split("/") if p and p not in (".", "..")]
        if not parts or parts[0] not in self.folders:
            return ""                       # -> 404
        return str(self.folders[parts[0]].joinpath(*parts[1:]))

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return TYPES.get(os.path.splitext(str(path))[1], "application/octet-stream")

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/index.json":
            body = json.dumps(index(self.folders)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path in ("/", ""):
            self.send_response(302)
            self.send_header("Location", "/demo/")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        if self.log:
            sys.stderr.write(f"serve: {format % args}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--cache", default=os.environ.get("WEB_CACHE", ROOT / ".cache" / "web"),
                        type=Path, help="make web-deps' folder (default: $WEB_CACHE)")
    parser.add_argument("--page", default="", help="a path to print the URL of, too")
    parser.add_argument("--log", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    folders = mounts(args.cache.resolve())
    handler = type("Bound", (Handler,), {"folders": folders, "log": args.log})
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"serving {url}", flush=True)
        if args.page:
            print(f"open {url}{args.page.lstrip('/')} in a browser (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
