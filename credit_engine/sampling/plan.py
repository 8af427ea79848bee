"""An inspection plan (抽查计划): what is inspected, by whom, among which entities, how many.

A plan is data: the API receives it as JSON, the CLI reads it from TOML
(``credit-engine sample --plan PLAN.toml``). Its size is a sample size, or a base ratio of the
entities in scope, or — neither given — the sum of the policy's class ratios over the scope.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Grade = Literal["A", "B", "C", "D"]
#: One line of text: no control characters (nothing a store or a CSV export would choke on).
Line = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$")]


class Scope(BaseModel):
    """Entities in scope: every listed condition must hold (an empty list does not restrict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    regions: tuple[str, ...] = Field((), max_length=100, description="region-code prefixes", examples=[["2301"]])
    industries: tuple[str, ...] = Field(
        (), max_length=100, description="industry-code prefixes (GB/T 4754)", examples=[["F52"]]
    )
    entity_types: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,24}$")], ...] = Field(
        (), max_length=20, description="entity types as stored (enterprise, individual_business, cooperative …)"
    )

    @model_validator(mode="after")
    def _codes_well_formed(self) -> Scope:
        for value in self.regions:
            if not (value.isascii() and value.isdigit() and 2 <= len(value) <= 6):
                raise ValueError(f"region {value!r} is not a region-code prefix (2 to 6 digits)")
        for value in self.industries:
            if not (value.isascii() and value.isalnum() and 1 <= len(value) <= 5):
                raise ValueError(f"industry {value!r} is not an industry-code prefix (1 to 5 letters or digits)")
        return self


class Inspector(BaseModel):
    """One law-enforcement inspector of the pool (执法检查人员名录库)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_.-]+$", examples=["HRB-0001"])
    name: Line = Field(min_length=1, max_length=64)
    department: Line = Field(min_length=1, max_length=64, description="the department the inspector works for")
    authority: Line | None = Field(None, max_length=64, description="registration authority the inspector belongs to")
    conflicts: tuple[Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")], ...] = Field(
        (), max_length=10_000, description="USCCs of declared conflicts of interest"
    )
    active: bool = True


class Plan(BaseModel):
    """An inspection plan; see the module docstring for how its size is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: Line = Field(min_length=1, max_length=200, examples=["2026年第三季度食品经营者双随机抽查"])
    item: Line = Field(
        min_length=1, max_length=200, description="inspection item (抽查事项)", examples=["食品经营许可事项检查"]
    )
    key_area: Line | None = Field(
        None,
        max_length=32,
        description="a key area of the rule set (食品, 药品 …): full coverage of the scope",
        examples=["食品"],
    )
    departments: tuple[Annotated[Line, StringConstraints(min_length=1, max_length=64)], ...] = Field(
        min_length=1, max_length=20, description="departments taking part (联合抽查: several)"
    )
    scope: Scope = Scope()
    as_of: date = Field(
        ge=date(2000, 1, 1),
        le=date(2100, 12, 31),
        description="grades held and inspections known on this date; frequency caps count back from it",
    )
    policy_id: Line | None = Field(
        None, max_length=64, description="a sampling policy; default: the one of the rule set in force on as_of"
    )
    sample_size: int | None = Field(None, ge=1, le=10_000_000, description="entities to draw")
    base_ratio: float | None = Field(None, gt=0, le=1, description="entities to draw as a share of the scope")
    ratios: dict[Grade, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=dict,
        description="class ratios within the policy's ranges (default: the policy's default ratios)",
    )
    frequency_caps: bool = Field(True, description="false: entities inspected recently may be drawn again")
    cross_assignment: bool = Field(False, description="no inspector from the entity's own registration authority")
    inspectors_per_entity: int = Field(2, ge=1, le=10)

    @model_validator(mode="after")
    def _one_size(self) -> Plan:
        if self.sample_size is not None and self.base_ratio is not None:
            raise ValueError("give sample_size or base_ratio, not both")
        if len(set(self.departments)) > self.inspectors_per_entity:
            raise ValueError(
                f"a joint inspection of {len(set(self.departments))} departments sends one inspector of "
                f"each: inspectors_per_entity must be at least {len(set(self.departments))}"
            )
        return self


def load_plan(path: Path) -> tuple[Plan, list[Inspector]]:
    """A plan from TOML; ``[[inspectors]]`` tables, if any, are inspectors to add to the pool."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    inspectors = [Inspector.model_validate(row) for row in data.pop("inspectors", [])]
    return Plan.model_validate(data), inspectors
