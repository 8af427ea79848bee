"""Prometheus metrics beyond the request metrics of prometheus-fastapi-instrumentator, and their
exposition: with several workers (``serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR``) each
counts into files of that folder and a scrape, whichever worker answers, adds them all up."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from credit_engine.records import today_in_beijing
from credit_engine.workflows import overdue_counts

GRADES_SERVED = Counter(
    "credit_engine_grades_served", "Grades returned to regulators, by model version", ["model_version"]
)


def count_served(grades: list[dict]) -> None:
    """Each grade a response carries (a lookup's one, a page's or a history's many)."""
    for grade in grades:
        GRADES_SERVED.labels(model_version=grade["model_version"]).inc()


class OverdueCases(Collector):
    """Pending repair applications and objections past their deadline, counted at each scrape
    (a case becomes overdue by the calendar alone, with no write to count it). One process serves
    one store: the service started last is the one counted."""

    def __init__(self) -> None:
        self.engine: Engine | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.engine is None:
            return
        family = GaugeMetricFamily(
            "credit_engine_cases_overdue", "Pending cases past their decision deadline", labels=["kind"]
        )
        with self.engine.connect() as conn:
            for kind, count in overdue_counts(conn, today_in_beijing()).items():
                family.add_metric([kind], count)
        yield family


OVERDUE = OverdueCases()
REGISTRY.register(OVERDUE)


def exposition() -> bytes:
    """The text a scrape gets: every worker's counts, and the overdue cases read from the store."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(OVERDUE)
    return generate_latest(registry)
