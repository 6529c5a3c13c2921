#!/usr/bin/env python3
"""Writes the mcp-soak Grafana dashboards (grafana/dashboards/*.json) from one description.

    python3 grafana/generate-dashboards.py          # rewrite the JSON files
    python3 grafana/generate-dashboards.py --check  # exit 1 if the committed JSON is out of date

Edit the panels here, not in the JSON (or export from Grafana and port the change back). Conventions:
every panel uses the `datasource` template variable (provisioning does not resolve `__inputs`), rates
use `$__rate_interval`, quantiles aggregate `sum by (le, tool)` so several tester instances add up, and
every panel sets a unit. Only metric names from src/record/names.rs (scripts/test-ops.sh checks).
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dashboards")
RUNBOOK = "https://github.com/mcp-soak/mcp-soak/blob/main/docs/runbooks"

# Errors are every outcome except ok and dropped (dropped = the tester's saturation, shown apart).
ERR = 'outcome!~"ok|dropped"'
SENT = 'outcome!="dropped"'


class Layout:
    """Places panels left to right on a 24-column grid, wrapping to a new row."""

    def __init__(self):
        self.x, self.y, self.row_h, self.next_id = 0, 0, 0, 1

    def place(self, panel, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        panel["id"] = self.next_id
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        return panel

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        p = {"type": "row", "title": title, "collapsed": False, "panels": []}
        self.place(p, 24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0
        return p


def target(expr, legend="__auto", ref="A", instant=False, fmt="time_series"):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref,
         "range": not instant, "instant": instant, "format": fmt}
    return t


def refs(*targets):
    out = []
    for i, t in enumerate(targets):
        t = dict(t)
        t["refId"] = chr(ord("A") + i)
        out.append(t)
    return out


def dashed(regex, color=None):
    """Field override: series whose name matches `regex` are drawn as dashed threshold lines."""
    props = [
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        {"id": "custom.fillOpacity", "value": 0},
        {"id": "custom.lineWidth", "value": 2},
        {"id": "custom.stacking", "value": {"mode": "none", "group": "A"}},
    ]
    if color:
        props.append({"id": "color", "value": {"mode": "fixed", "fixedColor": color}})
    return {"matcher": {"id": "byRegexp", "options": regex}, "properties": props}


def timeseries(title, desc, unit, targets, overrides=(), stack=False, minimum=None, links=()):
    custom = {
        "drawStyle": "line", "lineWidth": 1, "fillOpacity": 25 if stack else 10, "showPoints": "never",
        "spanNulls": False, "axisPlacement": "auto",
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    defaults = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if minimum is not None:
        defaults["min"] = minimum
    return {
        "type": "timeseries", "title": title, "description": desc, "datasource": DS,
        "targets": refs(*targets),
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "links": list(links),
    }


def stat(title, desc, unit, targets, mappings=(), thresholds=None, text_mode="auto", color_mode="value"):
    th = thresholds or {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
    return {
        "type": "stat", "title": title, "description": desc, "datasource": DS,
        "targets": refs(*targets),
        "fieldConfig": {"defaults": {"unit": unit, "mappings": list(mappings), "thresholds": th,
                                     "color": {"mode": "thresholds"}}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": color_mode, "graphMode": "none", "textMode": text_mode,
                    "justifyMode": "auto", "orientation": "auto"},
    }


def table(title, desc, targets, exclude=(), rename=None):
    return {
        "type": "table", "title": title, "description": desc, "datasource": DS,
        "targets": refs(*targets),
        "fieldConfig": {"defaults": {"unit": "none", "custom": {"align": "auto"}}, "overrides": []},
        "options": {"showHeader": True, "footer": {"show": False}},
        "transformations": [
            {"id": "organize", "options": {
                "excludeByName": {k: True for k in ("Time", "__name__", "Value", *exclude)},
                "renameByName": rename or {}}},
        ],
    }


def var_datasource():
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {"selected": False, "text": "Prometheus", "value": "prometheus"},
            "hide": 0, "refresh": 1, "regex": "", "options": []}


def var_tool(multi):
    v = {"name": "tool", "label": "Tool", "type": "query", "datasource": DS,
         "definition": "label_values(mcp_soak_calls_total, tool)",
         "query": {"query": "label_values(mcp_soak_calls_total, tool)", "refId": "tool"},
         "refresh": 2, "sort": 1, "hide": 0, "regex": "", "options": [],
         "multi": multi, "includeAll": multi}
    if multi:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        v["current"] = {}
    return v


def dashboard(uid, title, desc, panels, variables, links=()):
    return {
        "uid": uid, "title": title, "description": desc, "tags": ["mcp-soak", "mcp"],
        "timezone": "", "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "refresh": "10s", "time": {"from": "now-1h", "to": "now"},
        "timepicker": {"refresh_intervals": ["5s", "10s", "30s", "1m", "5m"]},
        "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "links": list(links),
        "templating": {"list": variables},
        "panels": panels,
    }


# ---------------------------------------------------------------------------------------------------
# Panels shared by both dashboards (`sel` is the tool matcher: =~"$tool" or ="$tool").

def latency_panel(sel, title="Latency p50 / p95 / p99 vs SLO"):
    b = f'mcp_soak_call_latency_seconds_bucket{{tool{sel}}}[$__rate_interval]'
    return timeseries(
        title,
        "From the intended send time (includes any queueing and generator lag: coordinated-omission free). "
        "Dashed: the tool's p95 SLO (mcp_soak_slo_latency_p95_seconds).",
        "s",
        [target(f"histogram_quantile(0.50, sum by (le, tool) (rate({b})))", "p50 {{tool}}"),
         target(f"histogram_quantile(0.95, sum by (le, tool) (rate({b})))", "p95 {{tool}}"),
         target(f"histogram_quantile(0.99, sum by (le, tool) (rate({b})))", "p99 {{tool}}"),
         target(f'max by (tool) (mcp_soak_slo_latency_p95_seconds{{tool{sel}}})', "SLO p95 {{tool}}")],
        overrides=[dashed("^SLO.*", "red")], minimum=0,
        links=[{"title": "Runbook: latency", "url": f"{RUNBOOK}/McpSoakLatencyP95High.md"}])


def service_panel(sel):
    return timeseries(
        "p95: latency vs service time",
        "Latency counts from the intended send time, service time from the actual send. A gap between "
        "them is time the call waited in the tester (schedule lag), not in the server.",
        "s",
        [target(f"histogram_quantile(0.95, sum by (le, tool) (rate(mcp_soak_call_latency_seconds_bucket{{tool{sel}}}[$__rate_interval])))",
                "latency p95 {{tool}}"),
         target(f"histogram_quantile(0.95, sum by (le, tool) (rate(mcp_soak_call_service_seconds_bucket{{tool{sel}}}[$__rate_interval])))",
                "service p95 {{tool}}")],
        minimum=0)


def error_ratio_panel(sel):
    return timeseries(
        "Error ratio vs budget",
        "Errors = every outcome except ok and dropped, over the calls that reached the server. "
        "Dashed: the tool's budget (mcp_soak_slo_max_error_ratio).",
        "percentunit",
        [target(f'sum by (tool) (rate(mcp_soak_calls_total{{tool{sel},{ERR}}}[$__rate_interval]))'
                f' / sum by (tool) (rate(mcp_soak_calls_total{{tool{sel},{SENT}}}[$__rate_interval]))',
                "errors {{tool}}"),
         target(f'max by (tool) (mcp_soak_slo_max_error_ratio{{tool{sel}}})', "budget {{tool}}")],
        overrides=[dashed("^budget.*", "red")], minimum=0,
        links=[{"title": "Runbook: error budget", "url": f"{RUNBOOK}/McpSoakErrorBudgetBurn.md"}])


def outcomes_panel(sel):
    return timeseries(
        "Outcomes by kind",
        "Calls/s by outcome (ok, tool_error, rpc_error, http_error, timeout, connect, protocol, "
        "session_expired, dropped), stacked.",
        "reqps",
        [target(f'sum by (outcome) (rate(mcp_soak_calls_total{{tool{sel}}}[$__rate_interval]))', "{{outcome}}")],
        overrides=[{"matcher": {"id": "byName", "options": "ok"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "green"}}]}],
        stack=True, minimum=0)


def http_rpc_panels(sel):
    return [
        timeseries("HTTP errors by status", "HTTP error replies/s by status (429 and 503 = server pushing back).",
                   "reqps",
                   [target(f'sum by (status) (rate(mcp_soak_http_errors_total{{tool{sel}}}[$__rate_interval]))',
                           "{{status}}")], stack=True, minimum=0),
        timeseries("JSON-RPC errors by code", "JSON-RPC error replies/s by code.", "reqps",
                   [target(f'sum by (code) (rate(mcp_soak_rpc_errors_total{{tool{sel}}}[$__rate_interval]))',
                           "{{code}}")], stack=True, minimum=0),
    ]


# ---------------------------------------------------------------------------------------------------

def overview():
    L = Layout()
    P = []
    sel = '=~"$tool"'
    P.append(L.row("Run"))
    P.append(L.place(stat(
        "Running", "mcp_soak_running: 1 while the run sends traffic.", "none",
        [target("max(mcp_soak_running)", "running", instant=True)],
        mappings=[{"type": "value", "options": {"0": {"text": "stopped", "color": "orange"},
                                                "1": {"text": "running", "color": "green"}}}],
        color_mode="background"), 3, 4))
    P.append(L.place(stat(
        "Stage", "Index of the current stage (0-based, mcp_soak_stage).", "none",
        [target("max(mcp_soak_stage)", "stage", instant=True)]), 3, 4))
    P.append(L.place(stat(
        "Target calls/s", "What the schedule asks for now, all tester instances.", "reqps",
        [target("sum(mcp_soak_target_calls_per_second)", "target", instant=True)]), 3, 4))
    P.append(L.place(stat(
        "Firing alerts", "McpSoak* alerts firing now (Prometheus ALERTS series).", "none",
        [target('count(ALERTS{alertstate="firing", alertname=~"McpSoak.*"}) or vector(0)', "firing", instant=True)],
        thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]},
        color_mode="background"), 3, 4))
    P.append(L.place(stat(
        "Version", "mcp-soak version (mcp_soak_build_info).", "none",
        [target("max by (version) (mcp_soak_build_info)", "{{version}}", instant=True)], text_mode="name"), 3, 4))
    P.append(L.place(table(
        "Run info", "Run id, target URL, negotiated protocol and transport (mcp_soak_run_info labels).",
        [target("max by (run_id, target, protocol, transport) (mcp_soak_run_info)", instant=True, fmt="table")]), 9, 4))

    P.append(L.row("Throughput"))
    P.append(L.place(timeseries(
        "Target vs achieved calls/s",
        "Target: what the schedule asks for. Achieved: calls completed per second (tester gauge). "
        "Successful: ok calls/s from the counters. Dashed: the overall SLO minimum (tool=_all).",
        "reqps",
        [target("sum(mcp_soak_target_calls_per_second)", "target"),
         target("sum(mcp_soak_achieved_calls_per_second)", "achieved"),
         target('sum(rate(mcp_soak_calls_total{outcome="ok"}[$__rate_interval]))', "successful"),
         target('max(mcp_soak_slo_min_calls_per_second{tool="_all"})', "SLO minimum")],
        overrides=[dashed("^SLO.*", "red")], minimum=0,
        links=[{"title": "Runbook: throughput", "url": f"{RUNBOOK}/McpSoakThroughputBelowTarget.md"}]), 12, 8))
    P.append(L.place(timeseries(
        "Successful calls/s per tool vs SLO",
        "ok calls/s per tool; dashed: the tool's SLO minimum (mcp_soak_slo_min_calls_per_second).",
        "reqps",
        [target(f'sum by (tool) (rate(mcp_soak_calls_total{{tool{sel},outcome="ok"}}[$__rate_interval]))', "{{tool}}"),
         target(f'max by (tool) (mcp_soak_slo_min_calls_per_second{{tool{sel}}})', "SLO {{tool}}")],
        overrides=[dashed("^SLO.*")], minimum=0), 12, 8))
    P.append(L.place({
        "type": "state-timeline", "title": "Stage",
        "description": "Which stage the schedule is in (mcp_soak_stage, 0-based).", "datasource": DS,
        "targets": refs(target("max(mcp_soak_stage)", "stage")),
        "fieldConfig": {"defaults": {"unit": "none", "color": {"mode": "continuous-GrYlRd"},
                                     "custom": {"fillOpacity": 70, "lineWidth": 0}}, "overrides": []},
        "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9,
                    "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"}},
    }, 24, 3))

    P.append(L.row("Latency"))
    P.append(L.place(latency_panel(sel), 12, 9))
    P.append(L.place(service_panel(sel), 12, 9))

    P.append(L.row("Errors"))
    P.append(L.place(error_ratio_panel(sel), 12, 8))
    P.append(L.place(outcomes_panel(sel), 12, 8))
    for p in http_rpc_panels(sel):
        P.append(L.place(p, 12, 7))

    P.append(L.row("Load generator"))
    P.append(L.place(timeseries(
        "In flight", "Calls sent and not yet answered (mcp_soak_in_flight), all tester instances.", "short",
        [target("sum(mcp_soak_in_flight)", "in flight")], minimum=0), 8, 7))
    P.append(L.place(timeseries(
        "Dropped slots/s",
        "Slots the scheduler could not start (in-flight cap): the TESTER is saturated, not the server.",
        "ops",
        [target("sum(rate(mcp_soak_dropped_slots_total[$__rate_interval]))", "dropped")], minimum=0,
        links=[{"title": "Runbook: generator saturated", "url": f"{RUNBOOK}/McpSoakGeneratorSaturated.md"}]), 8, 7))
    P.append(L.place(timeseries(
        "Schedule lag p50 / p99",
        "How late calls started against their intended time. Over 100 ms (p99) the generator is saturated.",
        "s",
        [target("histogram_quantile(0.50, sum by (le) (rate(mcp_soak_schedule_lag_seconds_bucket[$__rate_interval])))", "p50"),
         target("histogram_quantile(0.99, sum by (le) (rate(mcp_soak_schedule_lag_seconds_bucket[$__rate_interval])))", "p99")],
        minimum=0), 8, 7))

    P.append(L.row("Sessions"))
    P.append(L.place(timeseries(
        "Sessions active", "MCP sessions open now (mcp_soak_sessions_active).", "short",
        [target("sum(mcp_soak_sessions_active)", "active")], minimum=0), 12, 7))
    P.append(L.place(timeseries(
        "Sessions initialized / expired per second",
        "initialize handshakes/s, and sessions the server expired (404, re-initialized after).", "ops",
        [target("sum(rate(mcp_soak_sessions_initialized_total[$__rate_interval]))", "initialized"),
         target("sum(rate(mcp_soak_sessions_expired_total[$__rate_interval]))", "expired")], minimum=0), 12, 7))

    P.append(L.row("Alerts"))
    P.append(L.place(table(
        "Firing alerts", "Alerts firing now (ALERTS{alertstate=\"firing\"}); runbooks are in docs/runbooks/.",
        [target('ALERTS{alertstate="firing"}', instant=True, fmt="table")],
        exclude=("alertstate",)), 24, 6))

    return dashboard(
        "mcp-soak-overview", "mcp-soak: overview",
        "Soak test of an MCP server: throughput against target, latency and errors against the SLO "
        "gauges the tester exports, generator health, sessions and firing alerts.",
        P, [var_datasource(), var_tool(True)],
        links=[{"title": "Per tool", "type": "dashboards", "tags": ["mcp-soak"], "asDropdown": True,
                "includeVars": True, "keepTime": True}])


def per_tool():
    L = Layout()
    P = []
    sel = '="$tool"'
    P.append(L.row("$tool"))
    P.append(L.place(stat(
        "Successful calls/s", "ok calls/s of this tool now.", "reqps",
        [target('sum(rate(mcp_soak_calls_total{tool="$tool",outcome="ok"}[$__rate_interval]))', "ok", instant=True)]), 6, 4))
    P.append(L.place(stat(
        "p95 latency (5m)", "From the intended send time, last 5 minutes.", "s",
        [target('histogram_quantile(0.95, sum by (le) (rate(mcp_soak_call_latency_seconds_bucket{tool="$tool"}[5m])))',
                "p95", instant=True)]), 6, 4))
    P.append(L.place(stat(
        "Error ratio (5m)", "Errors over calls that reached the server, last 5 minutes.", "percentunit",
        [target(f'(sum(rate(mcp_soak_calls_total{{tool="$tool",{ERR}}}[5m])) or vector(0))'
                f' / sum(rate(mcp_soak_calls_total{{tool="$tool",{SENT}}}[5m]))', "errors", instant=True)]), 6, 4))
    slo = stat(
        "SLO", "This tool's SLO gauges (No data when it has none).", "none",
        [target('max(mcp_soak_slo_latency_p95_seconds{tool="$tool"})', "p95 ≤", instant=True),
         target('max(mcp_soak_slo_min_calls_per_second{tool="$tool"})', "calls/s ≥", instant=True),
         target('max(mcp_soak_slo_max_error_ratio{tool="$tool"})', "errors ≤", instant=True)],
        text_mode="value_and_name")
    slo["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byFrameRefID", "options": ref}, "properties": [{"id": "unit", "value": unit}]}
        for ref, unit in (("A", "s"), ("B", "reqps"), ("C", "percentunit"))]
    P.append(L.place(slo, 6, 4))
    P.append(L.place(timeseries(
        "Successful calls/s vs SLO", "ok calls/s; dashed: the SLO minimum.", "reqps",
        [target('sum(rate(mcp_soak_calls_total{tool="$tool",outcome="ok"}[$__rate_interval]))', "successful"),
         target('max(mcp_soak_slo_min_calls_per_second{tool="$tool"})', "SLO minimum")],
        overrides=[dashed("^SLO.*", "red")], minimum=0), 12, 8))
    P.append(L.place(outcomes_panel(sel), 12, 8))
    P.append(L.place(latency_panel(sel), 12, 9))
    P.append(L.place(service_panel(sel), 12, 9))
    P.append(L.place(error_ratio_panel(sel), 12, 8))
    P.append(L.place(timeseries(
        "Calls/s per latency bucket", "Cumulative calls/s at or under each bucket bound (le), from the intended send time.", "reqps",
        [target('sum by (le) (rate(mcp_soak_call_latency_seconds_bucket{tool="$tool"}[$__rate_interval]))', "≤ {{le}}")],
        minimum=0), 12, 8))
    for p in http_rpc_panels(sel):
        P.append(L.place(p, 12, 7))
    return dashboard(
        "mcp-soak-tool", "mcp-soak: per tool",
        "One MCP tool of a soak run: throughput, latency and errors against its own SLO.",
        P, [var_datasource(), var_tool(False)],
        links=[{"title": "Overview", "type": "link", "url": "/d/mcp-soak-overview?${__url_time_range}&${datasource:queryparam}",
                "icon": "dashboard"}])


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, dash in (("mcp-soak-overview.json", overview()), ("mcp-soak-tool.json", per_tool())):
        text = json.dumps(dash, indent=2, ensure_ascii=False) + "\n"
        path = os.path.join(OUT, name)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("out of date (run python3 grafana/generate-dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
