"""Property-based: schemathesis generates requests from the app's own OpenAPI (a bounded number
per operation), sent with an admin key, and no response may be a server error."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Province

pytestmark = pytest.mark.xdist_group("api")

EXAMPLES = 25


def test_no_operation_answers_with_a_server_error(app: FastAPI, client: TestClient, province: Province) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    seen: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            response = client.request(**case.as_transport_kwargs(headers={"X-API-Key": province.keys["admin"]}))
            seen[response.status_code] += 1
            assert response.status_code < 500, f"{operation.label}: {response.status_code} {response.text[:300]}"

        no_server_error()
    assert seen[200] > 20 and seen[422] > 20  # the generated requests reached the handlers and the validation
