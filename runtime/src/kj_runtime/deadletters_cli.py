"""`kj-infra deadletters list | replay` (decision 0075).

    kj-infra deadletters list [--source-topic T] [--since 2h|ISO-TIME] [--at PARTITION:OFFSET]
    kj-infra deadletters replay (--source-topic T | --since ... | --at ...)... [--yes]

`list` prints each dead letter: its place on `deadletters`, when and by which service it was
refused, the record's topic, partition, offset and key, the cause, and whether it can be
replayed. `replay` shows what it would send and sends nothing unless `--yes` is given; a dead
letter that does not hold its whole record is refused with the reason, and the exit code is 1
when any was refused."""

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from kj_runtime.deadletter_replay import (
    Found,
    NotReplayable,
    matches,
    original_record,
    read_dead_letters,
    replay,
)
from kj_runtime.settings import KafkaSettings

_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DETAIL_CHARS = 300


def since(text: str) -> datetime:
    """`90m`, `2h`, `3d` before now, or an ISO 8601 time with its offset."""
    ago = _AGO.match(text)
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2)]: float(ago.group(1))})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a duration (90m, 2h, 3d) or an ISO time (2026-12-01T08:00+08:00)"
        ) from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give the time's offset (+08:00 or Z)")
    return at


def position(text: str) -> str:
    if not re.fullmatch(r"\d+:\d+", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give PARTITION:OFFSET of deadletters")
    return text


def add_parser(steps: Any) -> None:
    parser = steps.add_parser(
        "deadletters",
        help="list the dead letters, or send their records again to their source topics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="list|replay")
    for action, helped in (
        ("list", "print the dead letters that match"),
        ("replay", "send the matching dead letters' records to their source topics"),
    ):
        sub = actions.add_parser(action, help=helped)
        sub.add_argument("--source-topic", help="the refused records' topic (alarms.intake...)")
        sub.add_argument("--since", type=since, help="refused at or after: 2h, 3d, or ISO time")
        sub.add_argument(
            "--at",
            type=position,
            action="append",
            default=[],
            metavar="PARTITION:OFFSET",
            help="a dead letter's place on deadletters, as `list` prints it (repeatable)",
        )
    replaying = actions.choices["replay"]
    replaying.add_argument(
        "--yes", action="store_true", help="send them; without it, only show what would be sent"
    )


async def run(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    found = await read_dead_letters(kafka, since=args.since)
    chosen = [
        f
        for f in found
        if matches(f, kafka, source_topic=args.source_topic, since=args.since, at=args.at)
    ]
    if args.action == "list":
        for letter in chosen:
            print(describe(letter))
        print(f"{len(chosen)} dead letters" + (f" of {len(found)} read" if chosen != found else ""))
        return 0
    if not (args.source_topic or args.since or args.at):
        print("name what to replay: --at, --source-topic or --since", file=sys.stderr)
        return 2
    return await _replay(chosen, kafka, send=args.yes)


async def _replay(chosen: list[Found], kafka: KafkaSettings, *, send: bool) -> int:
    if not chosen:
        print("no dead letter matches: nothing to replay")
        return 1
    whole: list[Found] = []
    refused = 0
    for found in chosen:
        try:
            if found.letter is None:
                raise NotReplayable(found.error)
            original_record(found.letter)
        except NotReplayable as why:
            refused += 1
            print(f"refused  deadletters {found.at}: {why}")
            continue
        whole.append(found)
    if not send:
        for found in whole:
            print(f"would send  {describe(found).splitlines()[0]}")
        print(f"dry run: {len(whole)} would be sent; run again with --yes to send them")
        return 1 if refused else 0
    for done in await replay(kafka, whole) if whole else []:
        print(f"sent  deadletters {done.found.at} -> {done.topic} {done.partition}:{done.offset}")
    print(f"{len(whole)} sent, {refused} refused")
    return 1 if refused else 0


def describe(found: Found) -> str:
    """Two lines: where and what, then the cause's detail."""
    letter = found.letter
    if letter is None:
        return f"deadletters {found.at}  {found.error}"
    try:
        original_record(letter)
        whole = "whole, can be replayed"
    except NotReplayable:
        whole = "truncated" if letter.truncated else "not whole"
    size = f"{letter.value_bytes:,} B" if letter.value_bytes is not None else "size unknown"
    detail = " ".join(letter.detail.split())  # one line: a pydantic error spans several
    if len(detail) > DETAIL_CHARS:
        detail = detail[:DETAIL_CHARS] + "…"
    return (
        f"deadletters {found.at}  {letter.failed_at.astimezone(UTC):%Y-%m-%d %H:%M:%SZ}  "
        f"{letter.service}  {letter.source_topic} {letter.partition}:{letter.offset}  "
        f"key {letter.key!r}  {letter.reason}  {size}, {whole}\n    {detail}"
    )
