"""What the running bot counts, for Prometheus at GET /metrics (README: Production, Metrics and health).

One registry for the process, as Prometheus expects: each bot process is scraped on its own and the sums are taken
in Prometheus. Labels are only ever fixed words (a channel's name, an outcome, a route's pattern, a logger's name),
never a person, a survey answer or a code someone typed, so nothing personal can reach the metrics.
"""

from __future__ import annotations

import logging

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

disable_created_metrics()  # the *_created series only double what a scrape shows

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the classic text format, which every Prometheus release reads
# From a fast commit to a slow retry loop, and an HTTP reply that waited for Telegram's pacing (one a second per chat)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # memory, CPU, open files: on Linux, from /proc
        self.answers = Counter("surveybot_answers_stored", "Answers stored (counted after their commit).",
                               ["channel"], registry=r)
        self.completed = Counter("surveybot_responses_completed", "Responses completed.", ["channel"], registry=r)
        self.duplicates = Counter("surveybot_duplicate_events",
                                  "Platform events delivered again and recognised (nothing done twice).",
                                  ["channel"], registry=r)
        self.conflicts = Counter("surveybot_conflict_retries",
                                 "Transactions retried because the same conversation changed concurrently.",
                                 registry=r)
        self.broadcasts = Counter("surveybot_broadcast_messages",
                                  "Campaign invitations and reminders by outcome: sent, unreachable, skipped.",
                                  ["channel", "outcome"], registry=r)
        self.throttled = Counter("surveybot_throttled", "Times a platform asked us to slow down (HTTP 429).",
                                 ["channel"], registry=r)
        self.errors = Counter("surveybot_errors", "Errors logged, by the part of the bot that logged them.",
                              ["logger"], registry=r)
        self.answer_seconds = Histogram("surveybot_answer_seconds",
                                        "Time to handle what a person did, from the use case starting to its commit "
                                        "(retries included).", ["channel"], buckets=BUCKETS, registry=r)
        self.http_seconds = Histogram("surveybot_http_request_seconds",
                                      "Time to answer an HTTP request (webhooks answer after storing and replying).",
                                      ["route"], buckets=BUCKETS, registry=r)
        self.leader = Gauge("surveybot_scheduler_leader", "1 while this process schedules and sends campaigns.",
                            registry=r)

    def channel(self, name: str) -> None:
        """Show a channel's counters at zero from the start, so rates and alerts work before the first event."""
        self.answers.labels(name)
        self.completed.labels(name)
        self.duplicates.labels(name)
        self.throttled.labels(name)
        for outcome in ("sent", "unreachable", "skipped"):
            self.broadcasts.labels(name, outcome)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = Metrics()


class ErrorCounter(logging.Handler):
    """Counts every log record at ERROR or above, so /metrics shows errors however they were handled."""

    def __init__(self, metrics: Metrics = METRICS) -> None:
        super().__init__(level=logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        self.metrics.errors.labels(record.name).inc()
