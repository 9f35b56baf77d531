"""`python -m deploy.demo_config OUT`: the configuration of `make demo`'s Prometheus, scraping
each service at the port its own settings give (`KJ_ALARM_HTTP_PORT`, ...), with the production
rules (deploy/prometheus/rules.yml)."""

import sys
from pathlib import Path

import yaml

from deploy.gen.outputs import demo_prometheus
from deploy.gen.services import SERVICES
from deploy.gen.settings_ref import PROGRAMS
from kj_runtime.settings import REPO_ROOT


def ports() -> dict[str, int]:
    """Each service's port as the service itself will read it from this environment."""
    return {s.name: PROGRAMS[s.name]().http_port for s in SERVICES}  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    rules = REPO_ROOT / "deploy/prometheus/rules.yml"
    config = demo_prometheus(ports(), rules=str(rules))
    out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
