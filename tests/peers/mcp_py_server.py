"""A tiny MCP server on the Python SDK (mcp==2.3.0) for the client tests.

usage: mcp_py_server.py PORT [stateless]
       mcp_py_server.py stdio
"""
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

server.run(
    "streamable-http",
    host="127.0.0.1",
    port=port,
    stateless_http=stateless,
    json_response=stateless,
)
