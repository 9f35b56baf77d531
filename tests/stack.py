"""Helpers for tests that use the real servers."""

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from kj_runtime.db import wait_for_postgres
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings

SAMPLE_CITY = REPO_ROOT / "cities" / "shaoyang"


async def admin_connection(settings: PostgresSettings) -> asyncpg.Connection:
    await wait_for_postgres(settings.model_copy(update={"database": "postgres"}), deadline_s=30)
    return await asyncpg.connect(settings.model_copy(update={"database": "postgres"}).dsn())


async def delete_topics(settings: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()
