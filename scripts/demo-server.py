#!/usr/bin/env python3
"""The demo page's static server for `make dev`: serves the demo page (demo/) and the browser SDK
(wasm-sdk/js/) and nothing else, and only to a loopback Host (127.0.0.1, localhost, [::1]), so that a
web page rebinding its own name to 127.0.0.1 cannot read the repository (.dev.vars holds every secret).

usage: demo-server.py [--bind 127.0.0.1] [--port 8080]
"""

import argparse
import http.server
import os
import posixpath
import sys
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SERVED = ("/demo/", "/wasm-sdk/js/")
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


def loopback_host(host):
    """Whether a Host header names this machine: a loopback name or address, with any port."""
    if not host:
        return False
    host = host.strip().lower()
    if host.startswith("["):
        name = host[: host.find("]") + 1] if "]" in host else host
    else:
        name = host.split(":", 1)[0]
    return name in LOOPBACK


class DemoHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=ROOT, **kwargs)

    def refuse(self, status, message):
        body = (message + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def allowed(self):
        if not loopback_host(self.headers.get("Host")):
            self.refuse(403, "the demo server answers http://127.0.0.1 and http://localhost only")
            return False
        path = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        if path in ("/", "/demo"):
            self.send_response(302)
            self.send_header("Location", "/demo/index.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if not any((path + "/").startswith(prefix) for prefix in SERVED) or path.endswith("/") \
                or os.path.isdir(os.path.join(ROOT, path.lstrip("/"))):
            self.refuse(404, "not found: the demo server serves /demo/ and /wasm-sdk/js/ only")
            return False
        return True

    def do_GET(self):
        if self.allowed():
            super().do_GET()

    def do_HEAD(self):
        if self.allowed():
            super().do_HEAD()

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer((args.bind, args.port), DemoHandler)
    print(f"demo page on http://{args.bind}:{args.port}/demo/index.html", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
