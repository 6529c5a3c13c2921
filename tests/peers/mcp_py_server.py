"""A tiny MCP server on the Python SDK (mcp==2.3.0) for the client tests.

usage: mcp_py_server.py PORT [stateless]
       mcp_py_server.py stdio

Over HTTP it binds 127.0.0.1:PORT itself (PORT 0: any free port) and, once listening, prints
`mcp-soak-test-port N` on stdout: the test learns the port from the server that holds it, so no
other process can take it in between and a connection can never reach someone else's server.
"""
import socket
import sys

from mcp.server.mcpserver import MCPServer

stdio = sys.argv[1] == "stdio"
port = 0 if stdio else int(sys.argv[1])
stateless = len(sys.argv) > 2 and sys.argv[2] == "stateless"

server = MCPServer("py-test-server", version="1.2.3")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@server.tool()
def fail(message: str = "boom") -> str:
    """Always raises."""
    raise ValueError(message)


if stdio:
    server.run("stdio")
    sys.exit(0)

import uvicorn  # noqa: E402 (after the stdio exit: only HTTP needs it)

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
# Listening before the port is told: connections wait in the backlog until uvicorn accepts them.
listener.listen(128)
print(f"mcp-soak-test-port {listener.getsockname()[1]}", flush=True)
app = server.streamable_http_app(stateless_http=stateless, json_response=stateless)
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])
