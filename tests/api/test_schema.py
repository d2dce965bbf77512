"""schemathesis against `saksi serve` on 127.0.0.1: a bounded number of generated requests
per operation of /openapi.json; no 5xx, and every answer as the document says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from api_helpers import build_election, running
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from saksi.api.openapi import openapi_document

schema = schemathesis.openapi.from_dict(openapi_document("pemilu2019"))


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = build_election(tmp_path_factory.mktemp("schema"))
    with running(folder, "--address-rate", "100000", "--key-rate", "100000") as served:
        yield served


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_answer_matches_the_document(case, url):  # type: ignore[no-untyped-def]
    case.call_and_validate(
        base_url=url,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
