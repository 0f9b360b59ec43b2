"""A fake WeChat API server on 127.0.0.1 with scripted answers, for the backend tests.

    server = FakeWeChat().start()
    server.script("/sns/jscode2session", {"errcode": 40029, "errmsg": "invalid code"})
    server.script("/sns/jscode2session", {"openid": "o1", "session_key": "k"}, delay=2.0)

Scripted answers are used once each, in order; when none is left the path's default answers.
Every request is recorded (path, query, JSON body).
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULTS = {
    "/sns/jscode2session": {"openid": "openid-1", "session_key": "SESSION-KEY-SECRET", "unionid": "u1"},
    "/cgi-bin/stable_token": {"access_token": "ACCESS-TOKEN-1", "expires_in": 7200},
    "/wxa/media_check_async": {"errcode": 0, "errmsg": "ok", "trace_id": "trace-1"},
}


class FakeWeChat:
    def __init__(self):
        self.requests = []
        self._scripts = {}
        self._lock = threading.Lock()
        self._server = None

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._answer(self, None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake._answer(self, json.loads(raw) if raw else None)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def script(self, path, answer, delay=0.0, status=200):
        with self._lock:
            self._scripts.setdefault(path, []).append((answer, delay, status))

    def calls(self, path):
        return [r for r in self.requests if r["path"] == path]

    def _answer(self, handler, body):
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append({"path": parts.path, "query": query, "body": body})
            queue = self._scripts.get(parts.path)
            answer, delay, status = queue.pop(0) if queue else (DEFAULTS.get(parts.path, {"errcode": 404}), 0.0, 200)
        if delay:
            time.sleep(delay)
        data = json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


class SilentServer:
    """A WeChat stand-in that accepts connections and never answers; `stop` closes them."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self._connections.append(connection)
            self.accepted += 1

    def stop(self):
        self._listener.close()
        for connection in self._connections:
            connection.close()
