"""Shared fixtures: paths to ../shared, and the two storage backends every store test runs on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from browser import browser, open_page, playwright_session  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
PG_URL = os.environ.get("SAKSI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SAKSI_REQUIRE_POSTGRES") == "1"


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}".strip()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    reason = _postgres_unavailable()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"SAKSI_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return PG_URL


def drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None selects SQLite in the election folder; otherwise a PostgreSQL URL with its own
    schema, dropped after the test."""
    if request.param == "sqlite":
        yield None
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield f"{base}?saksi_schema={schema}"
    drop_schema(schema)
