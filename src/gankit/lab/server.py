"""The lab's web server: one page, its static files and the JSON API, on the loopback interface.

Starlette serves, uvicorn runs it. Every request must carry the session's random token
(``?token=``) and a Host header naming the bound address (a page on another site that
rebinds its DNS name to 127.0.0.1 sends its own name: refused), else 403. No CORS headers are
sent, every answer carries ``Content-Security-Policy: default-src 'self'``, bodies are small
JSON objects checked field by field (400 with one line naming the field; the run goes on), and
uvicorn bounds the connections served at once.

API (DESIGN.md): ``GET /api/state``; ``POST /api/control`` ``{"action", "set"}``; ``POST
/api/export`` ``{"out"}``; ``POST /api/data`` ``{"points": [[x, y], ...]}`` or ``{"npz_base64"}`` (the
user's own 1D/2D data, drawn or uploaded); ``GET /api/frame`` (the newest frame) and ``GET /api/frames`` (the
frames as server-sent events, which the page uses); ``POST /api/compare`` ``{"key", "values"}``
(runs side by side). ``?run=i`` picks a run beside the main one (0).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import ipaddress
import json
import secrets
import socket
import threading
from importlib import resources
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gankit.errors import GankitError
from gankit.lab.problems import check_sets
from gankit.lab.session import Busy, Session

STATIC = {"lab.js": "text/javascript", "draw.js": "text/javascript", "lab.css": "text/css", "favicon.svg": "image/svg+xml"}
MAX_BODY = 64 * 1024  # bytes; a control body is a few hundred
MAX_DATA_BODY = 4 * 1024 * 1024  # bytes; drawn or uploaded points (20,000 2D points as JSON or .npz)
CONCURRENCY = 64  # connections served at once (uvicorn answers 503 past it)
MAX_BESIDE = 2  # runs beside the main one
HEADERS = {"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers a request may carry: the bound address (and localhost for a loopback one)."""
    name = f"[{host}]" if ":" in host else host
    hosts = {f"{name}:{port}"}
    if is_loopback(host):
        hosts |= {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    return hosts


class Guard:
    """ASGI middleware: 403 without the token or with a foreign Host; the security headers on every answer."""

    def __init__(self, app, token: str, hosts: Callable[[], set[str]]):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        query = dict(p.partition("=")[::2] for p in scope.get("query_string", b"").decode("latin-1").split("&"))
        reason = None
        if host not in self.hosts():
            reason = "forbidden: the Host header does not name this server"
        elif not hmac.compare_digest(query.get("token", "").encode(), self.token.encode()):
            reason = "forbidden: a valid token is required (the URL gankit lab printed)"
        if reason:
            return await _plain(403, reason)(scope, receive, send)

        async def secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *[(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]]}
            await send(message)

        await self.app(scope, receive, secured)


def _plain(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


async def _body(request: Request, fields: tuple[str, ...] = (), limit: int = MAX_BODY) -> dict:
    """The request's JSON object; with ``fields``, one naming any other key (400)."""
    raw = b""
    async for chunk in request.stream():  # stop reading at the limit, not after the whole upload
        raw += chunk
        if len(raw) > limit:
            raise GankitError(f"body: larger than {limit} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GankitError("body: not valid JSON") from None
    if not isinstance(body, dict):
        raise GankitError("body: expected a JSON object")
    unknown = sorted(set(body) - set(fields)) if fields else []
    if unknown:
        raise GankitError(f"{unknown[0]}: unknown field (expected {' and/or '.join(fields)})")
    return body


class Runs:
    """The page's runs: the main one, and up to two more beside it that differ from it in one setting.

    The runs beside it start from the main run's problem and settings with ``key`` changed, on
    the same seed, and step together with it (no run steps ahead of the slowest playing one).
    """

    def __init__(self, main: Session):
        self.items, self.key = [main], None
        self._lock = threading.Lock()  # one comparison set up at a time

    def get(self, request: Request) -> Session:
        text = request.query_params.get("run", "0")
        if not text.isdigit() or int(text) >= len(self.items):
            raise GankitError(f"run: expected 0 to {len(self.items) - 1}, got {text[:20]!r}")
        return self.items[int(text)]

    def compare(self, key: Any, values: Any) -> dict:
        """Runs beside the main one with ``key`` set to each of ``values`` (none: back to one run)."""
        if not isinstance(values, list) or len(values) > MAX_BESIDE:
            raise GankitError(f"values: expected a list of at most {MAX_BESIDE} values")
        if values:
            if not isinstance(key, str) or key == "problem":
                raise GankitError("key: expected a dotted setting such as train.g_cost")
            for value in values:
                check_sets({key: value})
        with self._lock:
            return self._compare(key, values)

    def _compare(self, key: str, values: list) -> dict:
        main = self.items[0]
        beside = [Session(main.problem, {**main.overrides, key: v}) for v in values]  # may raise: nothing changed
        for old in self.items[1:]:
            old.close()
        if beside:
            main.control("reset")  # all from step 0, on the same seed
        self.items, self.key = [main, *beside], key if values else None
        for run in self.items:
            run.peers = self.items if beside else []
        return {"runs": len(self.items), "key": self.key, "values": values}

    def close(self) -> None:
        for run in self.items:
            run.close()


def _bad_input_is_400(handler):
    """An API handler whose bad input (a GankitError, naming what and where) is answered 400 with that line."""
    @functools.wraps(handler)
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except GankitError as exc:
            return _plain(400, str(exc))

    return answer


def create_app(session: Session | Runs, token: str, hosts: Callable[[], set[str]],
               stopping: Callable[[], bool] = lambda: False) -> Guard:
    """The ASGI app serving the runs: the page, its files and the API, behind ``Guard``."""
    runs = session if isinstance(session, Runs) else Runs(session)
    folder = resources.files("gankit.lab").joinpath("static")
    page = folder.joinpath("index.html").read_text().replace("__TOKEN__", token)
    files = {name: folder.joinpath(name).read_text() for name in STATIC}  # read once, served from memory

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _plain(404, f"no file {name!r}")
        return Response(files[name], media_type=STATIC[name] + "; charset=utf-8")

    async def call(work) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(work))
        except GankitError as exc:
            return _plain(400, str(exc))
        except (Busy, TimeoutError) as exc:
            return _plain(503, str(exc) or "the training thread did not answer in time")

    async def state(request: Request) -> Response:
        run = runs.get(request)
        return JSONResponse({**run.state(), "runs": len(runs.items), "compare": runs.key})

    async def control(request: Request) -> Response:
        body = await _body(request, ("action", "set"))
        session = runs.get(request)
        return await call(lambda: session.control(body.get("action"), body.get("set")))

    async def compare(request: Request) -> Response:
        body = await _body(request, ("key", "values"))
        return await call(lambda: runs.compare(body.get("key"), body.get("values", [])))

    async def export(request: Request) -> Response:
        body = await _body(request)
        session = runs.get(request)
        return await call(lambda: session.export(body.get("out")))

    async def data(request: Request) -> Response:
        body = await _body(request, limit=MAX_DATA_BODY)
        unknown = sorted(set(body) - {"points", "npz_base64"})
        if unknown or len(body) != 1:
            raise GankitError(f"{unknown[0] if unknown else 'body'}: expected exactly one of points, npz_base64")
        npz = None
        if "npz_base64" in body:
            try:
                npz = base64.b64decode(body["npz_base64"], validate=True)
            except (TypeError, ValueError, binascii.Error):
                raise GankitError("npz_base64: not base64") from None
        return await call(lambda: runs.items[0].use_data(body.get("points"), npz))

    async def frame(request: Request) -> Response:
        _, data = runs.get(request).frame()
        return Response(data or b"null", media_type="application/json")

    async def frames(request: Request) -> Response:
        session = runs.get(request)

        async def stream():
            last = -1
            while not stopping() and session in runs.items:
                index, data = session.frame()
                if data is not None and index != last:
                    last = index
                    yield b"data: " + data + b"\n\n"
                await asyncio.sleep(0.02)

        return StreamingResponse(stream(), media_type="text/event-stream")

    api = {"state": state, "frame": frame, "frames": frames}
    posts = {"control": control, "export": export, "data": data, "compare": compare}
    routes = [Route("/", index), Route("/static/{name}", static),
              *(Route(f"/api/{name}", _bad_input_is_400(handler)) for name, handler in api.items()),
              *(Route(f"/api/{name}", _bad_input_is_400(handler), methods=["POST"]) for name, handler in posts.items())]
    return Guard(Starlette(routes=routes), token, hosts)


class LabServer:
    """The server of one session: ``url`` after ``bind``; ``serve`` runs until Ctrl-C (or ``stop``)."""

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0):
        self.session, self.host, self.port = session, host, port
        self.runs = Runs(session)
        self.token = secrets.token_urlsafe(24)
        self.sock: socket.socket | None = None
        self.server = None

    def bind(self) -> str:
        """Bind the socket (port 0: one the system picks) and return the page's URL with its token."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(2048)  # connections wait in the backlog until the server accepts: the URL works at once
        except OSError as exc:
            sock.close()
            raise GankitError(f"--host {self.host} --port {self.port}: cannot listen there ({exc.strerror})") from None
        self.sock, self.port = sock, sock.getsockname()[1]
        name = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{name}:{self.port}/?token={self.token}"

    def serve(self) -> None:
        import uvicorn

        hosts = allowed_hosts(self.host, self.port)
        app = create_app(self.runs, self.token, lambda: hosts, lambda: self.server.should_exit)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", limit_concurrency=CONCURRENCY,
                                timeout_graceful_shutdown=2, access_log=False)
        self.server = uvicorn.Server(config)
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.runs.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
