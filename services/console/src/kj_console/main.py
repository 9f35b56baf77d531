"""`kj-console`: the command-centre console.

kj-console                          serve until SIGTERM or SIGINT
kj-console users add NAME --role R  add a user (or reset one): the password is asked for, or
                                    read from stdin with --password-stdin, or generated and
                                    printed once with --generate
kj-console users disable NAME       the user can no longer sign in; their sessions end now
kj-console users list               every user with their role and whether they may sign in
"""

import argparse
import asyncio
import getpass
import re
import secrets
import sys

from kj_console.bootstrap import build
from kj_console.domain.roles import Role
from kj_console.settings import ConsoleSettings
from kj_runtime.db import create_pool
from kj_runtime.host import main as host_main

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kj-console", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="what")
    users = sub.add_parser("users", help="the console's users").add_subparsers(dest="action")
    add = users.add_parser("add", help="add a user, or reset one's role and password")
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--name", help="the name people see (default: the user name)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    how.add_argument("--generate", action="store_true", help="generate one and print it once")
    disable = users.add_parser("disable", help="the user can no longer sign in")
    disable.add_argument("username")
    users.add_parser("list", help="every user")
    return parser


def _password(args: argparse.Namespace) -> str:
    if args.generate:
        password = secrets.token_urlsafe(12)
        print(f"password for {args.username} (shown once): {password}")
        return password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("the two passwords differ")
    if len(password) < 10:
        raise SystemExit("a password has at least 10 characters")
    return password


async def _users(args: argparse.Namespace) -> int:
    from kj_console.service_layer.auth import add_user
    from kj_console.service_layer.users import disable_user, list_users

    settings = ConsoleSettings()
    pool = await create_pool(settings.postgres, min_size=1, max_size=2)
    try:
        if args.action == "add":
            if not USERNAME.match(args.username):
                print("a user name is lower-case letters, digits and _", file=sys.stderr)
                return 2
            new = await add_user(
                pool,
                username=args.username,
                display_name=args.name or args.username,
                role=Role(args.role),
                password=_password(args),
            )
            print(f"{'added' if new else 'updated'} {args.username} ({args.role})")
        elif args.action == "disable":
            if not await disable_user(pool, args.username):
                print(f"no user {args.username}", file=sys.stderr)
                return 1
            print(f"disabled {args.username}; their sessions ended")
        else:
            for user in await list_users(pool):
                state = "active" if user.active else "disabled"
                print(f"{user.username}\t{user.role}\t{state}\t{user.display_name}")
    finally:
        await pool.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.what == "users":
        if args.action is None:
            _parser().parse_args(["users", "--help"])
        sys.exit(asyncio.run(_users(args)))
    host_main("console", ConsoleSettings, build)


if __name__ == "__main__":
    main()
