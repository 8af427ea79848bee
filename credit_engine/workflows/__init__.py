"""Credit repair, objections and the automatic end of publicity (RULES.md §3, §4).

Each decision changes a fact by adding a version (the past stays reconstructible), re-grades the
entity in the same transaction, and is audited with who and why.
"""

from credit_engine.workflows import objection, repair, sweep
from credit_engine.workflows.cases import (
    Case,
    CaseConflict,
    CaseError,
    CaseNotFound,
    InvalidRequest,
    get_case,
    list_cases,
    overdue_counts,
)

__all__ = [
    "Case",
    "CaseConflict",
    "CaseError",
    "CaseNotFound",
    "InvalidRequest",
    "get_case",
    "list_cases",
    "objection",
    "overdue_counts",
    "repair",
    "sweep",
]
