"""`kj-notify`: the terminal gateway, status callbacks and broadcasts, until SIGTERM/SIGINT."""

from kj_notify.bootstrap import build
from kj_notify.settings import NotifySettings
from kj_runtime.host import main as host_main


def main() -> None:
    # uvloop (the host's): cheaper sockets for many terminals
    host_main("notify", NotifySettings, build)


if __name__ == "__main__":
    main()
