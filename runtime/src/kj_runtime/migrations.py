"""Versioned schema migrations in migrations/*.sql, applied by yoyo (transactional, locked,
recorded in its own table). Safe to run again: applied ones are skipped."""

from pathlib import Path

from yoyo import get_backend, read_migrations

from kj_runtime.settings import REPO_ROOT, PostgresSettings

MIGRATIONS_DIR = REPO_ROOT / "migrations"


def apply_migrations(settings: PostgresSettings, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is pending; returns the ids applied now (empty when up to date)."""
    backend = get_backend(settings.dsn(scheme="postgresql+psycopg"))
    migrations = read_migrations(str(directory))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]
