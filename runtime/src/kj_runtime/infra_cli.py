"""`kj-infra`: the steps of `make up` that speak to the servers: wait until each answers,
apply migrations, create the catalogue's topics, load the city; the nightly prune; what
interrupted test and benchmark runs left behind (`kj-infra strays`); and the dead letters,
listed or sent again to their source topics (`kj-infra deadletters --help`)."""

import argparse
import asyncio
import sys

import asyncpg
from aiokafka.errors import KafkaError

from kj_runtime import deadletters_cli
from kj_runtime.db import wait_for_postgres
from kj_runtime.kafka import (
    create_topics,
    delete_topics,
    list_topics,
    stray_topic_names,
    stray_topics,
    wait_for_kafka,
)
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import ServiceSettings


async def _wait(settings: ServiceSettings, deadline: float) -> None:
    brokers = await wait_for_kafka(settings.kafka, deadline_s=deadline)
    print(f"kafka: {settings.kafka.bootstrap} answers metadata ({brokers} broker)")
    version = await wait_for_postgres(settings.postgres, deadline_s=deadline)
    print(f"postgres: {settings.postgres.host}:{settings.postgres.port} answers (v{version})")


async def _topics(settings: ServiceSettings) -> None:
    created, present = await create_topics(settings.kafka)
    if created:
        print(f"topics: created {', '.join(created)}")
    print(f"topics: {len(present)} already there" if present else "topics: none were there")
    strays = stray_topics(await list_topics(settings.kafka), settings.kafka)
    if strays:
        heads = ", ".join(f"{h} ({n})" for h, n in sorted(strays.items(), key=lambda x: -x[1])[:5])
        print(
            f"topics: {sum(strays.values())} others on the broker, left by test or benchmark runs "
            f"that did not finish? They slow the broker and every benchmark: {heads}. "
            "`make strays DELETE=1` removes them"
        )


# the databases tests and benchmarks make for themselves (tests/conftest.py, bench/*.py)
RUN_DATABASES = ("kj_test_", "kj_bench_")


def stray_databases(names: list[str]) -> list[str]:
    """The databases a test or benchmark run made and did not drop (it was killed)."""
    return sorted(name for name in names if name.startswith(RUN_DATABASES))


async def _strays(settings: ServiceSettings, delete: bool) -> int:
    """List, or with `delete` remove, the topics and databases runs left. A database still in
    use is not dropped (PostgreSQL refuses while a session is connected) and is named; a
    topic has no such guard, so this is for when no test or benchmark is running."""
    topics = await list_topics(settings.kafka)
    names = stray_topic_names(topics, settings.kafka)
    strays = stray_topics(names, settings.kafka)
    admin = await asyncpg.connect(
        settings.postgres.model_copy(update={"database": "postgres"}).dsn()
    )
    try:
        databases = stray_databases(
            [row["datname"] for row in await admin.fetch("select datname from pg_database")]
        )
        print(
            f"strays: {len(names)} topics under {len(strays)} prefixes, {len(databases)} databases"
        )
        if not delete:
            for head, count in sorted(strays.items(), key=lambda x: -x[1]):
                print(f"  topics {head}.* ({count})")
            for name in databases:
                print(f"  database {name}")
            return 0
        await delete_topics(settings.kafka, names)
        in_use = []
        for name in databases:
            try:
                await admin.execute(f'drop database if exists "{name}"')
            except asyncpg.ObjectInUseError:
                in_use.append(name)
    finally:
        await admin.close()
    print(f"strays: deleted {len(names)} topics, dropped {len(databases) - len(in_use)} databases")
    if in_use:
        print(f"strays: in use, kept: {', '.join(in_use)}")
    return 0


def _migrate(settings: ServiceSettings) -> None:
    applied = apply_migrations(settings.postgres)
    if applied:
        print(f"migrations: applied {', '.join(applied)}")
    else:
        print("migrations: up to date")


async def _prune(settings: ServiceSettings) -> None:
    from kj_runtime.db import connect
    from kj_runtime.retention import RetentionSettings, prune, table_sizes

    connection = await connect(settings.postgres)
    try:
        deleted = await prune(connection, RetentionSettings())
        sizes = await table_sizes(connection)
    finally:
        await connection.close()
    print("prune: deleted " + ", ".join(f"{t} {n}" for t, n in deleted.items()))
    for table, (rows, size) in sorted(sizes.items(), key=lambda item: -item[1][1]):
        print(f"  {table:<24} {rows:>12,} rows {size / 1e6:>10.1f} MB")


async def _seed(settings: ServiceSettings) -> None:
    from kj_runtime.city_store import store_city

    summary = await store_city(settings.postgres, settings.city_dir)
    print(f"seed: {summary}")


STEPS = {
    "wait": "wait until Kafka and PostgreSQL answer",
    "migrate": "apply the database migrations",
    "topics": "create the catalogue's topics that are missing",
    "seed": "load the city",
    "prune": "delete what retention no longer keeps",
    "strays": "list the topics and databases interrupted test and benchmark runs left",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kj-infra", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True, metavar="step")
    for step, helped in STEPS.items():
        sub = steps.add_parser(step, help=helped)
        if step == "wait":
            sub.add_argument("--deadline", type=float, default=60.0, help="seconds to wait")
        if step == "strays":
            sub.add_argument(
                "--delete", action="store_true", help="remove them (not while a run is going)"
            )
    deadletters_cli.add_parser(steps)
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    try:
        if args.step == "wait":
            asyncio.run(_wait(settings, args.deadline))
        elif args.step == "migrate":
            _migrate(settings)
        elif args.step == "topics":
            asyncio.run(_topics(settings))
        elif args.step == "prune":
            asyncio.run(_prune(settings))
        elif args.step == "strays":
            return asyncio.run(_strays(settings, args.delete))
        elif args.step == "deadletters":
            return asyncio.run(deadletters_cli.run(args, settings.kafka))
        else:
            asyncio.run(_seed(settings))
    except (TimeoutError, ValueError, OSError, KafkaError) as error:  # CityDataError: ValueError
        print(f"kj-infra {args.step}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
