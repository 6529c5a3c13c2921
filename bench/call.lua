-- wrk script: POST the same JSON-RPC `tools/call` mcp-soak sends, with a unique id per call, and
-- check every reply (HTTP 200 and a JSON-RPC result that is not `isError: true`).
-- Environment: MCP_SESSION (Mcp-Session-Id, may be empty), MCP_PROTOCOL (MCP-Protocol-Version),
-- MCP_TOOL (default echo), MCP_ARGS (JSON arguments, default {"message":"hello"}).

local threads = {}
local counter = 1

function setup(thread)
   thread:set("id_base", #threads * 1000000000)
   table.insert(threads, thread)
end

function init(args)
   next_id = id_base
   ok = 0
   bad = 0
   tool = os.getenv("MCP_TOOL") or "echo"
   arguments = os.getenv("MCP_ARGS") or '{"message":"hello"}'
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json, text/event-stream"
   local session = os.getenv("MCP_SESSION") or ""
   if session ~= "" then
      wrk.headers["Mcp-Session-Id"] = session
   end
   wrk.headers["MCP-Protocol-Version"] = os.getenv("MCP_PROTOCOL") or "2025-11-25"
   prefix = '{"jsonrpc":"2.0","id":'
   suffix = ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. arguments .. '}}'
end

function request()
   next_id = next_id + 1
   return wrk.format("POST", nil, nil, prefix .. next_id .. suffix)
end

function response(status, headers, body)
   if status == 200 and body:find('"result"', 1, true) and not body:find('"isError":true', 1, true) then
      ok = ok + 1
   else
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local ok_total, bad_total = 0, 0
   for _, t in ipairs(threads) do
      ok_total = ok_total + t:get("ok")
      bad_total = bad_total + t:get("bad")
   end
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"connect_err":%d,"read_err":%d,' ..
      '"write_err":%d,"status_err":%d,"timeout_err":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, ok_total, bad_total, summary.errors.connect, summary.errors.read,
      summary.errors.write, summary.errors.status, summary.errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean))
end
