"""The console's users, for the `kj-console users` commands."""

import asyncpg

from kj_console.adapters import users
from kj_console.adapters.users import User


async def disable_user(pool: asyncpg.Pool, username: str) -> bool:
    return await users.disable(pool, username)


async def list_users(pool: asyncpg.Pool) -> list[User]:
    return await users.all_users(pool)
