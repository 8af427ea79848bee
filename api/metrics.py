"""Prometheus metrics beyond the request metrics of prometheus-fastapi-instrumentator."""

from prometheus_client import Counter

GRADES_SERVED = Counter("credit_engine_grades_served", "Grades returned to regulators, by model version",
                        ["model_version"])
