#!/usr/bin/env python3
"""The exporter's ingest path, written the way a Python exporter would: for comparison only.

The same page as `cargo bench --bench ingest` (the ten seed records cycled to 100, each with
fresh ids), parsed with the standard `json` module and counted into `prometheus_client`
metrics of the same families and labels: conversations by outcome, queue entries, answered,
abandoned and overflows, callback opt-ins, queue wait, agent interactions, first response,
interaction, after-call work and handle time, CSAT and NPS, voicemails and disconnects. The
rules are simplified (no lenient number parsing, no label caps, no rejected-value counting),
so it does less work per record than the exporter; it is a floor for what Python costs, not a
port. Each round gets an empty dedupe set, as in the Rust bench, so every record is new.

Run: `pip install prometheus_client` then `python3 benches/python/ingest_equivalent.py`
(from the repository root). Prints records/s, the median of several rounds.
"""

import json
import re
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram

ROOT = Path(__file__).resolve().parents[2]
TZ_OFFSET_MINUTES = -330  # the Rust bench's timeZoneOffset

QUEUE_LABELS = ["source", "queue_id", "queue", "channel", "direction"]
WAIT = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800]
FIRST = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300]
HANDLE = [30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600]
ACW = [5, 10, 15, 30, 60, 90, 120, 180, 300, 600]


def page_of_100():
    seed = json.loads((ROOT / "tests/fixtures/seed-sample-response.json").read_text())
    records = seed["data"]
    data = []
    for i in range(100):
        r = json.loads(json.dumps(records[i % len(records)]))
        if "conversationId" in r:
            r["conversationId"] = f"c-bench-{i:04}"
        r["sessionId"] = f"s-bench-{i:04}"
        data.append(r)
    return json.dumps({"numResults": 100, "data": data}).encode()


def fold(s):
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


def slug(s, empty):
    s = re.sub(r"[^a-z0-9]+", "_", str(s or "").strip().lower()).strip("_")
    return s or empty


def parse_time(text):
    if not isinstance(text, str) or not text.strip():
        return None
    t = text.strip().replace(" ", "T", 1)
    try:
        if t.endswith("Z"):
            return datetime.fromisoformat(t[:-1]).replace(tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(t)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc) + timedelta(minutes=TZ_OFFSET_MINUTES)
    return parsed


def seconds(a, b):
    if a is None or b is None:
        return None
    d = (b - a).total_seconds()
    return d if d >= 0 else None


def number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


class Families:
    def __init__(self):
        r = self.registry = CollectorRegistry()
        q = QUEUE_LABELS
        self.conversations = Counter("smartassist_conversations", "", q + ["outcome"], registry=r)
        self.entries = Counter("smartassist_queue_entries", "", q, registry=r)
        self.answered = Counter("smartassist_queue_answered", "", q, registry=r)
        self.abandoned = Counter("smartassist_queue_abandoned", "", q, registry=r)
        self.overflows = Counter("smartassist_queue_overflows", "", q, registry=r)
        self.callbacks = Counter("smartassist_callbacks_opted", "", q, registry=r)
        self.wait = Histogram("smartassist_queue_wait_seconds", "", q, buckets=WAIT, registry=r)
        self.interactions = Counter("smartassist_agent_interactions", "", q, registry=r)
        self.first = Histogram("smartassist_first_response_seconds", "", q, buckets=FIRST, registry=r)
        self.interaction = Histogram("smartassist_interaction_seconds", "", q, buckets=HANDLE, registry=r)
        self.acw = Histogram("smartassist_after_call_work_seconds", "", q, buckets=ACW, registry=r)
        self.handle = Histogram("smartassist_handle_time_seconds", "", q, buckets=HANDLE, registry=r)
        self.csat = Histogram("smartassist_csat_score", "", q, buckets=[1, 2, 3, 4, 5], registry=r)
        self.nps = Histogram("smartassist_nps_score", "", q, buckets=list(range(11)), registry=r)
        self.voicemails = Counter("smartassist_voicemails", "", ["source", "channel", "direction"], registry=r)
        self.disconnects = Counter("smartassist_disconnects", "", ["source", "channel", "direction", "event"], registry=r)


def channel_label(raw):
    f = fold(raw)
    return {"voice": "voice", "webmobileclient": "chat", "rtm": "chat", "systemmail": "email", "": "unknown"}.get(
        f, slug(raw, "unknown"))


def ingest(body, seen, m):
    page = json.loads(body)
    counted = 0
    for r in page.get("data") or []:
        if not isinstance(r, dict):
            continue
        key = (r.get("conversationId") or "").strip() or (r.get("sessionId") or "").strip()
        if not key:
            continue
        end = parse_time(r.get("sessionEndTime"))
        if end is None or key in seen:
            continue
        seen.add(key)
        counted += 1
        channel = channel_label(r.get("channel"))
        direction = {"inbound": "inbound", "outbound": "outbound"}.get(
            fold(r.get("Direction") or r.get("direction") or ""), "unknown")
        entries, answered_any = [], False
        for d in r.get("destinations") or []:
            if not isinstance(d, dict):
                continue
            if fold(d.get("destinationType")) == "queueentry":
                labels = ("src", (d.get("queueId") or "").strip(),
                          (d.get("queueName") or d.get("queueId") or "").strip(), channel, direction)
                agent = d.get("respondingAgent") or {}
                answered = fold(agent.get("status")) == "answered" or (
                    not agent.get("status") and bool(agent.get("acceptedTime")))
                entries.append((labels, d, agent, answered))
        for i, (labels, d, agent, answered) in enumerate(entries):
            m.entries.labels(*labels).inc()
            opted = fold(d.get("CallbackOpted")) in ("true", "yes")
            if opted:
                m.callbacks.labels(*labels).inc()
            if answered:
                answered_any = True
                m.answered.labels(*labels).inc()
                m.interactions.labels(*labels).inc()
                wait = seconds(parse_time(d.get("EnterTime")), parse_time(agent.get("acceptedTime")))
                if wait is not None:
                    m.wait.labels(*labels).observe(wait)
                fr = number(agent.get("firstResponseDuration"))
                if fr is not None and fr >= 0:
                    m.first.labels(*labels).observe(fr)
                it = number(agent.get("interactionDuration"))
                acw = number(agent.get("afterCallWorkDuration"))
                if acw is not None and acw >= 0:
                    m.acw.labels(*labels).observe(acw)
                if it is not None and it >= 0:
                    m.interaction.labels(*labels).observe(it)
                    m.handle.labels(*labels).observe(it + (acw or 0))
            elif not opted:
                (m.overflows if i + 1 < len(entries) else m.abandoned).labels(*labels).inc()
        markers = [r.get("reason"), r.get("Reason")] + list(r.get("dispositions") or [])
        if answered_any:
            outcome = "agent_handled"
        elif any(fold(x) == "dropoff" for x in markers if isinstance(x, str)):
            outcome = "dropped"
        elif entries:
            outcome = "unanswered"
        elif fold(r.get("finalStatus")) == "botresolved" or fold(r.get("smartStatus")) == "closedatbot":
            outcome = "bot_resolved"
        else:
            outcome = "other"
        last = entries[-1][0] if entries else ("src", "", "", channel, direction)
        m.conversations.labels(*last, outcome).inc()
        csat = number(r.get("csatScore"))
        if csat is not None and csat >= 0:
            m.csat.labels(*last).observe(csat)
        nps = number(r.get("npsScore"))
        if nps is not None and 0 <= nps <= 10:
            m.nps.labels(*last).observe(nps)
        if fold(r.get("isVoicemail")) in ("true", "yes"):
            m.voicemails.labels("src", channel, direction).inc()
        m.disconnects.labels("src", channel, direction, slug(r.get("disconnectingEvent"), "none")).inc()
    return counted


def main():
    body = page_of_100()
    m = Families()
    # Every seed record has ended, so all 100 count (as in the Rust bench).
    assert ingest(body, set(), Families()) == 100, "every record of the page is finished and new"

    pages = 200
    rounds = []
    for _ in range(7):
        began = time.perf_counter()
        for _ in range(pages):
            ingest(body, set(), m)
        rounds.append(pages * 100 / (time.perf_counter() - began))
    rounds.sort()
    print(f"python {sys.version.split()[0]} + prometheus_client, pages of 100 seed-like records: "
          f"{statistics.median(rounds) / 1000:.1f} k records/s "
          f"(rounds {rounds[0] / 1000:.1f}-{rounds[-1] / 1000:.1f} k/s)")


if __name__ == "__main__":
    main()
