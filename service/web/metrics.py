"""Expose figures for operators at ``GET /metrics`` in the Prometheus text format.

The figures come from the job runner at scrape time: its queue (what waits,
runs and failed, and how many workers there are) and its running totals
(jobs, synthesis seconds, sentences made or reused, audio bytes served). With
RQ both live in Redis, so every web process of every node answers with the
same cluster-wide figures: scrape any one of them. In process, they are those
of the process that answers, which is the whole service in the default
single-process setup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from service.errors import ListenError
from service.library import Library
from service.web.access import require_key_when_set
from service.web.files import AccelResponse

log = logging.getLogger(__name__)

metrics = Blueprint("metrics", __name__)

REGISTRY_EXTENSION = "listen.metrics"
AUDIO_ENDPOINTS = frozenset({"api.audio", "api.stream"})
"""Endpoints whose response bodies count as audio bytes served."""


class RunnerCollector(Collector):
    """Read the runner's queue figures and totals each time Prometheus scrapes."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def collect(self) -> Iterable[Metric]:
        try:
            found = self.library.figures()
        except ListenError as error:
            log.warning("metrics without queue figures: %s", error)
            yield GaugeMetricFamily("listen_queue_up", "1 when the job queue answers.", value=0)
            return
        if found is None:
            return
        figures, totals = found
        yield GaugeMetricFamily("listen_queue_up", "1 when the job queue answers.", value=1)
        yield GaugeMetricFamily(
            "listen_jobs_queued", "Narration jobs waiting for a worker.", value=figures.queued
        )
        yield GaugeMetricFamily(
            "listen_jobs_running", "Narration jobs being carried out.", value=figures.running
        )
        yield GaugeMetricFamily(
            "listen_jobs_failed", "Failed narration jobs still remembered.", value=figures.failed
        )
        yield GaugeMetricFamily(
            "listen_workers", "Processes able to run narration jobs.", value=figures.workers
        )
        yield CounterMetricFamily(
            "listen_jobs_started", "Narration jobs queued.", value=totals["jobs_started"]
        )
        finished = CounterMetricFamily(
            "listen_jobs_finished", "Narration jobs that ended, by outcome.", labels=["outcome"]
        )
        finished.add_metric(["succeeded"], totals["jobs_succeeded"])
        finished.add_metric(["failed"], totals["jobs_failed"])
        yield finished
        yield SummaryMetricFamily(
            "listen_synthesis_seconds",
            "Wall-clock seconds of narration jobs.",
            count_value=int(totals["jobs_succeeded"] + totals["jobs_failed"]),
            sum_value=totals["synthesis_seconds"],
        )
        sentences = CounterMetricFamily(
            "listen_sentences",
            "Sentences put into narrations, by whether the cache had their clip.",
            labels=["cache"],
        )
        sentences.add_metric(["hit"], totals["sentences_cached"])
        sentences.add_metric(["miss"], totals["sentences_synthesized"])
        yield sentences
        yield CounterMetricFamily(
            "listen_audio_bytes_served",
            "Audio bytes sent to listeners (files, ranges and live streams).",
            value=totals["bytes_served"],
        )


def init_metrics(app: Flask) -> None:
    """Add ``GET /metrics`` and count the audio bytes every response sends."""
    library: Library = app.extensions["listen"].library
    registry = CollectorRegistry()
    registry.register(RunnerCollector(library))
    app.extensions[REGISTRY_EXTENSION] = registry
    app.register_blueprint(metrics)
    if library.keeps_figures:
        app.after_request(lambda response: _count_audio_bytes(response, library))


@metrics.get("/metrics")
def scrape() -> Response:
    """Answer with every metric in the Prometheus text format."""
    from flask import current_app

    require_key_when_set("read the metrics")
    registry: CollectorRegistry = current_app.extensions[REGISTRY_EXTENSION]
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _count_audio_bytes(response: Response, library: Library) -> Response:
    if response.status_code not in (200, 206) or request.endpoint not in AUDIO_ENDPOINTS:
        return response
    if request.method != "GET":
        return response
    length = response.headers.get("Content-Length", type=int)
    if isinstance(response, AccelResponse):
        library.count_served(response.sent_bytes)
    elif length is not None:
        library.count_served(length)
    else:  # a live stream: count what actually leaves
        response.response = _counting(response.response, library)
    return response


def _counting(chunks: Iterable[Any], library: Library) -> Iterator[Any]:
    """Pass a live stream through, adding what was sent once it ends or the listener leaves."""
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        library.count_served(sent)
