"""`kj-infra`: the steps of `make up` that speak to the servers: wait until each answers,
apply migrations, create the catalogue's topics, load the city; the nightly prune; and the
dead letters, listed or sent again to their source topics (`kj-infra deadletters --help`)."""

import argparse
import asyncio
import sys

from aiokafka.errors import KafkaError

from kj_runtime import deadletters_cli
from kj_runtime.db import wait_for_postgres
from kj_runtime.kafka import create_topics, list_topics, stray_topics, wait_for_kafka
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
            f"that did not finish? They slow the broker and every benchmark: {heads}"
        )


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
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kj-infra", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True, metavar="step")
    for step, helped in STEPS.items():
        sub = steps.add_parser(step, help=helped)
        if step == "wait":
            sub.add_argument("--deadline", type=float, default=60.0, help="seconds to wait")
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
