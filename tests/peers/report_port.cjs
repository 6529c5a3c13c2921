// Preloaded into a Node MCP server (`node --require report_port.cjs server.js`) started with
// PORT=0: once a server listens, prints `mcp-soak-test-port N` on stdout. The test learns the port
// from the process that holds it (no free-port race) and knows the server is ready.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once("listening", () => {
    const a = this.address();
    if (a && typeof a === "object") {
      process.stdout.write(`mcp-soak-test-port ${a.port}\n`);
    }
  });
  return listen.apply(this, args);
};
