"""`kj-devices devices add|list|revoke`: the bureau's hands on the device registry. Prints the
new secret once (an 808 authentication code, or a phone's token); errors say what to do."""

import argparse

from kj_devices.adapters import registry_store
from kj_devices.domain.binding import Protocol
from kj_devices.domain.coords import Datum
from kj_runtime.db import connect
from kj_runtime.settings import PostgresSettings


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kj-devices devices", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="bind a device to a unit; prints its secret once")
    add.add_argument("--unit", required=True, help="the unit id, e.g. SY-P01-C1")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--terminal", help="an 808 terminal number (its phone number)")
    kind.add_argument("--phone", help="a phone's device id (OsmAnd `id`, the officer app)")
    add.add_argument("--datum", choices=[d.value for d in Datum], default="wgs84")
    add.add_argument(
        "--text-dispatch",
        action="store_true",
        help="an 808-only vehicle: work orders go to the terminal as text (0x8300)",
    )
    add.add_argument("--secret", help="use this code/token instead of a random one")
    add.add_argument("--note", help="free text, e.g. the plate number")
    listing = commands.add_parser("list", help="the bound devices")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    revoke = commands.add_parser("revoke", help="unbind a device; it is refused from now on")
    revoke.add_argument("device_id")
    return top


async def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    connection = await connect(PostgresSettings())
    try:
        if args.command == "add":
            try:
                added = await registry_store.add(
                    connection,
                    protocol=Protocol.jt808 if args.terminal else Protocol.http,
                    device_id=args.terminal or args.phone,
                    unit_id=args.unit,
                    datum=Datum(args.datum),
                    text_dispatch=args.text_dispatch,
                    secret=args.secret,
                    note=args.note,
                )
            except registry_store.RegistryError as error:
                print(f"kj-devices: {error}")
                return 2
            what = "authentication code" if args.terminal else "token"
            print(f"{added.device_id} → {added.unit_id}; {what} (shown once): {added.secret}")
            return 0
        if args.command == "list":
            for row in await registry_store.listing(connection, revoked=args.all):
                flags = " text-dispatch" if row.text_dispatch else ""
                revoked = f" revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else ""
                print(
                    f"{row.device_id:<22} {row.protocol:<6} {row.unit_id:<14} {row.datum}"
                    f"{flags}{revoked} {row.note or ''}".rstrip()
                )
            return 0
        if await registry_store.revoke(connection, args.device_id):
            print(f"{args.device_id} revoked")
            return 0
        print(f"kj-devices: no bound device {args.device_id!r}")
        return 1
    finally:
        await connection.close()
