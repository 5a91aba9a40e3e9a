# fjord python3-http template: a small HTTP server (standard library only)
# that the watchdog forwards requests to. Runs on the host's Python 3.
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "python"))
sys.path.insert(0, _here)

from function import handler  # noqa: E402


class Event:
    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def encode_body(body):
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8")
    return str(body).encode("utf-8")


def header_items(headers):
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the watchdog log quiet
        pass

    def address_string(self):
        # A Unix socket's peer has no (host, port), only a name that is often empty.
        if isinstance(self.client_address, tuple) and self.client_address:
            return str(self.client_address[0])
        return "unix"

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def serve(self):
        with _calls:
            global _in_flight
            _in_flight += 1
        try:
            self.serve_call()
        finally:
            with _calls:
                _in_flight -= 1
                _calls.notify_all()
            if _stopping.is_set():
                self.close_connection = True

    def serve_call(self):
        body = self.read_body()
        parts = urlsplit(self.path)
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query).items()}
        event = Event(body, dict(self.headers.items()), self.command, query, parts.path)
        try:
            res = handler.handle(event, Context())
        except Exception:
            traceback.print_exc()
            self.reply(500, [("Content-Type", "text/plain")], b"internal error\n")
            return
        if res is None:
            self.reply(200, [], b"")
        elif isinstance(res, dict):
            status = int(res.get("statusCode", 200))
            headers = header_items(res.get("headers"))
            body = res.get("body")
            if isinstance(body, (dict, list)) and not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "application/json"))
            self.reply(status, headers, encode_body(body))
        else:
            self.reply(200, [], encode_body(res))

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve


# Calls in flight, so that SIGTERM lets them finish (idle keep-alive connections
# are daemon threads and do not hold the exit up).
_calls = threading.Condition()
_in_flight = 0
_stopping = threading.Event()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(Server):
    address_family = socket.AF_UNIX
    allow_reuse_address = False

    def server_bind(self):
        # HTTPServer.server_bind looks up a TCP (host, port); a Unix socket has neither.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", 0


class InheritedServer(Server):
    """Serves on a listening socket handed over by fjord's watchdog."""

    def __init__(self, fd, handler_class):
        super().__init__(None, handler_class, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(fileno=fd)
        self.socket.setblocking(True)
        self.address_family = self.socket.family
        self.server_name, self.server_port = "localhost", 0


def make_server():
    # fjord's watchdog hands over a listening socket as the file descriptor in
    # FJORD_SOCKET_FD, or passes a Unix socket in FJORD_SOCKET ("@name" is an
    # abstract one, named with a leading NUL byte), instead of a port.
    fd = os.getenv("FJORD_SOCKET_FD", "")
    if fd:
        return InheritedServer(int(fd), Handler)
    sock = os.getenv("FJORD_SOCKET", "")
    if sock:
        if sock.startswith("@"):
            sock = "\0" + sock[1:]
        return UnixServer(sock, Handler)
    port = int(os.getenv("PORT", "5000"))
    # Loopback only: the watchdog (or fjord's router) is the one caller.
    return Server(("127.0.0.1", port), Handler)


def main():
    server = make_server()

    def stop(signum, frame):
        _stopping.set()
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    with _calls:
        _calls.wait_for(lambda: _in_flight == 0, timeout=30)
    server.server_close()


if __name__ == "__main__":
    main()
