"""`kj-admin integrations add | rotate | revoke | list`: the 110 integrations that alarm intake
and notify accept (decision 0126). A token or signing secret is printed once, here, and kept
only hashed (the token); alarm and notify take a change within `KJ_INTEGRATIONS_REFRESH_S`,
and a new token at once.

A rotation without one refused request:
  kj-admin integrations rotate sy110 --overlap 24h   # prints the new token; the old one works
  (the integration moves to the new token)             # for 24 h more, or until revoked:
  kj-admin integrations revoke sy110 --token tok_...   # the old one, once it is unused"""

import argparse
import asyncio
import re
import sys
from datetime import timedelta

from kj_runtime import integration_store as store
from kj_runtime.credentials import check_hashes
from kj_runtime.db import connect
from kj_runtime.settings import PostgresSettings

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    """`30s`, `90m`, `24h`, `90d`."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration such as 90m, 24h or 90d")
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


def sha256_hex(text: str) -> str:
    try:
        return check_hashes({"token": text}, where="--token-sha256")["token"]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kj-admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    areas = top.add_subparsers(dest="area", required=True)
    integrations = areas.add_parser("integrations", help="110 integrations and their tokens")
    commands = integrations.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="register an integration; prints its token once")
    add.add_argument("name", help="the alarms' source, e.g. sy110")
    add.add_argument("--rate", type=float, help="requests a second (default: the services')")
    add.add_argument("--burst", type=int, help="requests at once (default: the services')")
    add.add_argument("--expires-in", type=duration, help="the token's life, e.g. 365d")
    add.add_argument("--callback-url", help="where its alarms' status changes are posted")
    add.add_argument(
        "--token-sha256",
        type=sha256_hex,
        help="keep a token already handed out (its SHA-256 hex) instead of making one",
    )
    add.add_argument("--note", help="free text, e.g. the centre's name")
    rotate = commands.add_parser("rotate", help="another token (prints it once)")
    rotate.add_argument("name")
    rotate.add_argument(
        "--overlap",
        type=duration,
        default=timedelta(hours=24),
        help="the older tokens keep working this long (default 24h)",
    )
    rotate.add_argument("--expires-in", type=duration, help="the new token's life")
    rotate.add_argument(
        "--callback-url",
        help="also a new callback signing secret (printed once) for this URL; the old secret "
        "signs beside it for the overlap",
    )
    revoke = commands.add_parser("revoke", help="refuse a token, or the whole integration")
    revoke.add_argument("name")
    revoke.add_argument("--token", dest="token_id", help="one token's id (see `list`)")
    listing = commands.add_parser("list", help="the integrations and their active tokens")
    listing.add_argument("--all", action="store_true", help="revoked and expired ones too")
    return top


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


async def run(argv: list[str], settings: PostgresSettings | None = None) -> int:
    args = parser().parse_args(argv)
    connection = await connect(settings or PostgresSettings())
    try:
        if args.command == "add":
            added = await store.add(
                connection,
                args.name,
                rate_per_s=args.rate,
                burst=args.burst,
                note=args.note,
                expires_in=args.expires_in,
                token_sha256=args.token_sha256,
            )
            shown = added.token or "(the one whose SHA-256 was given)"
            print(f"{added.integration}: token {added.token_id} (shown once): {shown}")
            if args.callback_url:
                secret = await store.set_callback(connection, args.name, args.callback_url)
                print(f"{added.integration}: callback signing secret (shown once): {secret}")
        elif args.command == "rotate":
            new = await store.rotate(
                connection, args.name, overlap=args.overlap, expires_in=args.expires_in
            )
            print(f"{new.integration}: token {new.token_id} (shown once): {new.token}")
            print(f"  its older tokens work for {args.overlap} more, unless revoked first")
            if args.callback_url:
                secret = await store.set_callback(
                    connection, args.name, args.callback_url, overlap=args.overlap
                )
                print(f"{new.integration}: callback signing secret (shown once): {secret}")
        elif args.command == "revoke":
            count = await store.revoke(connection, args.name, token_id=args.token_id)
            if args.token_id and not count:
                print(f"kj-admin: {args.name} has no active token {args.token_id}", file=sys.stderr)
                return 1
            what = f"token {args.token_id}" if args.token_id else f"{args.name} and {count} tokens"
            print(f"revoked {what}")
        else:
            for row in await store.listing(connection, revoked=args.all):
                rate = f"{row.rate_per_s:g}/s" if row.rate_per_s else "default rate"
                burst = f" burst {row.burst}" if row.burst else ""
                revoked = f" REVOKED {_when(row.revoked_at)}" if row.revoked_at else ""
                print(f"{row.name}  {rate}{burst}{revoked}  callback: {row.callback_url or '-'}")
                for t in row.tokens:
                    state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "active"
                    print(
                        f"  {t.token_id}  created {_when(t.created_at)}  "
                        f"expires {_when(t.expires_at)}  {state}"
                    )
        return 0
    except store.RegistryError as error:
        print(f"kj-admin: {error}", file=sys.stderr)
        return 2
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
