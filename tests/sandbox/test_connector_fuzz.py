"""Property-based requests generated from the connector's own OpenAPI document (schemathesis):
at least 1,000 requests over every operation, answered without a 5xx and within the documented
statuses, content types, headers and schemas. Writes that pass reach the ledger for real."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from connectors import Connectors
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.sandbox

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 30  # per operation; the connector has over 40


def test_connector_openapi_properties(connectors: Connectors) -> None:
    schema = schemathesis.openapi.from_url(f"{connectors.urls['bsp1']}/openapi.json")
    auth = {"Authorization": connectors.client("bsp1").headers["Authorization"]}
    sent: list[int] = []
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    for operation in operations:
        if operation.path == "/events":  # the live stream never ends by itself
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers={**auth, **(case.headers or {})}, timeout=30)
            sent.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
    assert len(sent) >= 1000, (
        f"only {len(sent)} generated requests over {len(operations)} operations"
    )
    assert not [s for s in sent if s >= 500]
