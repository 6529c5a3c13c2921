#!/usr/bin/env python3
"""Writes the mcp-soak Grafana dashboards (grafana/dashboards/*.json) from one description.

    python3 grafana/generate-dashboards.py          # rewrite the JSON files
    python3 grafana/generate-dashboards.py --check  # exit 1 if the committed JSON is out of date

Edit the panels here, not in the JSON (or export from Grafana and port the change back). Conventions:
every panel uses the `datasource` template variable (provisioning does not resolve `__inputs`), rates
use `$__rate_interval`, quantiles aggregate `sum by (le, run_id, tool)` so several tester instances add up, and
every panel sets a unit. Only metric names from src/record/names.rs (scripts/test-ops.sh checks).

Run identity: every query is scoped to the runs picked in the `run_id`, `test` and `instance` variables
(`scoped()` adds the matchers to every mcp_soak series, raw or recorded) and aggregates `by (run_id, ...)`,
so two runs are never averaged together on a panel. The SLO row reads the recorded series of
prometheus/rules/mcp-soak.yml (the same numbers the alerts judge).
"""
import json
import os
import re
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


# Matchers of the selected runs: raw series carry `instance`, recorded ones are summed over it.
RUN_SEL = 'run_id=~"$run_id",test=~"$test"'
INST_SEL = RUN_SEL + ',instance=~"$instance"'
SERIES = re.compile(r'(?<![A-Za-z0-9_:])((?:[a-z_]+:)?mcp_soak_[a-z0-9_]+(?::[a-z0-9_]+)?)(\{[^}]*\})?')


def scoped(expr):
    """`expr` with the selected runs' matchers on every mcp_soak series (raw or recorded)."""
    def add(m):
        name, labels = m.group(1), m.group(2)
        sel = RUN_SEL if (":" in name and not name.startswith("instance:")) else INST_SEL
        inner = labels[1:-1] if labels else ""
        return f"{name}{{{sel}{',' if inner else ''}{inner}}}"
    return SERIES.sub(add, expr)


def target(expr, legend="__auto", ref="A", instant=False, fmt="time_series"):
    expr = scoped(expr)
    if "run_id" in expr.split("{")[0] or re.search(r"by \([^)]*run_id", expr):
        if legend not in ("__auto", "") and "run_id" not in legend and fmt != "table":
            legend += " {{run_id}}"
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


def vs_slo(title, desc, unit, targets, slo_expr, slo_legend, runbook):
    """A time series of measurements with their objective drawn as a dashed red line."""
    return timeseries(title, desc, unit, [*targets, target(slo_expr, slo_legend)],
                      overrides=[dashed(f"^{slo_legend.split()[0]}.*", "red")], minimum=0,
                      links=[{"title": f"Runbook: {runbook}", "url": f"{RUNBOOK}/{runbook}.md"}])


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


def var_query(name, label, query, multi, all_value=".*"):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "definition": query, "query": {"query": query, "refId": name},
         "refresh": 2, "sort": 1, "hide": 0, "regex": "", "options": [],
         "multi": multi, "includeAll": multi}
    if multi:
        v["allValue"] = all_value
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        v["current"] = {}
    return v


def var_run():
    """The run identity: static label `test`, then `run_id` (shards of one run share it), then the tester
    `instance`. `All` matches series without the label too (`.*`)."""
    return [
        var_query("test", "Test", 'label_values(mcp_soak_running, test)', True),
        var_query("run_id", "Run", 'label_values(mcp_soak_running{test=~"$test"}, run_id)', True),
        var_query("instance", "Instance", 'label_values(mcp_soak_running{test=~"$test",run_id=~"$run_id"}, instance)', True),
    ]


def var_tool(multi):
    return var_query("tool", "Tool", 'label_values(mcp_soak_calls_total{run_id=~"$run_id"}, tool)', multi)


def annotation(name, color, expr, title, text, tags):
    return {"name": name, "datasource": DS, "enable": True, "hide": False, "iconColor": color,
            "expr": scoped(expr), "step": "15s", "titleFormat": title, "textFormat": text,
            "tagKeys": tags, "useValueForTime": False}


ANNOTATIONS = [
    annotation("Run start / stop", "green",
               "(changes(mcp_soak_running[1m]) > 0) or (mcp_soak_running unless mcp_soak_running offset 1m)",
               "run {{run_id}}: mcp_soak_running {{__value__}}", "instance {{instance}}", "run_id,instance"),
    annotation("Stage changes", "blue", "changes(mcp_soak_stage[1m]) > 0",
               "stage change", "run {{run_id}} instance {{instance}}", "run_id"),
    annotation("Runtime changes", "purple", "changes(mcp_soak_control_changes_total[1m]) > 0",
               "{{action}}", "run {{run_id}} instance {{instance}} (mcp-soak ctl or a SIGHUP reload)",
               "run_id,action"),
    {"name": "Firing alerts", "datasource": DS, "enable": True, "hide": False, "iconColor": "red",
     "expr": 'ALERTS{alertstate="firing",alertname=~"McpSoak.*",run_id=~"$run_id"}', "step": "60s",
     "titleFormat": "{{alertname}}", "textFormat": "{{severity}} {{tool}} run {{run_id}}",
     "tagKeys": "alertname,severity,tool", "useValueForTime": False},
]


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
            "type": "dashboard"}] + ANNOTATIONS},
        "links": list(links),
        "templating": {"list": variables},
        "panels": panels,
    }


# ---------------------------------------------------------------------------------------------------
# Panels shared by both dashboards (`sel` is the tool matcher: =~"$tool" or ="$tool").

def latency_panel(sel, title="Latency p50 / p95 / p99 vs SLO"):
    b = f'mcp_soak_call_latency_seconds_bucket{{tool{sel}}}[$__rate_interval]'
    return vs_slo(
        title,
        "From the intended send time (includes any queueing and generator lag: coordinated-omission free). "
        "Dashed: the tool's p95 SLO (mcp_soak_slo_latency_p95_seconds).",
        "s",
        [target(f"histogram_quantile({q}, sum by (le, run_id, tool) (rate({b})))", f"p{p} {{{{tool}}}} {{{{run_id}}}}")
         for q, p in (("0.50", "50"), ("0.95", "95"), ("0.99", "99"))],
        f'max by (run_id, tool) (mcp_soak_slo_latency_p95_seconds{{tool{sel}}})', "SLO p95 {{tool}} {{run_id}}",
        "McpSoakLatencyP95High")


def service_panel(sel):
    return timeseries(
        "p95: latency vs service time",
        "Latency counts from the intended send time, service time from the actual send. A gap between "
        "them is time the call waited in the tester (schedule lag), not in the server.",
        "s",
        [target(f"histogram_quantile(0.95, sum by (le, run_id, tool) (rate(mcp_soak_call_latency_seconds_bucket{{tool{sel}}}[$__rate_interval])))",
                "latency p95 {{tool}} {{run_id}}"),
         target(f"histogram_quantile(0.95, sum by (le, run_id, tool) (rate(mcp_soak_call_service_seconds_bucket{{tool{sel}}}[$__rate_interval])))",
                "service p95 {{tool}} {{run_id}}")],
        minimum=0)


def error_ratio_panel(sel):
    return vs_slo(
        "Error ratio vs budget",
        "Errors = every outcome except ok and dropped, over the calls that reached the server. "
        "Dashed: the tool's budget (mcp_soak_slo_max_error_ratio).",
        "percentunit",
        [target(f'sum by (run_id, tool) (rate(mcp_soak_calls_total{{tool{sel},{ERR}}}[$__rate_interval]))'
                f' / sum by (run_id, tool) (rate(mcp_soak_calls_total{{tool{sel},{SENT}}}[$__rate_interval]))',
                "errors {{tool}} {{run_id}}")],
        f'max by (run_id, tool) (mcp_soak_slo_max_error_ratio{{tool{sel}}})', "budget {{tool}} {{run_id}}",
        "McpSoakErrorBudgetBurn")


def outcomes_panel(sel):
    return timeseries(
        "Outcomes by kind",
        "Calls/s by outcome (ok, tool_error, rpc_error, http_error, timeout, connect, protocol, "
        "session_expired, dropped), stacked.",
        "reqps",
        [target(f'sum by (run_id, outcome) (rate(mcp_soak_calls_total{{tool{sel}}}[$__rate_interval]))', "{{outcome}} {{run_id}}")],
        overrides=[{"matcher": {"id": "byName", "options": "ok"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "green"}}]}],
        stack=True, minimum=0)


def http_rpc_panels(sel):
    return [
        timeseries("HTTP errors by status", "HTTP error replies/s by status (429 and 503 = server pushing back).",
                   "reqps",
                   [target(f'sum by (run_id, status) (rate(mcp_soak_http_errors_total{{tool{sel}}}[$__rate_interval]))',
                           "{{status}} {{run_id}}")], stack=True, minimum=0),
        timeseries("JSON-RPC errors by code", "JSON-RPC error replies/s by code.", "reqps",
                   [target(f'sum by (run_id, code) (rate(mcp_soak_rpc_errors_total{{tool{sel}}}[$__rate_interval]))',
                           "{{code}} {{run_id}}")], stack=True, minimum=0),
    ]


# ---------------------------------------------------------------------------------------------------
# The SLO view: run-wide (tool="_all") numbers from the recorded series against the SLO gauges.

def thresholds_line(steps):
    """Thresholds drawn as dashed lines on a time series: [(value, color), ...]."""
    return {"mode": "absolute", "steps": [{"color": "transparent", "value": None}] +
            [{"color": c, "value": v} for v, c in steps]}


def with_threshold_lines(panel, steps):
    d = panel["fieldConfig"]["defaults"]
    d["thresholds"] = thresholds_line(steps)
    d["custom"]["thresholdsStyle"] = {"mode": "dashed"}
    return panel


def by_run_tool(per_tool, per_run):
    """Per tool plus the whole run as tool="_all" (what the SLO gauges of an overall SLO carry)."""
    return f'({per_tool}) or label_replace({per_run}, "tool", "_all", "", "")'


def slo_table(title, desc, unit, objective, slo, now, now_series, range_expr, op, extra=()):
    """One row per (run, tool) with this SLO: the objective, the recorded value now, the value over the
    dashboard range, `extra` columns [(header, expr, unit)], and pass/fail over the range (`op` is how
    the measurement must compare with the objective), merged on run_id and tool."""
    on = "on (run_id, tool)"
    columns = [(objective, slo, unit),
               (now, f"max by (run_id, tool) ({now_series}) and {on} {slo}", unit),
               ("over range", f"({range_expr}) and {on} {slo}", unit),
               *extra,
               ("status", f"({range_expr}) {op} bool {on} {slo}", "none")]
    targets = [target(expr, instant=True, fmt="table") for _, expr, _ in columns]
    rename = {f"Value #{chr(ord('A') + i)}": h for i, (h, _, _) in enumerate(columns)}
    overrides = [{"matcher": {"id": "byName", "options": h}, "properties": [{"id": "unit", "value": u}]}
                 for h, _, u in columns]
    overrides.append({"matcher": {"id": "byName", "options": "status"}, "properties": [
        {"id": "mappings", "value": [{"type": "value", "options": {
            "1": {"text": "pass", "color": "green"}, "0": {"text": "FAIL", "color": "red"}}}]},
        {"id": "custom.cellOptions", "value": {"type": "color-background"}}]})
    return {
        "type": "table", "title": title, "description": desc, "datasource": DS,
        "targets": refs(*targets),
        "fieldConfig": {"defaults": {"unit": "none", "custom": {"align": "auto"}}, "overrides": overrides},
        "options": {"showHeader": True, "footer": {"show": False}},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": rename,
                                           "indexByName": {"run_id": 0, "tool": 1}}},
        ],
    }


def slo_panels():
    ALL = 'tool="_all"'
    lat = vs_slo(
        "Run-wide latency p95 / p99 vs SLO",
        "The whole run (tool=\"_all\", every shard summed) from the recorded series the alerts use: p95 and "
        "p99 over 5m, p95 over 30m. Dashed: the run's p95 SLO; the latency alerts fire above it.",
        "s",
        [target(f"tool:mcp_soak_call_latency_seconds:{q}{{{ALL}}}", legend)
         for q, legend in (("p95_5m", "p95 5m"), ("p99_5m", "p99 5m"), ("p95_30m", "p95 30m"))],
        f"max by (run_id) (mcp_soak_slo_latency_p95_seconds{{{ALL}}})", "SLO p95",
        "McpSoakLatencyP95HighSustained")
    err = vs_slo(
        "Run-wide error ratio vs budget",
        "Errors over the calls that reached the server, whole run, over 5m and 30m (the pair the "
        "McpSoakErrorBudgetBurn alert judges). Dashed: the run's error budget.",
        "percentunit",
        [target(f"tool:mcp_soak_errors:ratio_rate{w}{{{ALL}}}", f"errors {w}") for w in ("5m", "30m")],
        f"max by (run_id) (mcp_soak_slo_max_error_ratio{{{ALL}}})", "budget",
        "McpSoakErrorBudgetBurn")
    burn = with_threshold_lines(timeseries(
        "Error budget burn rate",
        "Error ratio divided by the budget, per tool with an error SLO: 1 spends the budget exactly over "
        "the window; dashed at 6 (slow-burn ticket, 6h and 30m) and 14.4 (fast-burn page, 1h and 5m).",
        "none",
        [target(f"tool:mcp_soak_errors:ratio_rate{w} / on (run_id, tool) group_left () "
                "max by (run_id, tool) (mcp_soak_slo_max_error_ratio)", f"{{{{tool}}}} {w}")
         for w in ("5m", "1h", "6h")], minimum=0,
        links=[{"title": "Runbook: fast burn", "url": f"{RUNBOOK}/McpSoakErrorBudgetBurnFast.md"}]),
        [(1, "yellow"), (6, "orange"), (14.4, "red")])

    def over_range(metric, sel):
        inc = f"increase({metric}{{{sel}}}[$__range])"
        return inc
    errs = f'outcome!~"ok|dropped"'
    sent = f'outcome!="dropped"'
    err_range = by_run_tool(
        f"sum by (run_id, tool) ({over_range('mcp_soak_calls_total', errs)}) / sum by (run_id, tool) ({over_range('mcp_soak_calls_total', sent)})",
        f"sum by (run_id) ({over_range('mcp_soak_calls_total', errs)}) / sum by (run_id) ({over_range('mcp_soak_calls_total', sent)})")
    err_slo = "max by (run_id, tool) (mcp_soak_slo_max_error_ratio)"
    err_table = slo_table(
        "SLO status: errors",
        "Per run and tool with an error SLO: the budget, the ratio now (5m), over the dashboard range, the "
        "share of the error budget used over the range (100 % = all of it), and pass/fail over the range.",
        "percentunit", "budget ≤", err_slo, "now (5m)", "tool:mcp_soak_errors:ratio_rate5m", err_range, "<=",
        extra=[("budget used", f"({err_range}) / on (run_id, tool) {err_slo}", "percentunit")])
    lat_range = by_run_tool(
        "histogram_quantile(0.95, sum by (le, run_id, tool) (increase(mcp_soak_call_latency_seconds_bucket[$__range])))",
        "histogram_quantile(0.95, sum by (le, run_id) (increase(mcp_soak_call_latency_seconds_bucket[$__range])))")
    lat_table = slo_table(
        "SLO status: latency p95",
        "Per run and tool with a latency SLO: the p95 objective, p95 now (5m) and over the dashboard range "
        "(from the intended send time), and pass/fail over the range.",
        "s", "p95 ≤", "max by (run_id, tool) (mcp_soak_slo_latency_p95_seconds)",
        "now (5m)", "tool:mcp_soak_call_latency_seconds:p95_5m", lat_range, "<=")
    ok = over_range("mcp_soak_calls_total", 'outcome="ok"')
    tps_range = by_run_tool(f"sum by (run_id, tool) ({ok}) / $__range_s", f"sum by (run_id) ({ok}) / $__range_s")
    tps_table = slo_table(
        "SLO status: throughput",
        "Per run and tool with a throughput SLO: the minimum successful calls/s, now (1m) and over the "
        "dashboard range, and pass/fail over the range (a range wider than the run counts idle time).",
        "reqps", "calls/s ≥", "max by (run_id, tool) (mcp_soak_slo_min_calls_per_second)",
        "now (1m)", "tool:mcp_soak_calls_ok:rate1m", tps_range, ">=")
    heat = {
        "type": "heatmap", "title": "Latency heatmap",
        "description": "Calls per latency bucket over time (from the intended send time), selected runs and tools.",
        "datasource": DS,
        "targets": refs(target('sum by (le) (increase(mcp_soak_call_latency_seconds_bucket{tool=~"$tool"}[$__rate_interval]))',
                               "{{le}}", fmt="heatmap")),
        "fieldConfig": {"defaults": {"unit": "s", "custom": {"scaleDistribution": {"type": "linear"}}}, "overrides": []},
        "options": {"calculate": False, "yAxis": {"unit": "s", "axisPlacement": "left"},
                    "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges", "exponent": 0.5, "steps": 64},
                    "rowsFrame": {"layout": "auto"}, "tooltip": {"show": True, "yHistogram": True},
                    "legend": {"show": True}, "filterValues": {"le": 1e-9}},
    }
    return lat, err, burn, err_table, lat_table, tps_table, heat


# ---------------------------------------------------------------------------------------------------

def overview():
    L = Layout()
    P = []
    sel = '=~"$tool"'
    P.append(L.row("Run"))
    P.append(L.place(stat(
        "Running", "mcp_soak_running: 1 while the run sends traffic.", "none",
        [target("max by (run_id) (mcp_soak_running)", "running", instant=True)],
        mappings=[{"type": "value", "options": {"0": {"text": "stopped", "color": "orange"},
                                                "1": {"text": "running", "color": "green"}}}],
        color_mode="background"), 3, 4))
    P.append(L.place(stat(
        "Stage", "Number of the current stage (from 1, mcp_soak_stage).", "none",
        [target("max by (run_id) (mcp_soak_stage)", "stage", instant=True)]), 3, 4))
    P.append(L.place(stat(
        "Target calls/s", "What the schedule asks for now, all tester instances.", "reqps",
        [target("sum by (run_id) (mcp_soak_target_calls_per_second)", "target", instant=True)]), 3, 4))
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

    lat, err, burn, err_table, lat_table, tps_table, heat = slo_panels()
    P.append(L.row("SLOs (whole run)"))
    P.append(L.place(lat, 12, 9))
    P.append(L.place(err, 12, 9))
    P.append(L.place(lat_table, 8, 6))
    P.append(L.place(err_table, 8, 6))
    P.append(L.place(tps_table, 8, 6))
    P.append(L.place(burn, 12, 8))
    P.append(L.place(heat, 12, 8))

    P.append(L.row("Throughput"))
    P.append(L.place(timeseries(
        "Target vs achieved calls/s",
        "Target: what the schedule asks for. Achieved: calls completed per second (tester gauge). "
        "Successful: ok calls/s from the counters. Dashed: the overall SLO minimum (tool=_all).",
        "reqps",
        [target("sum by (run_id) (mcp_soak_target_calls_per_second)", "target"),
         target("sum by (run_id) (mcp_soak_achieved_calls_per_second)", "achieved"),
         target('sum by (run_id) (rate(mcp_soak_calls_total{outcome="ok"}[$__rate_interval]))', "successful"),
         target('max by (run_id) (mcp_soak_slo_min_calls_per_second{tool="_all"})', "SLO minimum")],
        overrides=[dashed("^SLO.*", "red")], minimum=0,
        links=[{"title": "Runbook: throughput", "url": f"{RUNBOOK}/McpSoakThroughputBelowTarget.md"}]), 12, 8))
    P.append(L.place(timeseries(
        "Successful calls/s per tool vs SLO",
        "ok calls/s per tool; dashed: the tool's SLO minimum (mcp_soak_slo_min_calls_per_second).",
        "reqps",
        [target(f'sum by (run_id, tool) (rate(mcp_soak_calls_total{{tool{sel},outcome="ok"}}[$__rate_interval]))', "{{tool}}"),
         target(f'max by (run_id, tool) (mcp_soak_slo_min_calls_per_second{{tool{sel}}})', "SLO {{tool}} {{run_id}}")],
        overrides=[dashed("^SLO.*")], minimum=0), 12, 8))
    P.append(L.place({
        "type": "state-timeline", "title": "Stage",
        "description": "Which stage the schedule is in (mcp_soak_stage, numbered from 1).", "datasource": DS,
        "targets": refs(target("max by (run_id) (mcp_soak_stage)", "stage")),
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
        [target("sum by (run_id) (mcp_soak_in_flight)", "in flight")], minimum=0), 8, 7))
    P.append(L.place(timeseries(
        "Dropped slots/s",
        "Slots the scheduler did not start: the in-flight cap (calls pile up: the server is slow), a "
        "Retry-After pause or a per-tool ceiling. Chosen by the configuration, so not alerted on.",
        "ops",
        [target("sum by (run_id) (rate(mcp_soak_dropped_slots_total[$__rate_interval]))", "dropped")], minimum=0,
        links=[{"title": "Runbook: generator saturated", "url": f"{RUNBOOK}/McpSoakGeneratorSaturated.md"}]), 8, 7))
    P.append(L.place(with_threshold_lines(timeseries(
        "Schedule lag p99 per tester",
        "How late each tester process starts its calls (p99 over 5m and 1m, recorded series). Dashed: "
        "the 100 ms limit of McpSoakGeneratorSaturated (both above it for 5m: the tester is short of CPU).",
        "s",
        [target("instance:mcp_soak_schedule_lag_seconds:p99_5m", "p99 5m {{instance}}"),
         target("instance:mcp_soak_schedule_lag_seconds:p99_1m", "p99 1m {{instance}}")],
        minimum=0,
        links=[{"title": "Runbook: generator saturated", "url": f"{RUNBOOK}/McpSoakGeneratorSaturated.md"}]),
        [(0.1, "red")]), 8, 7))

    P.append(L.row("Sessions"))
    P.append(L.place(timeseries(
        "Sessions active", "MCP sessions open now (mcp_soak_sessions_active).", "short",
        [target("sum by (run_id) (mcp_soak_sessions_active)", "active")], minimum=0), 12, 7))
    P.append(L.place(timeseries(
        "Session lifecycle per second",
        "Sessions created (initialize), DELETEd (2xx), expired by the server (404), re-initialized after an "
        "expiry, and abandoned on purpose (session strategy abandon), per second.", "ops",
        [target(f"sum by (run_id) (rate(mcp_soak_sessions_{event}_total[$__rate_interval]))", event)
         for event in ("initialized", "deleted", "expired", "reinitialized", "abandoned")], minimum=0), 12, 7))

    P.append(L.row("Server resources"))
    memory_runbook = [{"title": "Runbook: memory growth", "url": f"{RUNBOOK}/McpSoakTargetMemoryGrowth.md"}]
    P.append(L.place(timeseries(
        "Server memory",
        "Resident memory of the server under test (mcp_soak_target_resident_bytes, from target.metrics_url "
        "or target.pid; empty when neither is set), next to the latency above: memory that climbs while "
        "p95 creeps is the soak's finding.",
        "bytes",
        [target("max by (run_id) (mcp_soak_target_resident_bytes)", "resident")], minimum=0,
        links=memory_runbook), 8, 7))
    P.append(L.place(timeseries(
        "Server memory growth per hour vs SLO",
        "deriv() of the server's resident memory over 30m, per hour (recorded series), and the run's "
        "[soak] max_memory_growth SLO (dashed). The run's own Theil-Sen verdict is in its summary.",
        "bytes",
        [target("run:mcp_soak_target_resident_bytes:deriv30m_per_hour", "growth/h"),
         target("max by (run_id) (mcp_soak_slo_max_memory_growth_bytes_per_hour)", "SLO", ref="B")],
        overrides=[dashed("SLO.*")],
        links=memory_runbook), 8, 7))
    P.append(L.place(timeseries(
        "Server fds / CPU",
        "Open file descriptors and CPU use (rate of cumulative CPU seconds) of the server under test; "
        "failed samples by reason (unreachable, not_prometheus, process_gone, ...).",
        "short",
        [target("max by (run_id) (mcp_soak_target_open_fds)", "open fds"),
         target("max by (run_id) (rate(mcp_soak_target_cpu_seconds[$__rate_interval]))", "CPU cores", ref="B"),
         target("sum by (run_id, reason) (increase(mcp_soak_target_sample_failures_total[$__rate_interval]))",
                "failed samples {{reason}}", ref="C")], minimum=0), 8, 7))

    P.append(L.row("Alerts"))
    P.append(L.place(table(
        "Firing alerts", "Alerts firing now (ALERTS{alertstate=\"firing\"}); runbooks are in docs/runbooks/.",
        [target('ALERTS{alertstate="firing",run_id=~"$run_id"}', instant=True, fmt="table")],
        exclude=("alertstate",)), 24, 6))

    return dashboard(
        "mcp-soak-overview", "mcp-soak: overview",
        "Soak test of an MCP server: throughput against target, latency and errors against the SLO "
        "gauges the tester exports, generator health, sessions and firing alerts.",
        P, [var_datasource(), *var_run(), var_tool(True)],
        links=[{"title": "Per tool", "type": "dashboards", "tags": ["mcp-soak"], "asDropdown": True,
                "includeVars": True, "keepTime": True}])


def per_tool():
    L = Layout()
    P = []
    sel = '="$tool"'
    P.append(L.row("$tool"))
    P.append(L.place(stat(
        "Successful calls/s", "ok calls/s of this tool now.", "reqps",
        [target('sum by (run_id) (rate(mcp_soak_calls_total{tool="$tool",outcome="ok"}[$__rate_interval]))', "ok", instant=True)]), 6, 4))
    P.append(L.place(stat(
        "p95 latency (5m)", "From the intended send time, last 5 minutes.", "s",
        [target('histogram_quantile(0.95, sum by (le, run_id) (rate(mcp_soak_call_latency_seconds_bucket{tool="$tool"}[5m])))',
                "p95", instant=True)]), 6, 4))
    P.append(L.place(stat(
        "Error ratio (5m)", "Errors over calls that reached the server, last 5 minutes.", "percentunit",
        [target(f'(sum by (run_id) (rate(mcp_soak_calls_total{{tool="$tool",{ERR}}}[5m])) or vector(0))'
                f' / sum by (run_id) (rate(mcp_soak_calls_total{{tool="$tool",{SENT}}}[5m]))', "errors", instant=True)]), 6, 4))
    slo = stat(
        "SLO", "This tool's SLO gauges (No data when it has none).", "none",
        [target('max by (run_id) (mcp_soak_slo_latency_p95_seconds{tool="$tool"})', "p95 ≤", instant=True),
         target('max by (run_id) (mcp_soak_slo_min_calls_per_second{tool="$tool"})', "calls/s ≥", instant=True),
         target('max by (run_id) (mcp_soak_slo_max_error_ratio{tool="$tool"})', "errors ≤", instant=True)],
        text_mode="value_and_name")
    slo["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byFrameRefID", "options": ref}, "properties": [{"id": "unit", "value": unit}]}
        for ref, unit in (("A", "s"), ("B", "reqps"), ("C", "percentunit"))]
    P.append(L.place(slo, 6, 4))
    P.append(L.place(timeseries(
        "Successful calls/s vs SLO", "ok calls/s; dashed: the SLO minimum.", "reqps",
        [target('sum by (run_id) (rate(mcp_soak_calls_total{tool="$tool",outcome="ok"}[$__rate_interval]))', "successful"),
         target('max by (run_id) (mcp_soak_slo_min_calls_per_second{tool="$tool"})', "SLO minimum")],
        overrides=[dashed("^SLO.*", "red")], minimum=0), 12, 8))
    P.append(L.place(outcomes_panel(sel), 12, 8))
    P.append(L.place(latency_panel(sel), 12, 9))
    P.append(L.place(service_panel(sel), 12, 9))
    P.append(L.place(error_ratio_panel(sel), 12, 8))
    P.append(L.place(timeseries(
        "Calls/s per latency bucket", "Cumulative calls/s at or under each bucket bound (le), from the intended send time.", "reqps",
        [target('sum by (le, run_id) (rate(mcp_soak_call_latency_seconds_bucket{tool="$tool"}[$__rate_interval]))', "≤ {{le}}")],
        minimum=0), 12, 8))
    for p in http_rpc_panels(sel):
        P.append(L.place(p, 12, 7))
    return dashboard(
        "mcp-soak-tool", "mcp-soak: per tool",
        "One MCP tool of a soak run: throughput, latency and errors against its own SLO.",
        P, [var_datasource(), *var_run(), var_tool(False)],
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
