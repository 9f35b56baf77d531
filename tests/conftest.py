"""Shared fixtures. Integration tests talk to the real Kafka broker and PostgreSQL server that
`make up` starts; each test package uses its own database (copied from a migrated template of
the session) and its own topic prefix, and removes both at the end."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from kj_runtime.city_store import store_city
from kj_runtime.db import connect
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import KafkaSettings, PostgresSettings

from .isolation import package_database, package_topics
from .stack import SAMPLE_CITY, admin_connection


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path) or "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def kafka_settings(run_id: str) -> KafkaSettings:
    return KafkaSettings(topic_prefix=f"test-{run_id}.")


@pytest.fixture(scope="session")
def pg_settings(run_id: str) -> PostgresSettings:
    return PostgresSettings(database=f"kj_test_{run_id}")


@pytest.fixture(scope="session")
async def empty_database(pg_settings: PostgresSettings) -> AsyncIterator[PostgresSettings]:
    """A database of its own for this test session, created empty and dropped at the end."""
    admin = await admin_connection(pg_settings)
    try:
        await admin.execute(f'create database "{pg_settings.database}"')
        yield pg_settings
        await admin.execute(f'drop database if exists "{pg_settings.database}" with (force)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def template_database(empty_database: PostgresSettings) -> PostgresSettings:
    """The session's database, migrated, with the sample city loaded: the template that each
    test package's own database is copied from."""
    apply_migrations(empty_database)
    await store_city(empty_database, SAMPLE_CITY)
    return empty_database


# the tests directly under tests/ share one pair; each service's package defines its own
database = package_database()
topics = package_topics()


@pytest.fixture
async def db(database: PostgresSettings) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(database)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def tmp_city(tmp_path: Path) -> Iterator[Path]:
    """A copy of the sample city that a test may break."""
    import shutil

    target = tmp_path / "city"
    shutil.copytree(SAMPLE_CITY, target, ignore=shutil.ignore_patterns("*.py"))
    yield target
