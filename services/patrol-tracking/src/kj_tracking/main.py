"""`kj-patrol-tracking`: run the service until SIGTERM/SIGINT."""

from kj_runtime.host import main as host_main
from kj_tracking.bootstrap import build
from kj_tracking.settings import TrackingSettings


def main() -> None:
    host_main("patrol-tracking", TrackingSettings, build)


if __name__ == "__main__":
    main()
