#!/usr/bin/env python3
"""Writes dashboards/*.json: the Grafana dashboards of smartassist-exporter.

Three dashboards, linked to each other (README: "Dashboards"):
  smartassist-overview  the contact center at a glance, filterable by source/queue/channel/direction
  smartassist-queue     one queue in depth
  smartassist-exporter  the exporter's own health

The JSON is checked in (Grafana provisioning reads it as is); this script is how it is
written, so that every panel follows the same rules: a fixed uid, the `datasource` variable on
every target, `[$__rate_interval]` in every rate(), a unit, a description and thresholds on
every panel. KPI panels read the recording rules of deploy/prometheus/rules/ (their 5m and 1h
windows); raw counters are only read where no rule exists. Run `python3 scripts/gen/dashboards.py`
after editing; `--check` exits 1 when the checked-in files differ.
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "dashboards"
DS = {"type": "prometheus", "uid": "$datasource"}
TAGS = ["smartassist"]

# Selectors. F: every KPI filter; S: source only (families without queue labels).
F = 'source=~"$source",queue=~"$queue",channel=~"$channel",direction=~"$direction"'
FCD = 'source=~"$source",channel=~"$channel",direction=~"$direction"'
FC = 'source=~"$source",channel=~"$channel"'
S = 'source=~"$source"'

FINE = "source_queue_channel_direction"


def fine(metric, w="5m", extra="", sel=F, level_extra=""):
    """A layer-1 recording rule of smartassist-kpis.rules.yml under the dashboard filters."""
    lvl = FINE + (f"_{level_extra}" if level_extra else "")
    m = f"{sel},{extra}" if extra else sel
    return f"{lvl}:{metric}:rate{w}{{{m}}}"


def ratio(num, den, by=""):
    b = f" by ({by})" if by else ""
    return f"sum{b} ({num})\n/\nsum{b} ({den})"


def mean(metric, w="5m", by="", sel=F):
    return ratio(fine(f"{metric}_sum", w, sel=sel), fine(f"{metric}_count", w, sel=sel), by)


def conv(w="5m", outcome=None, sel=F):
    extra = f'outcome="{outcome}"' if outcome else ""
    return fine("smartassist_conversations", w, extra, sel=sel, level_extra="outcome")


def quantile(q, metric, w="5m", by="", sel=F):
    b = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({b}) ({fine(metric + '_bucket', w, sel=sel, level_extra='le')}))"


def le(v):
    return f'le=~"({v})(\\\\.0)?"'


def service_level(t, w="5m", by="", sel=F):
    b = f" by ({by})" if by else ""
    num = fine("smartassist_queue_wait_seconds_bucket", w, le(t), sel=sel, level_extra="le")
    return (f"sum{b} ({num})\n/\n(sum{b} ({fine('smartassist_queue_answered', w, sel=sel)})"
            f" + sum{b} ({fine('smartassist_queue_abandoned', w, sel=sel)}))")


def nps(w="1h", by="", sel=F):
    b = f" by ({by})" if by else ""
    count = fine("smartassist_nps_score_count", w, sel=sel)
    bucket = lambda v: fine("smartassist_nps_score_bucket", w, le(v), sel=sel, level_extra="le")
    return (f"100 * (sum{b} ({count}) - sum{b} ({bucket('8')}) - sum{b} ({bucket('6')}))"
            f"\n/\nsum{b} ({count})")


def steps(*pairs, base="green"):
    """Threshold steps: base colour, then (value, colour) pairs."""
    return {"mode": "absolute",
            "steps": [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in pairs]}


def target(expr, legend="", ref="A", fmt=None):
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": True, "refId": ref}
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
              mappings=None, custom=None):
        defaults = {"color": {"mode": "thresholds" if kind == "stat" else "palette-classic"},
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
            opts = {"colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "textMode": "auto"}
        else:
            opts = {}
        opts.update(options or {})
        targets = [target(*t) if isinstance(t, tuple) else target(t) for t in targets]
        for i, t in enumerate(targets):
            t["refId"] = chr(ord("A") + i)
        self.panels.append({
            "datasource": DS, "description": desc,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "gridPos": self._place(w, h), "id": len(self.panels) + 1, "options": opts,
            "targets": targets, "title": title, "type": kind,
        })

    def stat(self, title, desc, expr, unit, thresholds, **kw):
        self.panel("stat", title, desc, [expr], unit, thresholds, w=kw.pop("w", 3), h=kw.pop("h", 4), **kw)

    def ts(self, title, desc, targets, unit, thresholds, **kw):
        self.panel("timeseries", title, desc, targets, unit, thresholds, **kw)


def variable_query(name, label, query, multi=True, include_all=True):
    v = {"current": {}, "datasource": DS, "definition": query, "includeAll": include_all,
         "label": label, "multi": multi, "name": name, "options": [],
         "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "regex": "", "sort": 1, "type": "query"}
    if include_all:
        # Open on "All" rather than on whichever value sorts first.
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v


DATASOURCE_VAR = {"current": {}, "hide": 0, "includeAll": False, "label": "Data source", "multi": False,
                  "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
                  "type": "datasource"}
SOURCE_VAR = variable_query("source", "Source", "label_values(smartassist_up, source)")


def kpi_variables(single_queue=False):
    return [
        DATASOURCE_VAR,
        SOURCE_VAR,
        variable_query("queue", "Queue",
                       'label_values(smartassist_queue_entries_total{source=~"$source"}, queue)',
                       multi=not single_queue, include_all=not single_queue),
        variable_query("channel", "Channel",
                       'label_values(smartassist_conversations_total{source=~"$source"}, channel)'),
        variable_query("direction", "Direction",
                       'label_values(smartassist_conversations_total{source=~"$source"}, direction)'),
    ]


def dashboard(uid, title, desc, board, variables):
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "description": desc,
        "editable": True,
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


QUEUE_LINK = [{"title": "Drill down into queue ${__field.labels.queue}",
               "url": "/d/smartassist-queue/smartassist-queue?var-datasource=${datasource}&var-source=${source}"
                      "&var-queue=${__field.labels.queue}&var-channel=${channel}&var-direction=${direction}"
                      "&${__url_time_range}"}]

PCT_BAD = steps((0.10, "orange"), (0.15, "red"))  # drop-off / abandonment; 15%: the alert floor
SL = steps((0.7, "orange"), (0.8, "green"), base="red")  # 80/20: the alert's target
CSAT = steps((3.5, "orange"), (4.0, "green"), base="red")  # 3.5: the alert's floor
NPS = steps((0, "orange"), (30, "green"), base="red")
NONE = steps()  # volume: no good or bad value; one base step keeps the colour neutral
WAIT = steps((20, "orange"), (60, "red"))
AHT = steps((600, "orange"), (900, "red"))
FR = steps((30, "orange"), (60, "red"))


def overview():
    b = Board()
    b.row("Last hour")
    b.stat("Conversations (1h)", "Finished conversations in the last hour (smartassist_conversations_total, via the 1h recording rule).",
           f"sum ({conv('1h')}) * 3600", "short", NONE)
    b.stat("Drop-off (1h)", "Share of finished conversations that were dropped (reason, dispositions or campaign contactStatus DROP-OFF), last hour. Orange from 10%, red from 15% (the drop-off alert's floor).",
           ratio(conv("1h", "dropped"), conv("1h")), "percentunit", PCT_BAD, min_=0, max_=1)
    b.stat("Abandonment (1h)", "Abandoned queue entries / queue entries, last hour.",
           ratio(fine("smartassist_queue_abandoned", "1h"), fine("smartassist_queue_entries", "1h")),
           "percentunit", PCT_BAD, min_=0, max_=1)
    b.stat("Service level 20 s (1h)", "Offered contacts (answered without a callback + abandoned) answered within 20 s, last hour. Red under 70%, green from 80% (the service-level alert's target).",
           service_level("20", "1h"), "percentunit", SL, min_=0, max_=1)
    b.stat("ASA (1h)", "Average speed of answer: mean queue wait of answered queue entries, last hour.",
           mean("smartassist_queue_wait_seconds", "1h"), "s", WAIT)
    b.stat("AHT (1h)", "Average handle time: interaction + after-call work of answered agent segments, last hour.",
           mean("smartassist_handle_time_seconds", "1h"), "s", AHT)
    b.stat("CSAT (1h)", "Average CSAT answer (1-5), last hour. Red under 3.5 (the CSAT alert's floor).",
           mean("smartassist_csat_score", "1h"), "none", CSAT, min_=1, max_=5, options={"graphMode": "none"})
    b.stat("Firing alerts", "SmartAssist alerts firing now (Prometheus ALERTS); see the Alerts section of the README for each runbook.",
           'count(ALERTS{alertname=~"SmartAssist.*",alertstate="firing"}) or vector(0)', "short",
           steps((1, "red")), options={"graphMode": "none"})

    b.row("Volume and outcomes")
    b.ts("Conversations by outcome", "Finished conversations per minute by outcome (dropped > agent_handled > unanswered > bot_resolved > other), 5m rate.",
         [(f"sum by (outcome) ({conv()}) * 60", "{{outcome}}")], "cpm", NONE, stack=True, min_=0)
    b.ts("Conversations by channel", "Finished conversations per minute by channel, 5m rate.",
         [(f"sum by (channel) ({conv()}) * 60", "{{channel}}")], "cpm", NONE, stack=True, min_=0)
    b.ts("Drop-off ratio by queue", "Dropped / finished conversations per queue over 5 minutes (the drop-off alert uses 15 minutes against a 1-day baseline). Click a line to open the queue drill-down.",
         [(ratio(conv(outcome="dropped"), conv(), "queue"), "{{queue}}")], "percentunit", PCT_BAD,
         min_=0, threshold_style="dashed", links=QUEUE_LINK)
    b.ts("Abandonment ratio by queue", "Abandoned / queue entries per queue, 5m rate. A queue entry is abandoned when it was neither answered nor callback-opted and no later queue took it.",
         [(ratio(fine("smartassist_queue_abandoned"), fine("smartassist_queue_entries"), "queue"), "{{queue}}")],
         "percentunit", PCT_BAD, min_=0, threshold_style="dashed", links=QUEUE_LINK)

    b.row("Queues")
    b.ts("ASA by queue", "Average speed of answer per queue: mean wait of answered queue entries (first answering agent's acceptedTime - EnterTime), 5m rate.",
         [(mean("smartassist_queue_wait_seconds", by="queue"), "{{queue}}")], "s", WAIT, min_=0, links=QUEUE_LINK)
    b.ts("Service level by queue", "Answered within 20 s (and 30 s) / offered (answered without a callback + abandoned), per queue, 5m rate. Dashed line: the 80% target.",
         [(service_level("20", by="queue"), "{{queue}} 20 s"), (service_level("30", by="queue"), "{{queue}} 30 s")],
         "percentunit", SL, min_=0, max_=1, threshold_style="dashed", links=QUEUE_LINK)
    b.ts("Callback opt-in by queue", "Queue entries whose customer opted for a callback / queue entries, 5m rate.",
         [(ratio(fine("smartassist_callbacks_opted"), fine("smartassist_queue_entries"), "queue"), "{{queue}}")],
         "percentunit", NONE, min_=0, links=QUEUE_LINK)
    b.ts("Queue entries, answered, abandoned", "Queue entries per minute and what became of them, 5m rate.",
         [(f"sum ({fine('smartassist_queue_entries')}) * 60", "entries"),
          (f"sum ({fine('smartassist_queue_answered')}) * 60", "answered"),
          (f"sum ({fine('smartassist_queue_abandoned')}) * 60", "abandoned"),
          (f"sum ({fine('smartassist_callbacks_opted')}) * 60", "callback opted")], "cpm", NONE, min_=0)

    b.row("Agents")
    b.ts("First response p50 / p90", "Agent first response of answered segments (firstResponseDuration), 50th and 90th percentile, 5m rate; interpolated within histogram buckets.",
         [(quantile(0.5, "smartassist_first_response_seconds"), "p50"),
          (quantile(0.9, "smartassist_first_response_seconds"), "p90")], "s", FR, min_=0, threshold_style="dashed")
    b.ts("AHT and after-call work by queue", "Average handle time (interaction + after-call work) and average after-call work per queue, 5m rate.",
         [(mean("smartassist_handle_time_seconds", by="queue"), "{{queue}} AHT"),
          (mean("smartassist_after_call_work_seconds", by="queue"), "{{queue}} ACW")], "s", AHT, min_=0, links=QUEUE_LINK)
    b.ts("Agent no-responses by event", "nonRespondingAgents entries per minute by nonResponseEvent (offered to an agent who did not take it).",
         [(f"sum by (event) (rate(smartassist_agent_no_responses_total{{{F}}}[$__rate_interval])) * 60", "{{event}}")],
         "cpm", NONE, min_=0, stack=True)
    b.ts("Consults and agent interactions", "ConsultingAgents entries and answered agent segments per minute.",
         [(f"sum (rate(smartassist_consults_total{{{F}}}[$__rate_interval])) * 60", "consults"),
          (f"sum ({fine('smartassist_agent_interactions')}) * 60", "agent interactions")], "cpm", NONE, min_=0)

    b.row("Customers")
    b.ts("CSAT", "Average CSAT answer (1-5) and share of satisfied answers (4-5) over the last hour (surveys are sparse: 1h recording rules). Dashed: the 3.5 alert floor.",
         [(mean("smartassist_csat_score", "1h"), "CSAT average")], "none", CSAT, min_=1, max_=5, w=8,
         threshold_style="dashed")
    b.ts("Satisfied, likes", "Share of CSAT answers that are 4 or 5, and of like/dislike answers that are likes, over the last hour.",
         [(f"1 - {ratio(fine('smartassist_csat_score_bucket', '1h', le('3'), level_extra='le'), fine('smartassist_csat_score_count', '1h'))}", "% satisfied (CSAT 4-5)"),
          (ratio(fine("smartassist_survey_likes", "1h", 'vote="like"', level_extra="vote"),
                 fine("smartassist_survey_likes", "1h", level_extra="vote")), "like ratio")],
         "percentunit", steps((0.6, "orange"), (0.8, "green"), base="red"), min_=0, max_=1, w=8)
    b.ts("NPS", "Net promoter score in points: % promoters (9-10) minus % detractors (0-6) over the last hour.",
         [(nps(), "NPS")], "none", NPS, min_=-100, max_=100, w=8, threshold_style="dashed")

    b.row("Bots and outbound")
    b.ts("Bot containment by channel", "Bot-resolved / finished conversations per channel over the last hour (a bot-resolved conversation never reached a queue, so the queue filter does not apply).",
         [(f"source_channel:smartassist_conversations_bot_resolved:ratio_rate1h{{{FC}}}", "{{channel}}")],
         "percentunit", NONE, min_=0, max_=1, w=8)
    b.ts("Outbound campaign contacts", "Finished conversations with a campaign name per minute, by campaign and contactStatus. Campaign series carry no queue, channel or direction: only the source filter applies.",
         [(f"sum by (campaign, contact_status) (rate(smartassist_campaign_contacts_total{{{S}}}[$__rate_interval])) * 60",
           "{{campaign}}: {{contact_status}}")], "cpm", NONE, min_=0, stack=True, w=8)
    b.ts("Disconnects and voicemails", "Finished conversations per minute by disconnectingEvent, and voicemails (no queue labels: the queue filter does not apply).",
         [(f"sum by (event) (rate(smartassist_disconnects_total{{{FCD}}}[$__rate_interval])) * 60", "{{event}}"),
          (f"sum (rate(smartassist_voicemails_total{{{FCD}}}[$__rate_interval])) * 60", "voicemail")],
         "cpm", NONE, min_=0, w=8)
    return dashboard("smartassist-overview", "SmartAssist / Contact center overview",
                     "Kore.ai SmartAssist contact-center KPIs from smartassist-exporter: volume and outcomes, drop-off and abandonment, ASA and service level, agents, customers, outbound.",
                     b, kpi_variables())


def queue():
    b = Board()
    b.row("Queue $queue, last hour")
    b.stat("Conversations (1h)", "Finished conversations whose last queue is this one, last hour.",
           f"sum ({conv('1h')}) * 3600", "short", NONE, w=4)
    b.stat("Drop-off (1h)", "Dropped / finished conversations of this queue, last hour. Red from 15% (the drop-off alert's floor).",
           ratio(conv("1h", "dropped"), conv("1h")), "percentunit", PCT_BAD, min_=0, max_=1, w=4)
    b.stat("Abandonment (1h)", "Abandoned / queue entries, last hour.",
           ratio(fine("smartassist_queue_abandoned", "1h"), fine("smartassist_queue_entries", "1h")),
           "percentunit", PCT_BAD, min_=0, max_=1, w=4)
    b.stat("Service level 20 s (1h)", "Answered within 20 s / offered (answered without a callback + abandoned), last hour.",
           service_level("20", "1h"), "percentunit", SL, min_=0, max_=1, w=4)
    b.stat("ASA (1h)", "Average speed of answer, last hour.", mean("smartassist_queue_wait_seconds", "1h"), "s", WAIT, w=4)
    b.stat("AHT (1h)", "Average handle time, last hour.", mean("smartassist_handle_time_seconds", "1h"), "s", AHT, w=4)

    b.row("Drop-off")
    b.ts("Drop-off ratio against the alert threshold", "What SmartAssistDropOffSpike compares for this queue: the 15-minute drop-off ratio against its alert threshold (the larger of the 15% floor and 2 x the 1-day baseline once the baseline holds 500 conversations, else the 30% fallback floor), with the 1-hour ratio for context. The alert also needs 20 conversations in the 15 minutes.",
         [('source_queue:smartassist_conversations_dropped:ratio_rate15m{source=~"$source",queue=~"$queue"}', "15 minutes ({{source}})"),
          ('source_queue:smartassist_conversations_dropped:alert_threshold_ratio15m{source=~"$source",queue=~"$queue"}', "alert threshold ({{source}})"),
          ('source_queue:smartassist_conversations_dropped:ratio_rate1h{source=~"$source",queue=~"$queue"}', "1 hour ({{source}})")],
         "percentunit", PCT_BAD, min_=0)
    b.ts("Outcomes", "Finished conversations of this queue per minute by outcome, 5m rate.",
         [(f"sum by (outcome) ({conv()}) * 60", "{{outcome}}")], "cpm", NONE, stack=True, min_=0)

    b.row("Waiting")
    b.ts("Queue flow", "Queue entries per minute and how they ended: answered, abandoned, moved on to another queue (overflow), callback opted and accepted.",
         [(f"sum ({fine('smartassist_queue_entries')}) * 60", "entries"),
          (f"sum ({fine('smartassist_queue_answered')}) * 60", "answered"),
          (f"sum ({fine('smartassist_queue_abandoned')}) * 60", "abandoned"),
          (f"sum (rate(smartassist_queue_overflows_total{{{F}}}[$__rate_interval])) * 60", "overflow"),
          (f"sum ({fine('smartassist_callbacks_opted')}) * 60", "callback opted"),
          (f"sum (rate(smartassist_callbacks_accepted_total{{{F}}}[$__rate_interval])) * 60", "callback accepted")],
         "cpm", NONE, min_=0)
    b.panel("heatmap", "Queue wait distribution", "Queue wait of answered entries per histogram bucket (smartassist_queue_wait_seconds), answers per second.",
            [(f"sum by (le) (rate(smartassist_queue_wait_seconds_bucket{{{F}}}[$__rate_interval]))", "{{le}}", "A", "heatmap")],
            "s", NONE, options={"calculate": False, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                                "yAxis": {"unit": "s"}, "tooltip": {"show": True, "yHistogram": False},
                                "legend": {"show": True}, "rowsFrame": {"layout": "auto"}})
    b.ts("Service level and abandonment", "Answered within 20 s and 30 s / offered, and abandoned / entries, 5m rate.",
         [(service_level("20"), "service level 20 s"), (service_level("30"), "service level 30 s"),
          (ratio(fine("smartassist_queue_abandoned"), fine("smartassist_queue_entries")), "abandonment")],
         "percentunit", SL, min_=0, max_=1, threshold_style="dashed")
    b.ts("ASA and time to abandon", "Mean queue wait of answered entries (ASA) and mean time until abandoned entries gave up.",
         [(mean("smartassist_queue_wait_seconds"), "ASA"),
          (f"sum (rate(smartassist_queue_abandon_time_seconds_sum{{{F}}}[$__rate_interval]))\n/\nsum (rate(smartassist_queue_abandon_time_seconds_count{{{F}}}[$__rate_interval]))", "time to abandon")],
         "s", WAIT, min_=0)

    b.row("Agents and customers")
    b.ts("First response p50 / p90", "Agent first response of this queue's answered segments, 5m rate.",
         [(quantile(0.5, "smartassist_first_response_seconds"), "p50"),
          (quantile(0.9, "smartassist_first_response_seconds"), "p90")], "s", FR, min_=0, w=8)
    b.ts("AHT and after-call work", "Average handle time and after-call work of this queue's answered segments, 5m rate.",
         [(mean("smartassist_handle_time_seconds"), "AHT"), (mean("smartassist_after_call_work_seconds"), "ACW")],
         "s", AHT, min_=0, w=8)
    b.ts("No-responses and consults", "Agents who were offered a contact of this queue and did not take it (by event), and consults, per minute.",
         [(f"sum by (event) (rate(smartassist_agent_no_responses_total{{{F}}}[$__rate_interval])) * 60", "no response: {{event}}"),
          (f"sum (rate(smartassist_consults_total{{{F}}}[$__rate_interval])) * 60", "consults")],
         "cpm", NONE, min_=0, w=8)
    b.ts("CSAT and NPS", "CSAT average (1-5, left) and NPS points (right axis) of this queue's conversations over the last hour.",
         [(mean("smartassist_csat_score", "1h"), "CSAT"), (nps(), "NPS")], "none", CSAT, w=12)
    b.ts("Conversations by channel and direction", "Finished conversations of this queue per minute by channel and direction, 5m rate.",
         [(f"sum by (channel, direction) ({conv()}) * 60", "{{channel}} {{direction}}")], "cpm", NONE,
         stack=True, min_=0, w=12)
    # NPS on a second axis: override by query.
    b.panels[-2]["fieldConfig"]["overrides"] = [{
        "matcher": {"id": "byFrameRefID", "options": "B"},
        "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "min", "value": -100},
                       {"id": "max", "value": 100}]}]
    return dashboard("smartassist-queue", "SmartAssist / Queue drill-down",
                     "One SmartAssist queue in depth: drop-off against its baseline, queue flow and waits, agents and customers.",
                     b, kpi_variables(single_queue=True))


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
    b.stat("Tracked conversations", "Conversation ids remembered for deduplication (bounded by the rescan ages).",
           f"sum by (source) (smartassist_exporter_tracked_conversations{{{S}}})", "short", NONE, w=4)
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
    b.stat("Count lag p90", "How late conversations reach /metrics after they end (smartassist_exporter_count_lag_seconds), 90th percentile. A conversation is counted at the first check after it ends: normally within poll.delay + 2 x poll.interval, or a tenth of its duration for long ones. Orange at 5 min, red at 15 min.",
           f"histogram_quantile(0.9, sum by (source, le) (rate(smartassist_exporter_count_lag_seconds_bucket{{{S}}}[$__rate_interval])))", "s",
           steps((300, "orange"), (900, "red")), w=6)
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


def main():
    boards = {"smartassist-overview.json": overview(), "smartassist-queue.json": queue(),
              "smartassist-exporter.json": exporter()}
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in boards.items():
        text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
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
