#!/usr/bin/env python3
"""A tiny OTLP/HTTP sink for the benchmarks: accepts POST /v1/traces (any body), answers 200 with an
empty protobuf ExportTraceServiceResponse, counts requests and bytes. Prints `PORT <n>` on stdout once
listening (port 0 = any free port); on SIGTERM/SIGINT writes `{"requests":…,"bytes":…}` to argv[2]."""
import http.server
import json
import signal
import sys
import threading

stats = {"requests": 0, "bytes": 0}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        with lock:
            stats["requests"] += 1
            stats["bytes"] += n
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    out = sys.argv[2] if len(sys.argv) > 2 else None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def stop(*_):
        if out:
            with open(out, "w") as f:
                json.dump(stats, f)
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("PORT", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
