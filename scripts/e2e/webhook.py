#!/usr/bin/env python3
"""Alertmanager webhook receiver for scripts/test-ops-e2e.sh.

Binds 127.0.0.1 on a port the OS picks, writes that port to PORT_FILE, and appends every POSTed body
(one JSON document per line, re-serialized compactly, with the request path under `_path`) to OUT_FILE.
One receiver stands in for several integrations (webhook, Slack, PagerDuty), told apart by the path.
Answers 200 (PagerDuty's API answers 202 with a JSON body; Alertmanager accepts any 2xx).

    webhook.py PORT_FILE OUT_FILE
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, OUT_FILE = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 10 * 1024 * 1024))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {"unparsable": body.decode("utf-8", "replace")}
        if not isinstance(doc, dict):
            doc = {"body": doc}
        doc["_path"] = self.path
        line = json.dumps(doc, separators=(",", ":"))
        with LOCK, open(OUT_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: N802 - readiness probe
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
