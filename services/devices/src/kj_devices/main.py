"""`kj-devices`: run the gateway until SIGTERM/SIGINT; `kj-devices devices add|list|revoke`
edits the device registry (docs/decisions/0090)."""

import argparse
import asyncio
import sys

from kj_devices.bootstrap import build
from kj_devices.settings import DevicesSettings
from kj_runtime.host import main as host_main


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "devices":
        from kj_devices.registry_cli import run

        sys.exit(asyncio.run(run(sys.argv[2:])))
    if len(sys.argv) > 1:
        argparse.ArgumentParser(
            prog="kj-devices",
            description="the device gateway; `kj-devices devices --help` edits the registry",
        ).parse_args()
    host_main("devices", DevicesSettings, build)


if __name__ == "__main__":
    main()
