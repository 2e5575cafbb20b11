#!/usr/bin/env python3
"""Writes dashboards/*.json: the Grafana dashboards of smartassist-exporter.

Three dashboards, linked to each other (docs/dashboards.md):
  smartassist-overview  the contact center at a glance: one table row per queue, then trends,
                        filterable by source/queue/channel/direction
  smartassist-queue     one queue of one source in depth
  smartassist-exporter  the exporter's own health

The JSON is checked in (Grafana provisioning reads it as is); this script is how it is
written, so that every panel follows the same rules: a fixed uid, the `datasource` variable on
every target, a unit, a description and thresholds on every panel, and honest windows:
- trends (time series) read raw counters over `[$__rate_interval]`, so every point covers the
  time up to the next one at any zoom;
- headline numbers and the overview's table cover the dashboard's range (`[$__range]`, instant
  queries), with the same hours a week earlier (`offset 1w`) for the change;
- survey panels, where answers are sparse, show a rolling 24 hours and say so;
- the drill-down's drop-off panel shows the alert's own recorded inputs, and says so.
Every dashboard shows how fresh the data is (count lag) on its top row.

Variables and queue names. Queue names are operators' free text: `( ) . + | ? * [ ] { } ^ $ \\`
and the rest occur. Grafana's Prometheus data source escapes regex metacharacters in the
values of multi-value (or include-All) variables, so the overview's multi-value filters use
`=~"$var"`. It does not for single-value variables, so the drill-down, whose source and queue
are single values, matches them exactly (`="$var"`: Grafana escapes `\\` there). `${var:regex}`
would not do: its `\\.` is an invalid escape in PromQL's double-quoted strings. Data links
carry values with `:percentencode` (a field's labels) and `:queryparam` (multi-value
variables). tests/it/e2e_prometheus.rs runs every query and follows every link with such a name.

Run `python3 scripts/gen/dashboards.py` after editing; `--check` exits 1 when the checked-in
files differ. dashboards/.lint says which grafana dashboard-linter rules they break, and why.
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "dashboards"
DS = {"type": "prometheus", "uid": "$datasource"}
TAGS = ["smartassist"]

# Selectors. Overview (multi-value variables, regex-escaped by Grafana): F every KPI filter,
# FCD without queue, S source only. Drill-down (single source and queue, exact): Q, QS.
F = 'source=~"$source",queue=~"$queue",channel=~"$channel",direction=~"$direction"'
FCD = 'source=~"$source",channel=~"$channel",direction=~"$direction"'
S = 'source=~"$source"'
Q = 'source="$source",queue="$queue",channel=~"$channel",direction=~"$direction"'
QS = 'source="$source"'

RI = "$__rate_interval"
RANGE = "$__range"
WEEK = "1w"
BY_QUEUE = "source, queue"
QUEUE_LEGEND = "{{queue}} ({{source}})"
NO_QUEUE = "(no queue)"


def sel(metric, s, extra=""):
    m = f"{s},{extra}" if extra else s
    return f"{metric}{{{m}}}"


def inc(metric, s, w, extra="", offset=None):
    """rate() over a trend window, increase() over the dashboard's range."""
    fn = "increase" if w == RANGE else "rate"
    off = f" offset {offset}" if offset else ""
    return f"{fn}({sel(metric, s, extra)}[{w}]{off})"


def total(metric, s, w, by="", extra="", offset=None):
    b = f" by ({by})" if by else ""
    return f"sum{b} ({inc(metric, s, w, extra, offset)})"


def ratio(num, den):
    return f"{num}\n/\n{den}"


def le(v):
    return f'le=~"({v})(\\\\.0)?"'


# KPIs: each takes a selector, a window, the `by` labels and an optional offset.
def conversations(s, w, by="", offset=None, outcome=None):
    return total("smartassist_conversations_total", s, w, by, f'outcome="{outcome}"' if outcome else "", offset)


def dropoff(s, w, by="", offset=None):
    return ratio(conversations(s, w, by, offset, "dropped"), conversations(s, w, by, offset))


def offered(s, w, by="", offset=None):
    """Offered contacts: queue entries answered without a callback (those with a queue wait) +
    abandoned ones (service level's and abandonment's one denominator, as in the recording
    rules). A callback-opted entry waited for a call back, not in the queue."""
    return (f"({total('smartassist_queue_wait_seconds_count', s, w, by, offset=offset)}"
            f" + {total('smartassist_queue_abandoned_total', s, w, by, offset=offset)})")


def answered(s, w, by="", offset=None):
    return total("smartassist_queue_answered_total", s, w, by, offset=offset)


def service_level(t, s, w, by="", offset=None):
    return ratio(total("smartassist_queue_wait_seconds_bucket", s, w, by, le(t), offset), offered(s, w, by, offset))


def abandonment(s, w, by="", offset=None):
    return ratio(total("smartassist_queue_abandoned_total", s, w, by, offset=offset), offered(s, w, by, offset))


def mean(metric, s, w, by="", offset=None):
    return ratio(total(f"{metric}_sum", s, w, by, offset=offset), total(f"{metric}_count", s, w, by, offset=offset))


def answers(metric, s, w, by="", offset=None):
    return total(f"{metric}_count", s, w, by, offset=offset)


def nps(s, w, by="", offset=None):
    count = total("smartassist_nps_score_count", s, w, by, offset=offset)
    bucket = lambda v: total("smartassist_nps_score_bucket", s, w, by, le(v), offset)
    return f"100 * ({count} - {bucket('8')} - {bucket('6')})\n/\n{count}"


def quantile(q, metric, s, w, by="", extra=""):
    b = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, {total(metric + '_bucket', s, w, b, extra)})"


def change(kpi, s, by, relative=False):
    """A KPI over the dashboard's range against the same hours a week earlier."""
    now, before = kpi(s, RANGE, by), kpi(s, RANGE, by, WEEK)
    return f"({now})\n/\n({before}) - 1" if relative else f"({now})\n-\n({before})"


def named_no_queue(expr):
    """Conversations that never reached a queue (bot-only, outbound) as their own named line."""
    return f'label_replace(\n{expr},\n"queue", "{NO_QUEUE}", "queue", "")'


def freshness(s):
    return quantile(0.9, "smartassist_exporter_count_lag_seconds", s, RI)


def steps(*pairs, base="green"):
    """Threshold steps: base colour, then (value, colour) pairs."""
    return {"mode": "absolute",
            "steps": [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in pairs]}


def target(expr, legend="", ref="A", fmt=None, instant=False):
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": not instant, "refId": ref}
    if instant:
        t["instant"] = True
    if fmt:
        t["format"] = fmt
    return t


class Board:
    def __init__(self):
        self.panels, self.y, self.x, self.row_h = [], 0, 0, 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x, self.y = 0, self.y + self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                            "id": len(self.panels) + 1, "panels": [], "title": title, "type": "row"})
        self.y += 1

    def panel(self, kind, title, desc, targets, unit, thresholds, w=12, h=8, links=None,
              min_=None, max_=None, stack=False, threshold_style="off", options=None,
              mappings=None, custom=None, overrides=None, transformations=None):
        defaults = {"color": {"mode": "thresholds" if kind in ("stat", "table") else "palette-classic"},
                    "mappings": mappings or [], "thresholds": thresholds, "unit": unit}
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if links:
            defaults["links"] = links
        if kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line", "fillOpacity": 20 if stack else 8, "lineWidth": 1,
                "showPoints": "never", "spanNulls": False,
                "stacking": {"group": "A", "mode": "normal" if stack else "none"},
                "thresholdsStyle": {"mode": threshold_style},
            }
        if custom:
            defaults.setdefault("custom", {}).update(custom)
        if kind == "timeseries":
            opts = {"legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}}
        elif kind == "stat":
            opts = {"colorMode": "value", "graphMode": "none", "justifyMode": "auto", "orientation": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "textMode": "auto"}
        else:
            opts = {}
        opts.update(options or {})
        targets = [target(*t) if isinstance(t, tuple) else target(t) for t in targets]
        for i, t in enumerate(targets):
            t["refId"] = chr(ord("A") + i)
        if links and kind == "timeseries":
            # The named no-queue line has no drill-down: no link on it.
            overrides = (overrides or []) + [{
                "matcher": {"id": "byRegexp", "options": ".*\\(no queue\\).*"},
                "properties": [{"id": "links", "value": []}]}]
        panel = {
            "datasource": DS, "description": desc,
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "gridPos": self._place(w, h), "id": len(self.panels) + 1, "options": opts,
            "targets": targets, "title": title, "type": kind,
        }
        if transformations:
            panel["transformations"] = transformations
        self.panels.append(panel)
        return panel

    def stat(self, title, desc, expr, unit, thresholds, instant=False, **kw):
        """A number. instant: a KPI over the dashboard's range, evaluated once at its end."""
        t = (expr, "", "A", None, True) if instant and isinstance(expr, str) else expr
        return self.panel("stat", title, desc, [t], unit, thresholds, w=kw.pop("w", 3), h=kw.pop("h", 4), **kw)

    def ts(self, title, desc, targets, unit, thresholds, **kw):
        return self.panel("timeseries", title, desc, targets, unit, thresholds, **kw)


def variable_query(name, label, query, multi=True, include_all=True):
    v = {"current": {}, "datasource": DS, "definition": query, "includeAll": include_all,
         "label": label, "multi": multi, "name": name, "options": [],
         "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "regex": "", "sort": 1, "type": "query"}
    if include_all:
        # Open on "All" rather than on whichever value sorts first. Grafana does not escape a
        # custom all value: `.*` matches every value, the empty one too.
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v


DATASOURCE_VAR = {"current": {}, "hide": 0, "includeAll": False, "label": "Data source", "multi": False,
                  "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
                  "type": "datasource"}
SOURCE_VAR = variable_query("source", "Source", "label_values(smartassist_up, source)")


def overview_variables():
    return [
        DATASOURCE_VAR,
        SOURCE_VAR,
        variable_query("queue", "Queue", 'label_values(smartassist_queue_entries_total{source=~"$source"}, queue)'),
        variable_query("channel", "Channel", 'label_values(smartassist_conversations_total{source=~"$source"}, channel)'),
        variable_query("direction", "Direction",
                       'label_values(smartassist_conversations_total{source=~"$source"}, direction)'),
    ]


def queue_variables():
    """One queue of one source: same-named queues of two sources are two drill-downs."""
    return [
        DATASOURCE_VAR,
        variable_query("source", "Source", "label_values(smartassist_up, source)", multi=False, include_all=False),
        variable_query("queue", "Queue", 'label_values(smartassist_queue_entries_total{source="$source"}, queue)',
                       multi=False, include_all=False),
        variable_query("channel", "Channel", 'label_values(smartassist_conversations_total{source="$source"}, channel)'),
        variable_query("direction", "Direction",
                       'label_values(smartassist_conversations_total{source="$source"}, direction)'),
    ]


def dashboard(uid, title, desc, board, variables):
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "description": desc,
        # Provisioned from this script: the code is the source of truth (dashboard-linter's
        # template-uneditable-rule); save a copy to experiment.
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [{"asDropdown": False, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": TAGS, "targetBlank": False, "title": "SmartAssist", "type": "dashboards"}],
        "panels": board.panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": TAGS,
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


DRILL_DOWN = "/d/smartassist-queue/smartassist-queue"
# Links carry the clicked queue's own source and name, percent-encoded (a name may hold `&`,
# `#`, `%`, `+`, spaces...); the overview's multi-value filters as repeated query parameters.
DRILL_DOWN_QUERY = ("?${datasource:queryparam}&var-source=${__field.labels.source:percentencode}"
                    "&var-queue=${__field.labels.queue:percentencode}&${channel:queryparam}"
                    "&${direction:queryparam}&${__url_time_range}")
QUEUE_LINK = [{"title": "Drill down into queue ${__field.labels.queue} (${__field.labels.source})",
               "url": DRILL_DOWN + DRILL_DOWN_QUERY}]
TABLE_LINK = [{"title": "Drill down into queue ${__data.fields.queue} (${__data.fields.source})",
               "url": DRILL_DOWN + DRILL_DOWN_QUERY.replace("__field.labels.", "__data.fields.")}]

PCT_BAD = steps((0.10, "orange"), (0.15, "red"))  # drop-off / abandonment; 15%: the alert floor
SL = steps((0.7, "orange"), (0.8, "green"), base="red")  # 80/20: the alert's target
CSAT = steps((3.5, "orange"), (4.0, "green"), base="red")  # 3.5: the alert's floor
NPS = steps((0, "orange"), (30, "green"), base="red")
NONE = steps()  # volume: no good or bad value; one base step keeps the colour neutral
WAIT = steps((20, "orange"), (60, "red"))
AHT = steps((600, "orange"), (900, "red"))
FR = steps((30, "orange"), (60, "red"))
LAG = steps((300, "orange"), (900, "red"))
# Changes against a week earlier: what is worse when it rises, and when it falls.
UP_BAD_PCT = steps((0.02, "orange"), (0.05, "red"), base="green")
DOWN_BAD_PCT = steps((-0.05, "orange"), (-0.02, "green"), base="red")
UP_BAD_S = steps((10, "orange"), (30, "red"), base="green")
DOWN_BAD_SCORE = steps((-0.3, "orange"), (-0.1, "green"), base="red")
DOWN_BAD_POINTS = steps((-10, "orange"), (-3, "green"), base="red")
VOLUME_CHANGE = steps((-0.3, "blue"), (0.3, "purple"), base="blue")


def freshness_stat(b, s, w=3):
    b.stat("Data freshness", "How late conversations reach these panels after they end: 90th percentile of "
           "smartassist_exporter_count_lag_seconds over the last few minutes. Normally within poll.delay + "
           "2 x poll.interval (about 2.5 min); long emails count within a tenth of their duration. Orange at "
           "5 min, red at 15 min: recent numbers are incomplete.",
           (freshness(s), "", "A"), "s", LAG, instant=False, w=w,
           options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})


def queue_table(b):
    """The ten-second view: one row per source and queue, KPIs over the dashboard's range and
    their change against the same hours a week earlier."""
    s = F + ',queue!=""'
    cols = [
        # (column, expr, unit, thresholds, decimals)
        ("Offered", lambda: offered(s, RANGE, BY_QUEUE), "short", NONE, 0),
        ("Δ offered", lambda: change(offered, s, BY_QUEUE, relative=True), "percentunit", VOLUME_CHANGE, 0),
        ("Answered", lambda: answered(s, RANGE, BY_QUEUE), "short", NONE, 0),
        ("Δ answered", lambda: change(answered, s, BY_QUEUE, relative=True), "percentunit", VOLUME_CHANGE, 0),
        ("SL 20 s", lambda: service_level("20", s, RANGE, BY_QUEUE), "percentunit", SL, 0),
        ("Δ SL", lambda: change(lambda *a, **k: service_level("20", *a, **k), s, BY_QUEUE), "percentunit",
         DOWN_BAD_PCT, 1),
        ("ASA", lambda: mean("smartassist_queue_wait_seconds", s, RANGE, BY_QUEUE), "s", WAIT, 0),
        ("Δ ASA", lambda: change(lambda *a, **k: mean("smartassist_queue_wait_seconds", *a, **k), s, BY_QUEUE),
         "s", UP_BAD_S, 0),
        ("Abandoned", lambda: abandonment(s, RANGE, BY_QUEUE), "percentunit", PCT_BAD, 1),
        ("Δ abandoned", lambda: change(abandonment, s, BY_QUEUE), "percentunit", UP_BAD_PCT, 1),
        ("Drop-off", lambda: dropoff(s, RANGE, BY_QUEUE), "percentunit", PCT_BAD, 1),
        ("Δ drop-off", lambda: change(dropoff, s, BY_QUEUE), "percentunit", UP_BAD_PCT, 1),
        ("AHT", lambda: mean("smartassist_handle_time_seconds", s, RANGE, BY_QUEUE), "s", AHT, 0),
        ("Δ AHT", lambda: change(lambda *a, **k: mean("smartassist_handle_time_seconds", *a, **k), s, BY_QUEUE),
         "s", UP_BAD_S, 0),
        ("CSAT", lambda: mean("smartassist_csat_score", s, RANGE, BY_QUEUE), "none", CSAT, 2),
        ("Δ CSAT", lambda: change(lambda *a, **k: mean("smartassist_csat_score", *a, **k), s, BY_QUEUE), "none",
         DOWN_BAD_SCORE, 2),
        ("CSAT answers", lambda: answers("smartassist_csat_score", s, RANGE, BY_QUEUE), "short", NONE, 0),
        ("NPS", lambda: nps(s, RANGE, BY_QUEUE), "none", NPS, 0),
        ("Δ NPS", lambda: change(nps, s, BY_QUEUE), "none", DOWN_BAD_POINTS, 0),
        ("NPS answers", lambda: answers("smartassist_nps_score", s, RANGE, BY_QUEUE), "short", NONE, 0),
    ]
    targets, overrides, rename, order = [], [], {}, {"source": 0, "queue": 1}
    for i, (name, expr, unit, thr, decimals) in enumerate(cols):
        ref = chr(ord("A") + i)
        targets.append((expr(), "__auto", ref, "table", True))
        rename[f"Value #{ref}"] = name
        order[f"Value #{ref}"] = i + 2
        overrides.append({"matcher": {"id": "byName", "options": name}, "properties": [
            {"id": "unit", "value": unit}, {"id": "decimals", "value": decimals},
            {"id": "thresholds", "value": thr},
            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]})
    overrides.append({"matcher": {"id": "byName", "options": "queue"},
                      "properties": [{"id": "links", "value": TABLE_LINK}, {"id": "custom.width", "value": 200}]})
    b.panel("table", "Queues at a glance",
            "One row per source and queue over the dashboard's time range: offered contacts (answered + "
            "abandoned), answered, service level (answered within 20 s / offered), ASA, abandonment (abandoned "
            "/ offered), drop-off (dropped / finished conversations), AHT, CSAT and NPS with their number of "
            "answers. Each Δ compares with the same hours a week earlier (offset 1w): volumes as a relative "
            "change, ratios in percentage points, times in seconds, scores in points; empty without a week of "
            "history. Colours: the alert thresholds (SL 80%, drop-off 15%, CSAT 3.5) and, for changes, worse "
            "in orange and red. Click a queue to open its drill-down.",
            targets, "none", NONE, w=24, h=10, overrides=overrides,
            options={"cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""},
                     "showHeader": True, "sortBy": [{"desc": True, "displayName": "Offered"}]},
            transformations=[{"id": "merge", "options": {}},
                             {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                            "indexByName": order, "renameByName": rename}}])


def overview():
    b = Board()
    b.row("Queues at a glance (dashboard time range)")
    freshness_stat(b, S, w=4)
    b.stat("Firing alerts", "SmartAssist alerts firing now (Prometheus ALERTS); docs/alerts.md has a runbook for each.",
           'count(ALERTS{alertname=~"SmartAssist.*",alertstate="firing"}) or vector(0)', "short",
           steps((1, "red")), w=4, instant=True)
    b.stat("Conversations", "Finished conversations over the dashboard's time range (smartassist_conversations_total).",
           f"{conversations(F, RANGE)}", "short", NONE, w=4, instant=True)
    b.stat("Drop-off", "Dropped / finished conversations over the dashboard's time range (DROP-OFF in reason, dispositions or campaign contactStatus). Orange from 10%, red from 15% (the drop-off alert's floor).",
           dropoff(F, RANGE), "percentunit", PCT_BAD, min_=0, max_=1, w=4, instant=True)
    b.stat("Service level 20 s", "Offered contacts (answered without a callback + abandoned) answered within 20 s, over the dashboard's time range. Red under 70%, green from 80% (the service-level alert's target).",
           service_level("20", F, RANGE), "percentunit", SL, min_=0, max_=1, w=4, instant=True)
    b.stat("Abandonment", "Abandoned / offered contacts (answered without a callback + abandoned) over the dashboard's time range.",
           abandonment(F, RANGE), "percentunit", PCT_BAD, min_=0, max_=1, w=4, instant=True)
    queue_table(b)

    b.row("Volume and outcomes")
    b.ts("Conversations by outcome", "Finished conversations per minute by outcome (dropped > agent_handled > unanswered > bot_resolved > other).",
         [(f"{conversations(F, RI, 'outcome')} * 60", "{{outcome}}")], "cpm", NONE, stack=True, min_=0)
    b.ts("Conversations by channel", "Finished conversations per minute by channel.",
         [(f"{conversations(F, RI, 'channel')} * 60", "{{channel}}")], "cpm", NONE, stack=True, min_=0)
    b.ts("Drop-off ratio by queue", f"Dropped / finished conversations per queue and source. Conversations that never reached a queue (bot-only, outbound) are the line {NO_QUEUE}. The drop-off alert judges 15 minutes (or an hour for small queues) against a 1-day baseline, with significance: see the queue drill-down. Click a line to open the queue drill-down.",
         [(named_no_queue(dropoff(F, RI, BY_QUEUE)), QUEUE_LEGEND)], "percentunit", PCT_BAD,
         min_=0, threshold_style="dashed", links=QUEUE_LINK)
    b.ts("Abandonment ratio by queue", "Abandoned / offered contacts (answered without a callback + abandoned) per queue and source. A queue entry is abandoned when it was neither answered nor callback-opted and no later queue took it. Entries without a queue name or id are the line (no queue), without a drill-down.",
         [(named_no_queue(abandonment(F, RI, BY_QUEUE)), QUEUE_LEGEND)], "percentunit", PCT_BAD, min_=0, threshold_style="dashed",
         links=QUEUE_LINK)

    b.row("Queues")
    b.ts("ASA by queue", "Average speed of answer per queue and source: mean wait of answered queue entries (first answering agent's acceptedTime - EnterTime). Entries without a queue name or id are the line (no queue).",
         [(named_no_queue(mean("smartassist_queue_wait_seconds", F, RI, BY_QUEUE)), QUEUE_LEGEND)], "s", WAIT, min_=0, links=QUEUE_LINK)
    b.ts("Service level by queue", "Answered within 20 s / offered (answered without a callback + abandoned), per queue and source. Dashed line: the 80% target. Entries without a queue name or id are the line (no queue).",
         [(named_no_queue(service_level("20", F, RI, BY_QUEUE)), QUEUE_LEGEND)],
         "percentunit", SL, min_=0, max_=1, threshold_style="dashed", links=QUEUE_LINK)
    b.ts("Callback opt-in by queue", "Queue entries whose customer opted for a callback / queue entries, per queue and source. Entries without a queue name or id are the line (no queue).",
         [(named_no_queue(ratio(total("smartassist_callbacks_opted_total", F, RI, BY_QUEUE),
                                total("smartassist_queue_entries_total", F, RI, BY_QUEUE))), QUEUE_LEGEND)],
         "percentunit", NONE, min_=0, links=QUEUE_LINK)
    b.ts("Queue entries, answered, abandoned", "Queue entries per minute and what became of them.",
         [(f"{total('smartassist_queue_entries_total', F, RI)} * 60", "entries"),
          (f"{answered(F, RI)} * 60", "answered"),
          (f"{total('smartassist_queue_abandoned_total', F, RI)} * 60", "abandoned"),
          (f"{total('smartassist_callbacks_opted_total', F, RI)} * 60", "callback opted")], "cpm", NONE, min_=0)

    b.row("Agents")
    b.ts("First response p50 / p90 (chat, email, ...)", "Agent first response of answered segments (firstResponseDuration), 50th and 90th percentile, interpolated within histogram buckets. Voice is left out: an agent answers a call by speaking, so its first response is 0 s by definition and would only pull the percentiles down.",
         [(quantile(0.5, "smartassist_first_response_seconds", F, RI, extra='channel!="voice"'), "p50"),
          (quantile(0.9, "smartassist_first_response_seconds", F, RI, extra='channel!="voice"'), "p90")],
         "s", FR, min_=0, threshold_style="dashed")
    b.ts("AHT and after-call work by queue", "Average handle time (interaction + after-call work) and average after-call work per queue and source.",
         [(named_no_queue(mean("smartassist_handle_time_seconds", F, RI, BY_QUEUE)), QUEUE_LEGEND + " AHT"),
          (named_no_queue(mean("smartassist_after_call_work_seconds", F, RI, BY_QUEUE)), QUEUE_LEGEND + " ACW")],
         "s", AHT, min_=0, links=QUEUE_LINK)
    b.ts("Agent no-responses by event", "nonRespondingAgents entries per minute by nonResponseEvent (offered to an agent who did not take it).",
         [(f"{total('smartassist_agent_no_responses_total', F, RI, 'event')} * 60", "{{event}}")],
         "cpm", NONE, min_=0, stack=True)
    b.ts("Consults and agent interactions", "ConsultingAgents entries and answered agent segments per minute.",
         [(f"{total('smartassist_consults_total', F, RI)} * 60", "consults"),
          (f"{total('smartassist_agent_interactions_total', F, RI)} * 60", "agent interactions")], "cpm", NONE, min_=0)

    b.row("Customers (rolling 24 hours: surveys are sparse)")
    b.ts("CSAT and its answers", "Average CSAT answer (1-5) over a rolling 24 hours (each point: the day before it), and the number of answers behind it (right axis). Dashed: the 3.5 alert floor.",
         [(mean("smartassist_csat_score", F, "1d"), "CSAT average"),
          (answers("smartassist_csat_score", F, "1d") + " * 86400", "answers in 24 h")], "none", CSAT, min_=1, w=8,
         threshold_style="dashed", overrides=[right_axis("B", "short")])
    b.ts("Satisfied, likes", "Share of CSAT answers that are 4 or 5, and of like/dislike answers that are likes, over a rolling 24 hours.",
         [(f"1 - {ratio(total('smartassist_csat_score_bucket', F, '1d', extra=le('3')), answers('smartassist_csat_score', F, '1d'))}", "% satisfied (CSAT 4-5)"),
          (ratio(total("smartassist_survey_likes_total", F, "1d", extra='vote="like"'),
                 total("smartassist_survey_likes_total", F, "1d")), "like ratio")],
         "percentunit", steps((0.6, "orange"), (0.8, "green"), base="red"), min_=0, max_=1, w=8)
    b.ts("NPS and its answers", "Net promoter score in points: % promoters (9-10) minus % detractors (0-6), over a rolling 24 hours, and the number of answers behind it (right axis).",
         [(nps(F, "1d"), "NPS"), (answers("smartassist_nps_score", F, "1d") + " * 86400", "answers in 24 h")],
         "none", NPS, min_=-100, w=8, threshold_style="dashed", overrides=[right_axis("B", "short")])

    b.row("Bots and outbound")
    b.ts("Bot containment by channel", "Bot-resolved / finished conversations per channel and source (a bot-resolved conversation never reached a queue, so the queue filter does not apply).",
         [(ratio(total("smartassist_conversations_total", FCD, RI, "source, channel", 'outcome="bot_resolved"'),
                 total("smartassist_conversations_total", FCD, RI, "source, channel")), "{{channel}} ({{source}})")],
         "percentunit", NONE, min_=0, max_=1, w=8)
    b.ts("Outbound campaign contacts", "Finished conversations with a campaign name per minute, by campaign and contactStatus. Campaign series carry no queue, channel or direction: only the source filter applies.",
         [(f"{total('smartassist_campaign_contacts_total', S, RI, 'campaign, contact_status')} * 60",
           "{{campaign}}: {{contact_status}}")], "cpm", NONE, min_=0, stack=True, w=8)
    b.ts("Disconnects and voicemails", "Finished conversations per minute by disconnectingEvent, and voicemails (no queue labels: the queue filter does not apply).",
         [(f"{total('smartassist_disconnects_total', FCD, RI, 'event')} * 60", "{{event}}"),
          (f"{total('smartassist_voicemails_total', FCD, RI)} * 60", "voicemail")],
         "cpm", NONE, min_=0, w=8)
    return dashboard("smartassist-overview", "SmartAssist / Contact center overview",
                     "Kore.ai SmartAssist contact-center KPIs from smartassist-exporter: every queue at a glance with its change against last week, then volume and outcomes, drop-off and abandonment, ASA and service level, agents, customers, outbound.",
                     b, overview_variables())


def right_axis(ref, unit):
    return {"matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": unit},
                           {"id": "min", "value": 0}]}


def queue():
    b = Board()
    b.row("Queue $queue ($source), dashboard time range")
    freshness_stat(b, QS)
    b.stat("Conversations", "Finished conversations whose last queue is this one, over the dashboard's time range.",
           conversations(Q, RANGE), "short", NONE, instant=True)
    b.stat("Offered", "Offered contacts (answered + abandoned queue entries), over the dashboard's time range.",
           offered(Q, RANGE), "short", NONE, instant=True)
    b.stat("Drop-off", "Dropped / finished conversations of this queue, over the dashboard's time range. Red from 15% (the drop-off alert's floor).",
           dropoff(Q, RANGE), "percentunit", PCT_BAD, min_=0, max_=1, instant=True)
    b.stat("Abandonment", "Abandoned / offered contacts, over the dashboard's time range.",
           abandonment(Q, RANGE), "percentunit", PCT_BAD, min_=0, max_=1, instant=True)
    b.stat("Service level 20 s", "Answered within 20 s / offered (answered without a callback + abandoned), over the dashboard's time range.",
           service_level("20", Q, RANGE), "percentunit", SL, min_=0, max_=1, instant=True)
    b.stat("ASA", "Average speed of answer, over the dashboard's time range.",
           mean("smartassist_queue_wait_seconds", Q, RANGE), "s", WAIT, instant=True)
    b.stat("AHT", "Average handle time, over the dashboard's time range.",
           mean("smartassist_handle_time_seconds", Q, RANGE), "s", AHT, instant=True)

    b.row("Drop-off: what the alert sees")
    qsel = 'source="$source",queue="$queue"'
    b.ts("Drop-off against the alert threshold (all channels and directions)", "What SmartAssistDropOffSpike compares for this queue, from its recorded inputs, so across all channels and directions whatever the filters: the 15-minute drop-off ratio and its Wilson lower bound (how low the true ratio can be at 99% confidence, given how few conversations the window holds), the alert threshold (the larger of the 15% floor and 2 x the 1-day baseline once the baseline holds 500 conversations, else the 30% fallback floor), and the last hour's lower bound (used when 15 minutes hold fewer than 20 conversations). The alert pages when a lower bound stays above the threshold for 2 minutes, with at least 10 drops.",
         [(f"source_queue:smartassist_conversations_dropped:ratio_rate15m{{{qsel}}}", "15 minutes"),
          (f"source_queue:smartassist_conversations_dropped:ratio_lower_bound15m{{{qsel}}}", "15 minutes, lower bound"),
          (f"source_queue:smartassist_conversations_dropped:ratio_lower_bound1h{{{qsel}}}", "1 hour, lower bound"),
          (f"source_queue:smartassist_conversations_dropped:alert_threshold_ratio15m{{{qsel}}}", "alert threshold")],
         "percentunit", PCT_BAD, min_=0)
    b.ts("Outcomes", "Finished conversations of this queue per minute by outcome.",
         [(f"{conversations(Q, RI, 'outcome')} * 60", "{{outcome}}")], "cpm", NONE, stack=True, min_=0)

    b.row("Waiting")
    b.ts("Queue flow", "Queue entries per minute and how they ended: answered, abandoned, moved on to another queue (overflow), callback opted and accepted.",
         [(f"{total('smartassist_queue_entries_total', Q, RI)} * 60", "entries"),
          (f"{answered(Q, RI)} * 60", "answered"),
          (f"{total('smartassist_queue_abandoned_total', Q, RI)} * 60", "abandoned"),
          (f"{total('smartassist_queue_overflows_total', Q, RI)} * 60", "overflow"),
          (f"{total('smartassist_callbacks_opted_total', Q, RI)} * 60", "callback opted"),
          (f"{total('smartassist_callbacks_accepted_total', Q, RI)} * 60", "callback accepted")],
         "cpm", NONE, min_=0)
    b.panel("heatmap", "Queue wait distribution", "Queue wait of answered entries per histogram bucket (smartassist_queue_wait_seconds), answers per second.",
            [(total("smartassist_queue_wait_seconds_bucket", Q, RI, "le"), "{{le}}", "A", "heatmap")],
            "s", NONE, options={"calculate": False, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                                "yAxis": {"unit": "s"}, "tooltip": {"show": True, "yHistogram": False},
                                "legend": {"show": True}, "rowsFrame": {"layout": "auto"}})
    b.ts("Service level and abandonment", "Answered within 20 s and 30 s / offered, and abandoned / offered (answered without a callback + abandoned).",
         [(service_level("20", Q, RI), "service level 20 s"), (service_level("30", Q, RI), "service level 30 s"),
          (abandonment(Q, RI), "abandonment")],
         "percentunit", SL, min_=0, max_=1, threshold_style="dashed")
    b.ts("ASA and time to abandon", "Mean queue wait of answered entries (ASA) and mean time until abandoned entries gave up.",
         [(mean("smartassist_queue_wait_seconds", Q, RI), "ASA"),
          (mean("smartassist_queue_abandon_time_seconds", Q, RI), "time to abandon")],
         "s", WAIT, min_=0)

    b.row("Agents and customers")
    b.ts("First response p50 / p90 (chat, email, ...)", "Agent first response of this queue's answered segments, voice left out (0 s by definition: the agent answers by speaking).",
         [(quantile(0.5, "smartassist_first_response_seconds", Q, RI, extra='channel!="voice"'), "p50"),
          (quantile(0.9, "smartassist_first_response_seconds", Q, RI, extra='channel!="voice"'), "p90")],
         "s", FR, min_=0, w=8)
    b.ts("AHT and after-call work", "Average handle time and after-call work of this queue's answered segments.",
         [(mean("smartassist_handle_time_seconds", Q, RI), "AHT"), (mean("smartassist_after_call_work_seconds", Q, RI), "ACW")],
         "s", AHT, min_=0, w=8)
    b.ts("No-responses and consults", "Agents who were offered a contact of this queue and did not take it (by event), and consults, per minute.",
         [(f"{total('smartassist_agent_no_responses_total', Q, RI, 'event')} * 60", "no response: {{event}}"),
          (f"{total('smartassist_consults_total', Q, RI)} * 60", "consults")],
         "cpm", NONE, min_=0, w=8)
    b.ts("CSAT and NPS (rolling 24 hours)", "CSAT average (1-5) and NPS points (right axis) of this queue's conversations over a rolling 24 hours (surveys are sparse), and how many answers each rests on (in the legend's last values).",
         [(mean("smartassist_csat_score", Q, "1d"), "CSAT"), (nps(Q, "1d"), "NPS"),
          (answers("smartassist_csat_score", Q, "1d") + " * 86400", "CSAT answers in 24 h"),
          (answers("smartassist_nps_score", Q, "1d") + " * 86400", "NPS answers in 24 h")],
         "none", CSAT, w=12,
         overrides=[{"matcher": {"id": "byFrameRefID", "options": "B"},
                     "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "min", "value": -100},
                                    {"id": "max", "value": 100}]},
                    {"matcher": {"id": "byRegexp", "options": ".*answers.*"},
                     "properties": [{"id": "custom.hideFrom", "value": {"legend": False, "tooltip": False, "viz": True}},
                                    {"id": "unit", "value": "short"}]}],
         options={"legend": {"calcs": ["lastNotNull"], "displayMode": "table", "placement": "bottom", "showLegend": True}})
    b.ts("Conversations by channel and direction", "Finished conversations of this queue per minute by channel and direction.",
         [(f"{conversations(Q, RI, 'channel, direction')} * 60", "{{channel}} {{direction}}")], "cpm", NONE,
         stack=True, min_=0, w=12)
    return dashboard("smartassist-queue", "SmartAssist / Queue drill-down",
                     "One SmartAssist queue of one source in depth: drop-off as the alert sees it, queue flow and waits, agents and customers.",
                     b, queue_variables())


def exporter():
    b = Board()
    up_map = [{"options": {"0": {"color": "red", "index": 0, "text": "DOWN"},
                           "1": {"color": "green", "index": 1, "text": "UP"}}, "type": "value"}]
    b.row("Polling")
    b.stat("Source up", "smartassist_up: 1 when the last poll of the source succeeded (every request of the tick answered).",
           f"smartassist_up{{{S}}}", "none", steps((1, "green"), base="red"), mappings=up_map, w=4,
           options={"graphMode": "none", "textMode": "value_and_name"})
    b.stat("Scrape up", 'Prometheus can scrape the exporter (up of jobs named smartassist*, as the SmartAssistExporterDown alert matches).',
           'up{job=~"smartassist.*"}', "none", steps((1, "green"), base="red"), mappings=up_map, w=4,
           options={"graphMode": "none", "textMode": "value_and_name"})
    b.stat("Version", "smartassist_exporter_build_info: version and revision of the running exporter.",
           ("smartassist_exporter_build_info", "{{version}} ({{revision}})"), "none", NONE, w=4,
           options={"graphMode": "none", "textMode": "name"})
    freshness_stat(b, S, w=4)
    b.stat("Since last success", "Time since the source's last successful poll.",
           f"time() - smartassist_exporter_last_success_timestamp_seconds{{{S}}}", "s",
           steps((300, "orange"), (600, "red")), w=4)
    b.stat("Watermark lag", "How far behind now the watermark is: conversations that started after it have not had their first pass. Normal: poll.delay + poll.interval. Red at 15 min (the SmartAssistDataStale threshold).",
           f"time() - smartassist_exporter_watermark_timestamp_seconds{{{S}}}", "s",
           steps((300, "orange"), (900, "red")), w=4)
    b.ts("Watermark lag", "Watermark lag over time, per source. Dashed: the 15-minute SmartAssistDataStale threshold.",
         [(f"time() - smartassist_exporter_watermark_timestamp_seconds{{{S}}}", "{{source}}")], "s",
         steps((900, "red")), min_=0, threshold_style="dashed")
    b.ts("Polls and failures", "Poll ticks and failed poll ticks per minute.",
         [(f"sum by (source) (rate(smartassist_exporter_polls_total{{{S}}}[$__rate_interval])) * 60", "{{source}} polls"),
          (f"sum by (source) (rate(smartassist_exporter_poll_failures_total{{{S}}}[$__rate_interval])) * 60", "{{source}} failures")],
         "cpm", NONE, min_=0)
    b.ts("Poll duration", "Duration of the source's last poll tick (catch-up after an outage makes it long).",
         [(f"smartassist_exporter_poll_duration_seconds{{{S}}}", "{{source}}")], "s", steps((30, "orange"), (60, "red")), min_=0)
    b.ts("Rate-limit wait", "Share of time spent waiting for the client-side request budget (poll.max_requests_per_minute): near 100% means the budget, not the API, sets the pace.",
         [(f"sum by (source) (rate(smartassist_exporter_rate_limit_wait_seconds_total{{{S}}}[$__rate_interval]))", "{{source}}")],
         "percentunit", steps((0.5, "orange"), (0.9, "red")), min_=0)

    b.row("Freshness")
    b.stat("Tracked conversations", "Conversation ids remembered for deduplication (bounded by the rescan ages).",
           f"sum by (source) (smartassist_exporter_tracked_conversations{{{S}}})", "short", NONE, w=6)
    b.stat("Open conversations", "Conversations seen in progress and followed until they end (smartassist_exporter_open_conversations); long emails and chats keep it above zero.",
           f"sum by (source) (smartassist_exporter_open_conversations{{{S}}})", "short", NONE, w=6)
    b.stat("Deferred reads per minute", "Open-conversation checks and rescans left for the next tick because the request budget was spent (smartassist_exporter_deferred_reads_total). Above zero for long: raise poll.max_requests_per_minute if the account allows, or the lag grows.",
           f"sum by (source) (rate(smartassist_exporter_deferred_reads_total{{{S}}}[$__rate_interval])) * 60", "cpm", steps((1, "orange")), w=6)
    b.stat("Expired since start", "Conversations still in progress poll.max_open_age after their start, no longer followed and never counted (smartassist_exporter_open_expired_total, since the exporter started).",
           f"sum by (source) (smartassist_exporter_open_expired_total{{{S}}})", "short", steps((1, "orange")), w=6)
    b.ts("Count lag", "Time from a conversation's end to its increment on /metrics: 50th / 90th / 99th percentile.",
         [(f"histogram_quantile({q}, sum by (le) (rate(smartassist_exporter_count_lag_seconds_bucket{{{S}}}[$__rate_interval])))", f"p{int(q * 100)}")
          for q in (0.5, 0.9, 0.99)], "s", steps((300, "orange"), (900, "red")), min_=0)
    b.ts("Open conversations and deferred reads", "Conversations followed until they end, and reads deferred for budget per minute.",
         [(f"sum by (source) (smartassist_exporter_open_conversations{{{S}}})", "{{source}} open"),
          (f"sum by (source) (rate(smartassist_exporter_deferred_reads_total{{{S}}}[$__rate_interval])) * 60", "{{source}} deferred per minute")],
         "short", NONE, min_=0)

    b.row("SmartAssist API")
    b.ts("API requests by code", "Requests to the SmartAssist API per minute by HTTP status (error: no response).",
         [(f"sum by (code) (rate(smartassist_exporter_api_requests_total{{{S}}}[$__rate_interval])) * 60", "{{code}}")],
         "cpm", NONE, min_=0, stack=True)
    b.ts("API latency", "SmartAssist API request duration, 50th / 90th / 99th percentile.",
         [(f"histogram_quantile({q}, sum by (le) (rate(smartassist_exporter_api_request_duration_seconds_bucket{{{S}}}[$__rate_interval])))", f"p{int(q * 100)}")
          for q in (0.5, 0.9, 0.99)], "s", steps((5, "orange"), (30, "red")), min_=0)
    b.ts("Retries by reason", "Requests retried per minute by reason (connect, timeout, rate_limited, server_error, bad_body).",
         [(f"sum by (reason) (rate(smartassist_exporter_api_retries_total{{{S}}}[$__rate_interval])) * 60", "{{reason}}")],
         "cpm", steps((1, "orange")), min_=0, stack=True)
    b.ts("Window splits, truncations, skips", "Saturated windows split in halves, one-second windows truncated at the API's 1,100-record limit, and windows skipped because their body never parsed, per minute. Any truncation or skip is data loss (SmartAssistTruncatedWindows).",
         [(f"sum by (source) (rate(smartassist_exporter_window_splits_total{{{S}}}[$__rate_interval])) * 60", "{{source}} splits"),
          (f"sum by (source) (rate(smartassist_exporter_truncated_windows_total{{{S}}}[$__rate_interval])) * 60", "{{source}} truncated"),
          (f"sum by (source) (rate(smartassist_exporter_skipped_windows_total{{{S}}}[$__rate_interval])) * 60", "{{source}} skipped")],
         "cpm", NONE, min_=0)

    b.row("Records")
    b.ts("Records by result", "Elements of response pages per minute: ingested (counted), duplicate (already counted), in_progress (no sessionEndTime yet), malformed (skipped).",
         [(f"sum by (result) (rate(smartassist_exporter_records_total{{{S}}}[$__rate_interval])) * 60", "{{result}}")],
         "cpm", NONE, min_=0, w=8)
    b.ts("Rejected values by field", "Values never observed because they were negative or unparseable, per minute, by field.",
         [(f"sum by (field) (rate(smartassist_exporter_rejected_values_total{{{S}}}[$__rate_interval])) * 60", "{{field}}")],
         "cpm", NONE, min_=0, w=8)
    b.ts("Expired open conversations, label overflow", "Conversations no longer followed after poll.max_open_age (never counted), and observations whose label hit a cardinality limit, per minute.",
         [(f"sum by (source) (rate(smartassist_exporter_open_expired_total{{{S}}}[$__rate_interval])) * 60", "{{source}} expired"),
          (f"sum by (label) (rate(smartassist_exporter_label_overflow_total{{{S}}}[$__rate_interval])) * 60", "overflow: {{label}}")],
         "cpm", steps((1, "orange")), min_=0, w=8)
    return dashboard("smartassist-exporter", "SmartAssist / Exporter health",
                     "smartassist-exporter's own health: polling, watermark, freshness (count lag, open conversations), SmartAssist API requests, retries, window splits and truncations, records.",
                     b, [DATASOURCE_VAR, SOURCE_VAR])


LINT_HEAD = """# grafana dashboard-linter exclusions (its `.lint` format): the rules these dashboards break on
# purpose, and why. GENERATED by scripts/gen/dashboards.py with the dashboards, so that the
# panel entries below follow the panels; tests/it/deploy_files.rs checks it against them.
exclusions:
  template-job-rule:
    reason: >-
      No job variable. Every series is identified by `source` (the exporter sets no job or
      instance of its own); the recording and alert rules aggregate job and instance away, and
      one source may be scraped by several Prometheus servers under other job names.
  template-instance-rule:
    reason: >-
      No instance variable, for the same reason: a source's series are the same whichever
      exporter instance or restart served them (the checkpoint carries the counters on).
  target-job-rule:
    reason: >-
      Queries select by source, not job (see template-job-rule); the one query on `up` matches
      the job names the shipped scrape config and ServiceMonitor use.
  target-instance-rule:
    reason: >-
      Queries select by source, not instance (see template-instance-rule).
  target-rate-interval-rule:
    reason: >-
      These panels deliberately cover a fixed span rather than $__rate_interval: the
      dashboard's whole time range ($__range, and the same hours a week earlier with offset
      1w) for headline numbers and the queue table, or a rolling 24 hours for surveys, which
      are too sparse for a few minutes' window. Each panel says so in its title or
      description.
    entries:
"""


def lint(boards):
    """dashboards/.lint: one target-rate-interval-rule entry per panel with another window."""
    lines = [LINT_HEAD.rstrip("\n")]
    for board in boards:
        for panel in board["panels"]:
            exprs = [t.get("expr", "") for t in panel.get("targets", [])]
            if any("[$__range]" in e or "[1d]" in e for e in exprs):
                lines.append(f"      - dashboard: {json.dumps(board['title'])}")
                lines.append(f"        panel: {json.dumps(panel['title'], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def main():
    boards = {"smartassist-overview.json": overview(), "smartassist-queue.json": queue(),
              "smartassist-exporter.json": exporter()}
    check = "--check" in sys.argv[1:]
    stale = []
    files = {name: json.dumps(board, indent=2, ensure_ascii=False) + "\n" for name, board in boards.items()}
    files[".lint"] = lint(boards.values())
    for name, text in files.items():
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    if stale:
        print("not what scripts/gen/dashboards.py writes; run it: " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
