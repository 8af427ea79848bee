"""Limits of open cases (issue 34, item 8): an identical pending objection is refused, one record
holds at most so many pending objections, one client address at most so many pending cases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from credit_engine.records import fact_ref
from credit_engine.workflows import CaseConflict, objection, repair
from credit_engine.workflows.cases import OpenLimits, TooManyOpen
from tests.core.test_workflows import application, store  # noqa: F401 (a fixture)
from tests.helpers import A

ON = date(2026, 7, 1)


def _object(
    engine: Engine, doc: str, statement: str, client: str | None = "10.0.0.7", limits: OpenLimits = OpenLimits()
) -> str:
    with engine.begin() as conn:
        return objection.file(
            conn,
            objection.Objection(A, fact_ref(f"penalty:{doc}:{A}"), "error", statement, "某人"),
            ON,
            client=client,
            limits=limits,
        ).ticket


def test_an_identical_pending_objection_is_refused(store: Engine) -> None:  # noqa: F811
    _object(store, "G-2026", "罚款金额有误")
    with pytest.raises(CaseConflict, match="identical objection"):
        _object(store, "G-2026", "罚款金额有误", client="10.0.0.8")
    _object(store, "G-2026", "处罚日期有误")  # another statement is another objection


def test_one_record_holds_a_bounded_number_of_pending_objections(store: Engine) -> None:  # noqa: F811
    limits = OpenLimits(per_record=2, per_client=100)
    _object(store, "G-2026", "一", limits=limits)
    _object(store, "G-2026", "二", client="10.0.0.9", limits=limits)
    with pytest.raises(CaseConflict, match="2 pending objection cases"):
        _object(store, "G-2026", "三", client=None, limits=limits)
    _object(store, "E-2025", "三", limits=limits)  # another record


def test_one_client_holds_a_bounded_number_of_pending_cases(store: Engine) -> None:  # noqa: F811
    limits = OpenLimits(per_record=100, per_client=2)
    _object(store, "G-2026", "一", limits=limits)
    _object(store, "E-2025", "一", limits=limits)
    with pytest.raises(TooManyOpen, match="2 cases filed from this address"):
        _object(store, "E-2025", "二", limits=limits)
    with pytest.raises(TooManyOpen, match="2 cases filed from this address"), store.begin() as conn:
        repair.apply(conn, application("E-2025"), ON, client="10.0.0.7", limits=limits)  # a repair is a case too
    _object(store, "E-2025", "二", client="10.0.0.99", limits=limits)  # another address
