"""Recognise a file's kind from its header, never from its name."""

from __future__ import annotations

from dataclasses import dataclass

from credit_engine.sources.kinds import KINDS, Kind, normalise_header


class UnknownHeader(ValueError):
    """The header matches no kind completely; the message names the closest one and what it lacks."""


@dataclass(frozen=True)
class HeaderMatch:
    kind: Kind
    columns: dict[str, str]  # header cell as written -> canonical column
    unknown: tuple[str, ...]  # cells kept only in the raw row


def _match(kind: Kind, header: list[str]) -> HeaderMatch:
    columns: dict[str, str] = {}
    taken: set[str] = set()
    unknown = []
    for cell in header:
        canonical = kind.aliases.get(normalise_header(cell))
        if canonical and canonical not in taken:
            columns[cell] = canonical
            taken.add(canonical)
        else:
            unknown.append(cell)
    return HeaderMatch(kind, columns, tuple(unknown))


def recognise(header: list[str]) -> HeaderMatch:
    """The kind whose required columns are all present and which explains most of the header."""
    matches = [_match(kind, header) for kind in KINDS]
    complete = [m for m in matches if set(m.kind.required) <= set(m.columns.values())]
    if complete:
        return max(complete, key=lambda m: (len(m.columns), -len(m.kind.columns)))
    closest = max(matches, key=lambda m: (len(set(m.kind.required) & set(m.columns.values())), len(m.columns)))
    missing = [closest.kind.spelling_of(c) for c in closest.kind.required if c not in closest.columns.values()]
    raise UnknownHeader(
        f"header not recognised as any source kind; closest is {closest.kind.label!r}, "
        f"which lacks the required column(s): {', '.join(missing)}"
    )
