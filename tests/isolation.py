"""Each test package gets its own database (copied from the session's migrated template) and
its own topic prefix, so one service's tests never read the rows, the load or the deliberate
garbage another's left behind: a consumer group starting from the earliest offset sees only its
own package's records.

pytest ends a package-scoped fixture with the package *where the fixture is defined*, so each
package's conftest defines its pair from these factories:

    from tests.isolation import package_database, package_topics
    database = package_database()
    topics = package_topics()
"""

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kj_runtime.kafka import create_topics, delete_topics, wait_for_kafka
from kj_runtime.settings import KafkaSettings, PostgresSettings

from .stack import admin_connection


def suite_name(request: pytest.FixtureRequest) -> str:
    """A short name for the test package a package-scoped fixture serves (its folder)."""
    where = Path(str(request.node.path))
    folder = where if where.is_dir() else where.parent
    return re.sub(r"[^a-z0-9]+", "_", folder.name.lower())


def package_database() -> Callable[..., Any]:
    @pytest.fixture(scope="package")
    async def database(
        template_database: PostgresSettings, request: pytest.FixtureRequest
    ) -> AsyncIterator[PostgresSettings]:
        name = f"{template_database.database}_{suite_name(request)}"
        admin = await admin_connection(template_database)
        try:
            await admin.execute(f'drop database if exists "{name}" with (force)')
            await admin.execute(f'create database "{name}" template "{template_database.database}"')
            yield template_database.model_copy(update={"database": name})
            await admin.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await admin.close()

    return database


def package_topics() -> Callable[..., Any]:
    @pytest.fixture(scope="package")
    async def topics(
        kafka_settings: KafkaSettings, request: pytest.FixtureRequest
    ) -> AsyncIterator[KafkaSettings]:
        settings = kafka_settings.model_copy(
            update={"topic_prefix": f"{kafka_settings.topic_prefix}{suite_name(request)}."}
        )
        await wait_for_kafka(settings, deadline_s=60)
        created, _ = await create_topics(settings)
        yield settings
        await delete_topics(settings, created)

    return topics
