"""`kj-dispatch`: run the dispatch service until SIGTERM or SIGINT."""

from kj_dispatch.bootstrap import build
from kj_dispatch.settings import DispatchSettings
from kj_runtime.host import main as host_main


def main() -> None:
    # uvloop (the host's): the Kafka and PostgreSQL clients' I/O costs noticeably less CPU
    # on it, which is what keeps alarm -> work order fast under load
    host_main("dispatch", DispatchSettings, build)


if __name__ == "__main__":
    main()
