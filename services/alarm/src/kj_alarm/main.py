"""`kj-alarm`: the alarm intake service, until SIGTERM or SIGINT."""

from kj_alarm.bootstrap import SERVICE, build
from kj_alarm.settings import AlarmSettings
from kj_runtime.host import main as host_main


def main() -> None:
    host_main(SERVICE, AlarmSettings, build)


if __name__ == "__main__":
    main()
