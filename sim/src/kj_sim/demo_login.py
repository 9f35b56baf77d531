"""The demo's console login: user `demo`, a dispatcher, with a password generated for this run
(the last run's stops working). Only its argon2 hash is stored; `make demo` prints it once."""

import secrets

from kj_console.domain.roles import Role
from kj_console.service_layer.auth import add_user
from kj_runtime.db import create_pool
from kj_runtime.settings import PostgresSettings


async def demo_login(postgres: PostgresSettings) -> str:
    password = secrets.token_urlsafe(12)
    pool = await create_pool(postgres, min_size=1, max_size=1)
    try:
        await add_user(
            pool,
            username="demo",
            display_name="演示调度员",
            role=Role.dispatcher,
            password=password,
        )
    finally:
        await pool.close()
    return password
