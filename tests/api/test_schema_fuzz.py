"""Property-based: schemathesis generates requests from the app's own OpenAPI (a bounded number
per operation), sent with the key of every role and with none, and no response may be a server
error; then its stateful phase chains operations along the links it infers (a filed case read
back by its ticket, a plan drawn, a draw revealed), again with no server error."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.api.conftest import Province

pytestmark = pytest.mark.xdist_group("api")

#: examples per operation: the admin reaches every handler; the other roles mostly their refusals
EXAMPLES = {"admin": 25, "regulator": 6, "scoped": 6, "inspection": 6, "analyst": 6, None: 4}


def _schema(app: FastAPI, province: Province):
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers={"X-API-Key": province.keys["admin"]})


def test_no_operation_answers_with_a_server_error(app: FastAPI, client: TestClient, province: Province) -> None:
    schema = _schema(app, province)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    seen: Counter[tuple[str | None, int]] = Counter()
    for role, examples in EXAMPLES.items():
        headers = {"X-API-Key": province.keys[role]} if role else {}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def no_server_error(case: schemathesis.Case) -> None:
                response = client.request(**case.as_transport_kwargs(headers=headers))
                seen[role, response.status_code] += 1
                assert response.status_code < 500, (
                    f"{role} {operation.label}: {response.status_code} {response.text[:300]}"
                )

            no_server_error()
    assert seen["admin", 200] > 20 and seen["admin", 422] > 20  # the requests reached the handlers and validation
    assert seen[None, 401] > 10 and seen["analyst", 403] > 10  # and the other roles their refusals


def test_chained_operations_answer_without_a_server_error(app: FastAPI, client: TestClient, province: Province) -> None:
    schema = _schema(app, province)
    headers = {"X-API-Key": province.keys["admin"]}
    statuses: Counter[int] = Counter()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            return {"headers": headers}

        def validate_response(self, response, case: schemathesis.Case, **kwargs: object) -> None:
            statuses[response.status_code] += 1
            assert response.status_code < 500, f"{case.operation.label}: {response.status_code} {response.text[:300]}"

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=12,
            stateful_step_count=5,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert sum(statuses.values()) >= 12 and statuses[200] + statuses[201] > 0
