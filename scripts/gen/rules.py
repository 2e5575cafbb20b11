#!/usr/bin/env python3
"""Writes deploy/prometheus/rules/smartassist-kpis.rules.yml: the KPI recording rules.

The rules are regular (the same KPI at three levels and two windows), so they are generated
rather than typed; the YAML is checked in and is what Prometheus, the tests and the
PrometheusRule manifest use. Edit this file, run it (`python3 scripts/gen/rules.py`), then
`python3 scripts/gen/k8s_rules.py` and commit all three. `--check` exits 1 when the checked-in
file differs from what this would write.

Two layers, as the Prometheus docs recommend ("aggregate up"):
  1. rates by every dimension but queue_id (level source_queue_channel_direction, plus outcome,
     le or vote where a KPI needs it), over 5m and 1h: dashboards sum these under any
     source / queue / channel / direction filter;
  2. KPIs by source, source_queue and source_channel, computed from layer 1 in the same group
     (rules of a group run in order, so a KPI always sees this round's rates).
"""

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "deploy/prometheus/rules/smartassist-kpis.rules.yml"

FINE = "source_queue_channel_direction"
FINE_BY = "source, queue, channel, direction"
WINDOWS = ["5m", "1h"]
LEVELS = [("source", "source"), ("source_queue", "source, queue"), ("source_channel", "source, channel")]

# `le` values as the exporter writes them ("20") and as Prometheus 3 normalises classic
# histogram buckets ("20.0"): the matchers accept both.
def le(v):
    return f'le=~"({v})(\\\\.0)?"'


DROPPED = '{outcome="dropped"}'
BOT = '{outcome="bot_resolved"}'
LIKE = '{vote="like"}'


def fine_rate(name, metric, w, matcher="", extra=""):
    """A layer-1 rule: sum by (fine labels[, extra]) (rate(metric{matcher}[w]))."""
    by = FINE_BY + (f", {extra}" if extra else "")
    level = FINE + (f"_{extra}" if extra else "")
    sel = f"{metric}{{{matcher}}}" if matcher else metric
    return (f"{level}:{name}:rate{w}", f"sum by ({by}) (rate({sel}[{w}]))")


def s(by, series):
    return f"sum by ({by}) ({series})"


class Group:
    def __init__(self, name, doc):
        self.name, self.doc, self.rules = name, doc, []

    def add(self, record, expr, comment=None, labels=None):
        self.rules.append((record, expr, comment, labels))


def outcomes():
    g = Group("smartassist-outcomes", "Volume by outcome, drop-off ratio, bot containment.")
    for w in WINDOWS:
        conv, expr = fine_rate("smartassist_conversations", "smartassist_conversations_total", w, extra="outcome")
        g.add(conv, expr)
        for lvl, by in LEVELS:
            g.add(f"{lvl}:smartassist_conversations:rate{w}", s(by, conv),
                  f"Finished conversations per second by {by}, over {w}.")
            g.add(f"{lvl}:smartassist_conversations_dropped:ratio_rate{w}",
                  f"{s(by, conv + DROPPED)}\n/\n{s(by, conv)}",
                  f"Drop-off ratio: dropped / finished conversations, over {w}.")
            if lvl != "source_queue":
                # A bot_resolved conversation never reached a queue (an agent-handled or
                # unanswered outcome wins first), so containment by queue is always 0.
                g.add(f"{lvl}:smartassist_conversations_bot_resolved:ratio_rate{w}",
                      f"{s(by, conv + BOT)}\n/\n{s(by, conv)}",
                      f"Bot containment: bot-resolved / finished conversations, over {w}.")
    return g


def queues():
    g = Group("smartassist-queues",
              "Queue KPIs: ASA, service level at 20 s and 30 s, abandonment, callback opt-in.")
    for w in WINDOWS:
        r = {}
        for key, metric in [("entries", "smartassist_queue_entries_total"),
                            ("answered", "smartassist_queue_answered_total"),
                            ("abandoned", "smartassist_queue_abandoned_total"),
                            ("callbacks", "smartassist_callbacks_opted_total"),
                            ("wait_sum", "smartassist_queue_wait_seconds_sum"),
                            ("wait_count", "smartassist_queue_wait_seconds_count")]:
            name = metric.removesuffix("_total")
            rec, expr = fine_rate(name, metric, w)
            g.add(rec, expr)
            r[key] = rec
        rec, expr = fine_rate("smartassist_queue_wait_seconds_bucket", "smartassist_queue_wait_seconds_bucket", w,
                              matcher=le("20|30"), extra="le")
        g.add(rec, expr, "Only the buckets the service levels need (20 s, 30 s): keep both in buckets.queue_wait.")
        r["bucket"] = rec
        for lvl, by in LEVELS:
            offered = f"{lvl}:smartassist_queue_offered:rate{w}"
            # Callback-opted entries are not queue waits (the customer hung up and was called
            # back), so neither the answered-within buckets nor this denominator count them:
            # an answered entry counts through its queue wait.
            g.add(offered, f"{s(by, r['wait_count'])}\n+\n{s(by, r['abandoned'])}",
                  f"Offered contacts (queue entries answered without a callback, each with its queue wait, + abandoned ones) per second, over {w}: the service-level denominator.")
            g.add(f"{lvl}:smartassist_queue_wait_seconds:mean{w}",
                  f"{s(by, r['wait_sum'])}\n/\n{s(by, r['wait_count'])}",
                  f"ASA, average speed of answer (queue wait of answered entries), over {w}.")
            for t in ["20", "30"]:
                g.add(f"{lvl}:smartassist_service_level_{t}s:ratio_rate{w}",
                      f"{s(by, r['bucket'] + '{' + le(t) + '}')}\n/\n{offered}",
                      f"Service level: answered within {t} s / (answered without a callback + abandoned), over {w}.")
            # Over offered, not over entries: an entry that overflowed to another queue is
            # neither answered nor abandoned, and summed over queues it would count the
            # conversation twice. One denominator for abandonment and service level.
            g.add(f"{lvl}:smartassist_queue_abandoned:ratio_rate{w}",
                  f"{s(by, r['abandoned'])}\n/\n{offered}",
                  f"Abandonment: abandoned / offered contacts (answered without a callback + abandoned), over {w}.")
            g.add(f"{lvl}:smartassist_callbacks_opted:ratio_rate{w}",
                  f"{s(by, r['callbacks'])}\n/\n{s(by, r['entries'])}",
                  f"Callback opt-in: callback-opted / queue entries, over {w}.")
    return g


def agents():
    g = Group("smartassist-agents", "Agent KPIs: AHT, after-call work, first response p50 / p90.")
    for w in WINDOWS:
        r = {}
        for key, metric in [("handle_sum", "smartassist_handle_time_seconds_sum"),
                            ("handle_count", "smartassist_handle_time_seconds_count"),
                            ("acw_sum", "smartassist_after_call_work_seconds_sum"),
                            ("acw_count", "smartassist_after_call_work_seconds_count"),
                            ("interactions", "smartassist_agent_interactions_total")]:
            rec, expr = fine_rate(metric.removesuffix("_total"), metric, w)
            g.add(rec, expr)
            r[key] = rec
        rec, expr = fine_rate("smartassist_first_response_seconds_bucket", "smartassist_first_response_seconds_bucket", w,
                              extra="le")
        g.add(rec, expr)
        r["fr"] = rec
        for lvl, by in LEVELS:
            g.add(f"{lvl}:smartassist_handle_time_seconds:mean{w}",
                  f"{s(by, r['handle_sum'])}\n/\n{s(by, r['handle_count'])}",
                  f"AHT, average handle time (interaction + after-call work), over {w}.")
            g.add(f"{lvl}:smartassist_after_call_work_seconds:mean{w}",
                  f"{s(by, r['acw_sum'])}\n/\n{s(by, r['acw_count'])}",
                  f"Average after-call work, over {w}.")
            for q in ["0.5", "0.9"]:
                g.add(f"{lvl}:smartassist_first_response_seconds:histogram_quantile{w}",
                      f"histogram_quantile({q}, {s(by + ', le', r['fr'])})",
                      f"First response p{int(float(q) * 100)}, over {w}.", labels={"quantile": q})
    return g


# Surveys are sparse (a few answers an hour per queue): besides 5m and 1h they get a 1d window,
# the one the survey PromQL of docs/metrics.md uses.
SURVEY_WINDOWS = WINDOWS + ["1d"]


def surveys():
    g = Group("smartassist-surveys",
              "Survey KPIs: CSAT average and % satisfied, NPS, like ratio, answers per conversation.")
    for w in SURVEY_WINDOWS:
        r = {}
        for key, metric in [("csat_sum", "smartassist_csat_score_sum"),
                            ("csat_count", "smartassist_csat_score_count"),
                            ("nps_count", "smartassist_nps_score_count")]:
            rec, expr = fine_rate(metric, metric, w)
            g.add(rec, expr)
            r[key] = rec
        rec, expr = fine_rate("smartassist_csat_score_bucket", "smartassist_csat_score_bucket", w,
                              matcher=le("3"), extra="le")
        g.add(rec, expr)
        r["csat_le"] = rec
        rec, expr = fine_rate("smartassist_nps_score_bucket", "smartassist_nps_score_bucket", w,
                              matcher=le("6|8"), extra="le")
        g.add(rec, expr)
        r["nps_le"] = rec
        rec, expr = fine_rate("smartassist_survey_likes", "smartassist_survey_likes_total", w, extra="vote")
        g.add(rec, expr)
        r["likes"] = rec
        # The response rate's denominator, kept in this group so that its 1d window exists.
        rec, expr = fine_rate("smartassist_conversations", "smartassist_conversations_total", w)
        g.add(rec, expr, f"Finished conversations per second (all outcomes), over {w}: answers per conversation.")
        r["conv"] = rec
        for lvl, by in LEVELS:
            g.add(f"{lvl}:smartassist_csat_score:mean{w}",
                  f"{s(by, r['csat_sum'])}\n/\n{s(by, r['csat_count'])}",
                  f"CSAT average (1-5), over {w}.")
            g.add(f"{lvl}:smartassist_csat_responses:rate{w}", s(by, r["csat_count"]),
                  f"CSAT answers per second, over {w} (the volume behind the average).")
            g.add(f"{lvl}:smartassist_csat_satisfied:ratio_rate{w}",
                  f"1 - {s(by, r['csat_le'] + '{' + le('3') + '}')}\n/\n{s(by, r['csat_count'])}",
                  f"Share of CSAT answers that are satisfied (4 or 5), over {w}.")
            g.add(f"{lvl}:smartassist_nps_score:net_promoter_points{w}",
                  f"100 * (\n  {s(by, r['nps_count'])}\n  - {s(by, r['nps_le'] + '{' + le('8') + '}')}\n"
                  f"  - {s(by, r['nps_le'] + '{' + le('6') + '}')}\n)\n/\n{s(by, r['nps_count'])}",
                  f"NPS in points: % promoters (9-10) minus % detractors (0-6), over {w}.")
            g.add(f"{lvl}:smartassist_nps_responses:rate{w}", s(by, r["nps_count"]),
                  f"NPS answers per second, over {w} (the volume behind the score).")
            g.add(f"{lvl}:smartassist_survey_likes:ratio_rate{w}",
                  f"{s(by, r['likes'] + LIKE)}\n/\n{s(by, r['likes'])}",
                  f"Like ratio: likes / (likes + dislikes), over {w}.")
            g.add(f"{lvl}:smartassist_survey_responses:ratio_rate{w}",
                  f"(\n  {s(by, r['csat_count'])}\n  + {s(by, r['nps_count'])}\n"
                  f"  + {s(by, r['likes'])}\n)\n/\n{s(by, r['conv'])}",
                  f"Survey response rate: CSAT, NPS and like/dislike answers per finished conversation, over {w}"
                  " (a conversation answering two surveys counts twice).")
    return g


AGENT_HANDLED = '{outcome="agent_handled"}'


def handoffs():
    g = Group("smartassist-handoffs",
              "Hand-offs: transfer rate, callback wait, hold, time to accept, bot escalation rate.")
    for w in WINDOWS:
        r = {}
        for key, metric in [("transfers", "smartassist_transfers_total"),
                            ("cb_sum", "smartassist_callback_wait_seconds_sum"),
                            ("cb_count", "smartassist_callback_wait_seconds_count"),
                            ("hold_sum", "smartassist_hold_seconds_sum"),
                            ("hold_count", "smartassist_hold_seconds_count"),
                            ("accept_sum", "smartassist_agent_accept_seconds_sum"),
                            ("accept_count", "smartassist_agent_accept_seconds_count")]:
            rec, expr = fine_rate(metric.removesuffix("_total"), metric, w)
            g.add(rec, expr)
            r[key] = rec
        # The outcomes group's layer-1 rule, by outcome.
        conv = f"{FINE}_outcome:smartassist_conversations:rate{w}"
        for lvl, by in LEVELS:
            # Transfers are counted by the queue entry they belong to, conversations by their
            # last queue: by source and channel the ratio is exact, by queue it is "transfers
            # out of this queue per conversation ending in it".
            g.add(f"{lvl}:smartassist_transfers:ratio_rate{w}",
                  f"{s(by, r['transfers'])}\n/\n{s(by, conv + AGENT_HANDLED)}",
                  f"Transfer rate: transfers per agent-handled conversation, over {w}.")
            g.add(f"{lvl}:smartassist_callback_wait_seconds:mean{w}",
                  f"{s(by, r['cb_sum'])}\n/\n{s(by, r['cb_count'])}",
                  f"Average callback wait (callback opt-in to the answering agent's accept), over {w}.")
            g.add(f"{lvl}:smartassist_hold_seconds:mean{w}",
                  f"{s(by, r['hold_sum'])}\n/\n{s(by, r['hold_count'])}",
                  f"Average hold time of answered segments, over {w}.")
            g.add(f"{lvl}:smartassist_agent_accept_seconds:mean{w}",
                  f"{s(by, r['accept_sum'])}\n/\n{s(by, r['accept_count'])}",
                  f"Average time to accept (assignedAt to acceptedTime), over {w}.")
        # Bot series carry bot, not queue: their own levels.
        for lvl, by in [("source", "source"), ("source_bot", "source, bot")]:
            g.add(f"{lvl}:smartassist_bot_escalations:ratio_rate{w}",
                  f"sum by ({by}) (rate(smartassist_bot_escalations_total[{w}]))\n/\n"
                  f"sum by ({by}) (rate(smartassist_bot_sessions_total[{w}]))",
                  f"Bot escalation rate: conversations that left the bot for a queue or an agent / conversations with a bot, over {w}.")
    return g


def render(groups):
    out = [
        "# KPI recording rules of smartassist-exporter (docs/metrics.md: \"Recording rules\").",
        "# GENERATED by scripts/gen/rules.py: edit that script and run it, do not edit by hand.",
        "#",
        "# Naming: level:metric:operations. Layer 1 (level source_queue_channel_direction[_x]) are",
        "# per-second rates that dashboards aggregate under any filter; layer 2 (levels source,",
        "# source_queue, source_channel) are the KPIs. Ratios are NaN when nothing happened.",
        "groups:",
    ]
    for g in groups:
        out.append(f"  # {g.doc}")
        out.append(f"  - name: {g.name}")
        out.append("    rules:")
        for record, expr, comment, labels in g.rules:
            if comment:
                out.append(f"      # {comment}")
            out.append(f"      - record: {record}")
            out.append("        expr: |-")
            for line in expr.split("\n"):
                out.append(f"          {line}")
            if labels:
                out.append("        labels:")
                for k, v in labels.items():
                    out.append(f'          {k}: "{v}"')
    return "\n".join(out) + "\n"


def main():
    text = render([outcomes(), queues(), agents(), surveys(), handoffs()])
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            print(f"{OUT} is not what scripts/gen/rules.py writes; run it", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
