"""A deliberately broken stdio MCP server (stdlib only) for the stdio transport's fault tests.

usage: stdio_faulty.py MODE [N]
  crash N    answers the handshake and N tools/call, then prints to stderr and exits 3
  stall      answers the handshake, never answers tools/call
  no-read    answers the handshake, then stops reading stdin at the first tools/call
  stdout-log writes a log line to stdout before every reply (a common bug)
  ignore-eof keeps running after stdin closes, ignoring SIGTERM (needs SIGKILL)
Session era only: server/discover gets -32601, like servers written before 2026-07-28.
"""
import json
import signal
import sys
import time

mode = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
calls = 0


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


if mode == "ignore-eof":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

for line in sys.stdin:
    req = json.loads(line)
    if "id" not in req:
        continue
    rid, method = req["id"], req.get("method")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": req["params"]["protocolVersion"], "capabilities": {"tools": {}},
            "serverInfo": {"name": "faulty-" + mode, "version": "0"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [
            {"name": "echo", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]}})
    elif method == "tools/call":
        calls += 1
        if mode == "stall":
            continue
        if mode == "no-read":
            time.sleep(3600)
        if mode == "crash" and calls > limit:
            sys.stderr.write("faulty: crashing on purpose after %d calls\n" % limit)
            sys.stderr.flush()
            sys.exit(3)
        if mode == "stdout-log":
            sys.stdout.write("handling tools/call %s\n" % rid)
        send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": "ok"}]}})
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}})

if mode == "ignore-eof":
    while True:
        time.sleep(1)
