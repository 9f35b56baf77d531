"""Helpers for tests that use the real servers."""

import asyncpg

from kj_runtime.db import wait_for_postgres
from kj_runtime.settings import REPO_ROOT, PostgresSettings

SAMPLE_CITY = REPO_ROOT / "cities" / "shaoyang"


async def admin_connection(settings: PostgresSettings) -> asyncpg.Connection:
    await wait_for_postgres(settings.model_copy(update={"database": "postgres"}), deadline_s=30)
    return await asyncpg.connect(settings.model_copy(update={"database": "postgres"}).dsn())
