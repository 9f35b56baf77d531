"""Response plans (处警预案): how many units of which kinds an alarm gets, read from a readable
YAML file (`response_plans.yaml` beside this package unless the settings name another)."""

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kj_schemas.enums import AlarmCategory, UnitKind

DEFAULT_PLANS_FILE = Path(__file__).resolve().parents[1] / "response_plans.yaml"


class ResponsePlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    units: int = Field(default=1, ge=1, le=6)
    kinds: frozenset[UnitKind] = frozenset(UnitKind)
    backup_on_risk: bool = False


class ResponsePlans(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: ResponsePlan = ResponsePlan()
    plans: dict[AlarmCategory, dict[str, ResponsePlan]] = Field(default_factory=dict)

    def for_alarm(self, category: AlarmCategory, priority: int) -> ResponsePlan:
        by_priority = self.plans.get(category, {})
        return by_priority.get(str(priority)) or by_priority.get("any") or self.default


def load_plans(path: Path = DEFAULT_PLANS_FILE) -> ResponsePlans:
    """Raises ValueError naming the file when it is not a valid plan file."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("plans"), dict):
            raw["plans"] = {
                category: {str(k): v for k, v in (table or {}).items()}
                for category, table in raw["plans"].items()
            }
        return ResponsePlans.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise ValueError(f"response plans in {path} are not usable: {error}") from error
