"""Every rule value in force on a date with its source, article and tag, and what changed between
two dates: so a regulator can see exactly which law the service applies (``credit-engine rules
show``, ``GET /v1/rules``)."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from pydantic import BaseModel

from credit_engine.rules import TRANSITION, rules_for
from credit_engine.rules.model import Sourced, Tagged


def _label(item: BaseModel, index: int) -> str:
    """A list item's name in a path: its id, role, code or ground, else its position."""
    for name in ("id", "role", "code", "ground"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            return value + (f"@{item.since}" if hasattr(item, "since") else "")
    return str(index)


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _walk(node: BaseModel, path: str):
    if isinstance(node, Tagged):
        fields = type(node).model_fields
        if "value" in fields:
            value = cast(Any, node).value  # the Tagged subclasses with a value field
        else:  # a record of several fields (a reason, a bar, a citation): its own fields are its value
            value = {k: _plain(getattr(node, k)) for k in fields if k not in ("tag", "note", "source", "basis")}
        yield {
            "path": path,
            "value": _plain(value),
            "tag": node.tag,
            "source": node.source if isinstance(node, Sourced) else getattr(node, "basis", ""),
            "note": node.note,
        }
        return
    for name in type(node).model_fields:
        child = getattr(node, name)
        where = f"{path}.{name}" if path else name
        if isinstance(child, BaseModel):
            yield from _walk(child, where)
        elif isinstance(child, tuple) and child and all(isinstance(c, BaseModel) for c in child):
            for i, item in enumerate(child):
                yield from _walk(item, f"{where}[{_label(item, i)}]")


def rules_report(on: date, province: str | None = None) -> dict:
    """The rule set in force on ``on`` (with ``province``'s own values) and every value of it."""
    rules = rules_for(on, province)
    values = [v for v in _walk(rules, "") if not v["path"].startswith("provinces[")]
    return {
        "as_of": on.isoformat(),
        "rule_set": rules.id,
        "effective_from": rules.effective_from.isoformat(),
        "title": rules.title,
        "note": rules.note,
        "province": rules.province,
        "transition": TRANSITION,
        "values": values,
    }


def rules_diff(first: date, second: date, province: str | None = None) -> dict:
    """What changed from the set in force on ``first`` to the one on ``second``: values, sources, tags."""
    before = {v["path"]: v for v in rules_report(first, province)["values"]}
    after = {v["path"]: v for v in rules_report(second, province)["values"]}
    changes = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is None or new is None or any(old[k] != new[k] for k in ("value", "tag", "source")):
            changes.append({"path": path, "before": old, "after": new})
    return {
        "from": first.isoformat(),
        "to": second.isoformat(),
        "rule_set_from": rules_for(first).id,
        "rule_set_to": rules_for(second).id,
        "province": province,
        "changes": changes,
    }
