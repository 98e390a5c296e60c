"""The lab's web server: the page's files and a JSON API over one ``Lab``, on the standard library's ``http.server``.

The API (every answer is JSON; the page uses nothing else, and a script or notebook can call it too):

    GET  /api/state[?after=V]   the run as the page draws it (``Lab.frame``); with ``after``, waits up to
                                a second for a version newer than V (a long poll: the page asks again as
                                soon as it has drawn, and never gets the same frame twice while playing)
    GET  /api/presets           {name: what it shows}
    GET  /api/source?name=N     the source of function N of the code map (``sources.FUNCTIONS``)
    POST /api/step    {"what": "d" | "g" | "iteration", "count": n}       n in [1, 10000]
    POST /api/config  {setting: value, …}   (``settings.FIELDS``)         answers {"rebuilt": bool, "state": …}
    POST /api/reset   {"seed": s}  (optional)
    POST /api/preset  {"name": "balanced" | "strong-d" | "wgan-gp"}        its settings, and a reset
    POST /api/play    {"speed": "normal" | "slow"}  (optional)
    POST /api/pause   {}

A request the lab cannot take — malformed JSON, an unknown field, a value out of range — is answered
with HTTP 400 and {"error": one line naming the field and what it accepts}; a step on a run that diverged
with 409 and "diverged at step N"; the server itself goes on. Only the files in ``static/`` are served,
by name, from a table made at start-up (no path from a request ever reaches the file system).
"""

import contextlib
import json
import os
import sys
import threading
import traceback
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import settings as lab_settings
from . import sources
from .playground import LabError, RunDiverged

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
BODY_LIMIT = 1 << 20   # bytes: a drawing of the largest accepted size is about a tenth of this
DISCARD_LIMIT = 64 << 20  # bytes: a larger body is not read at all
POLL_TIMEOUT = 1.0     # seconds a long poll waits for a new frame


class RequestError(Exception):
    """A request refused: its HTTP status and one line."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def static_files():
    """URL path → (file, content type) for every file of ``static/``; ``/`` is index.html."""
    files = {}
    for name in sorted(os.listdir(STATIC)):
        kind = CONTENT_TYPES.get(os.path.splitext(name)[1])
        if kind is not None:
            files[f"/static/{name}"] = (os.path.join(STATIC, name), kind)
    files["/"] = files["/static/index.html"]
    return files


class LabServer(ThreadingHTTPServer):
    """A threading HTTP server around one ``Lab``: every request is a thread, the lab's lock orders them."""

    daemon_threads = True  # a long poll in flight must not keep Ctrl-C waiting

    def __init__(self, address, lab):
        self.lab = lab
        self.files = static_files()
        super().__init__(address, Handler)


@contextlib.contextmanager
def serving_in_background(lab, host="127.0.0.1", port=0):
    """A ``LabServer`` for ``lab`` answering from a daemon thread, for a test, a benchmark or a notebook:
    ``with serving_in_background(Lab()) as server: … server.url …``. Port 0 takes a free one. On leaving the
    block, play is paused and the server stopped and closed."""
    server = LabServer((host, port), lab)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.url = f"http://{server.server_address[0]}:{server.server_address[1]}"
    try:
        yield server
    finally:
        lab.pause()
        server.shutdown()
        server.server_close()


def _fields(body, allowed, where):
    """``body`` (a dict) with only the fields ``allowed``; one line naming the first other one."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) if allowed else "no field"
        raise RequestError(HTTPStatus.BAD_REQUEST, f"{unknown[0]}: unknown field of {where}; expected {expected}")
    return body


class Handler(BaseHTTPRequestHandler):
    server_version = "minigan-lab"

    # ----- dispatch ---------------------------------------------------------------------------------
    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def _answer(self, route):
        try:
            status, payload = route()
            if not isinstance(payload, tuple):  # encoded here, so that a value JSON cannot hold is a 500, not a dropped connection
                payload = (json.dumps(payload, allow_nan=False).encode(), "application/json")
        except RequestError as error:
            status, payload = error.status, {"error": str(error)}
        except RunDiverged as error:
            status, payload = HTTPStatus.CONFLICT, {"error": str(error)}
        except (LabError, lab_settings.SettingError) as error:
            status, payload = HTTPStatus.BAD_REQUEST, {"error": str(error)}
        except Exception as error:  # the server never dies from a request: say what broke, keep serving
            traceback.print_exc(file=sys.stderr)
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {type(error).__name__}: {error}"}
        if not isinstance(payload, tuple):  # an error's {"error": line}
            payload = (json.dumps(payload).encode(), "application/json")
        self._send(status, *payload)

    def _send(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the tab was closed or reloaded mid-poll: nobody to answer
            self.close_connection = True

    def log_message(self, format, *args):  # twenty polls a second would bury the terminal; errors still print
        pass

    # ----- GET ---------------------------------------------------------------------------------------
    def _get(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        lab = self.server.lab
        if url.path in self.server.files:
            path, kind = self.server.files[url.path]
            with open(path, "rb") as handle:
                return HTTPStatus.OK, (handle.read(), kind)
        if url.path == "/api/state":
            if "after" in query:
                after = query["after"][0]
                if not after.lstrip("-").isdigit():
                    raise RequestError(HTTPStatus.BAD_REQUEST, f"after: expected an integer version, got {after!r}")
                lab.wait_for_change(int(after), POLL_TIMEOUT)
            return HTTPStatus.OK, self._state()
        if url.path == "/api/presets":
            return HTTPStatus.OK, {name: text for name, (_, text) in lab_settings.PRESETS.items()}
        if url.path == "/api/source":
            try:
                return HTTPStatus.OK, sources.source(query.get("name", [""])[0])
            except KeyError as error:
                raise RequestError(HTTPStatus.BAD_REQUEST, error.args[0]) from None
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")

    def _state(self):
        lab = self.server.lab
        with lab.lock:
            return {**lab.frame(), "code": sources.code_map(lab.settings)}

    # ----- POST --------------------------------------------------------------------------------------
    def _body(self):
        """The request's JSON object (an empty body is {}), refused in one line if it is anything else."""
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length: expected a number of bytes, got {length!r}")
        if int(length) > BODY_LIMIT:
            self._discard(int(length))
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body: {length} bytes is more than the {BODY_LIMIT} accepted "
                                                       f"(a drawing may have at most 5000 points)")
        raw = self.rfile.read(int(length))
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body: expected a JSON object, got malformed JSON ({error})") from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body: expected a JSON object, got a JSON {type(body).__name__}")
        return body

    def _discard(self, length):
        """Read and drop a body too large to take, so that the client, still sending it, gets the answer
        (closing instead would break its pipe mid-send and it would never read the 400). Past DISCARD_LIMIT
        the connection is closed after the answer."""
        if length > DISCARD_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _post(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        lab = self.server.lab
        if path == "/api/step":
            _fields(body, ("what", "count"), "step")
            lab.step(body.get("what", "iteration"), body.get("count", 1))
        elif path == "/api/config":
            rebuilt = lab.configure(body)
            return HTTPStatus.OK, {"rebuilt": rebuilt, "state": self._state()}
        elif path == "/api/reset":
            _fields(body, ("seed",), "reset")
            try:
                lab.reset(seed=body.get("seed"))
            except (TypeError, ValueError) as error:
                raise RequestError(HTTPStatus.BAD_REQUEST, f"seed: {error}") from None
        elif path == "/api/preset":
            _fields(body, ("name",), "preset")
            with lab.lock:
                lab.pause()
                lab.reset(settings=lab_settings.preset(body.get("name")))
        elif path == "/api/play":
            _fields(body, ("speed",), "play")
            lab.play(body.get("speed", "normal"))
        elif path == "/api/pause":
            _fields(body, (), "pause")
            lab.pause()
        else:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such action: {path}")
        return HTTPStatus.OK, self._state()


def _refuse_constant(name):
    """JSON has no NaN or Infinity; Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not JSON")
