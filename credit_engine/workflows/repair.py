"""Credit repair (信用修复) by the rules in force on the application date (RULES.md §3).

Eligibility is decided at filing: an ineligible application is refused at once with every reason
and the earliest date it could succeed; an eligible one waits for a regulator's decision within
the rule set's working days. Approval stops publicity and sharing of the fact (it stays in the
internal record with the repair history), ends the joint-punishment flags it caused (they are
read only from active facts, ``linking.flags_of``) and re-grades the entity at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection

from credit_engine.calendar import add_months
from credit_engine.records import Publicity, publicity_on
from credit_engine.rules import RuleSet, rules_for
from credit_engine.rules.penalty import split_categories, tier_penalty
from credit_engine.scoring import registry
from credit_engine.store.repository import Store
from credit_engine.workflows import cases, effects

EVIDENCE_KINDS = ("fine_paid", "correction_done", "annual_report_filed", "information_published",
                  "information_corrected", "address_reachable", "document", "other")


@dataclass(frozen=True)
class Evidence:
    kind: str
    description: str

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise cases.InvalidRequest(f"unknown evidence kind {self.kind!r}; use one of {', '.join(EVIDENCE_KINDS)}")
        if not self.description.strip():
            raise cases.InvalidRequest(f"evidence {self.kind!r} needs a description")


@dataclass(frozen=True)
class RepairApplication:
    """What an entity files: the fact, the evidence, and its signed public credit commitment."""

    uscc: str
    fact: str  # fact key or the public ref of the record
    applicant: str
    obligations_performed: bool
    commitment_signed: bool
    evidence: tuple[Evidence, ...] = ()
    commitment_text: str = ""
    contact: str | None = None


@dataclass(frozen=True)
class Check:
    condition: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Assessment:
    rule_set_id: str
    checks: tuple[Check, ...]
    earliest_on: date | None
    publicity_ends_on: date | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [c.detail for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"rule_set": self.rule_set_id, "eligible": self.eligible, "reasons": self.reasons,
                "checks": [c.__dict__ for c in self.checks], "publicity_ends_on": self.publicity_ends_on,
                "notes": list(self.notes)}


def _period(fact: dict, detail: dict, filed_on: date, rules: RuleSet) -> tuple[Check, date | None, date | None]:
    """The minimum-period check for the fact's kind: (check, earliest date, automatic end of publicity)."""
    kind = fact["kind"]
    if kind == "penalty":
        area = detail.get("key_area")
        tiering = tier_penalty(split_categories([fact["category"] or "其他"]), fact["amount_yuan"], fact["event_date"],
                               bool(area) and area in rules.repair.key_areas.value, rules, fact["end_date"])
        end = tiering.publicity_end
        if tiering.repair_from is None:
            return Check("minimum period reached", False,
                         f"not repairable early under {rules.id}: {tiering.basis}; publicity ends by itself on "
                         f"{end}"), None, end
        if filed_on < tiering.repair_from:
            return Check("minimum period reached", False,
                         f"minimum publicity period not reached under {rules.id}: {tiering.basis}"), tiering.repair_from, end
        return Check("minimum period reached", True, f"{rules.id}: {tiering.basis}"), filed_on, end
    if kind == "serious":
        years = rules.serious_list.early_removal_after_years.value
        since = add_months(fact["event_date"], 12 * years)
        end = add_months(fact["event_date"], 12 * rules.serious_list.publicity_years.value)
        ok = filed_on >= since
        return Check("minimum period reached", ok,
                     f"serious list: early removal possible {years} year(s) after listing, from {since} "
                     f"({rules.serious_list.early_removal_after_years.source})"), (filed_on if ok else since), end
    if kind == "abnormal":
        reasons = {r.id: r for r in rules.abnormal_list.reasons}
        reason = reasons.get(fact["category"] or "")
        grounds = reason.repair_grounds if reason else "remedy the reason for listing"
        return Check("minimum period reached", True,
                     f"abnormal list: no minimum period; removal once the reason is remedied ({grounds})"), filed_on, None
    if kind == "court":
        return Check("repairable by market regulators", False,
                     f"court-list records are deleted by the court within "
                     f"{rules.court_list.deletion_working_days.value} working days of performance: apply to the court"), None, None
    return Check("adverse record", False, f"a {kind} record is not adverse credit information: nothing to repair"), None, None


def assess(fact: dict, application: RepairApplication, filed_on: date) -> Assessment:
    """Every repair condition of the rule set in force on ``filed_on`` (RULES.md §3)."""
    rules = rules_for(filed_on)
    detail = json.loads(fact["detail_json"]) if fact["detail_json"] else {}
    publicity, basis, _ = publicity_on(fact, detail, filed_on, rules)
    if publicity is not Publicity.PUBLISHED:
        check = Check("record published", False, f"the record is not published on {filed_on} ({publicity}: {basis}): "
                                                 "there is nothing to repair")
        return Assessment(rules.id, (check,), None)
    period, earliest, ends = _period(fact, detail, filed_on, rules)
    checks = [
        period,
        Check("conduct corrected and obligations fully performed", application.obligations_performed,
              "obligations performed (fine paid, conduct corrected), as declared and evidenced"
              if application.obligations_performed else
              "the conduct must be corrected and the obligations fully performed (e.g. the fine paid) first"),
        Check("evidence", bool(application.evidence),
              f"{len(application.evidence)} item(s) of evidence" if application.evidence else
              "no evidence given (e.g. the fine receipt, proof of the correction)"),
        Check("public credit commitment (信用承诺书) submitted", application.commitment_signed,
              "signed credit commitment submitted" if application.commitment_signed else
              "the signed public credit commitment (信用承诺书) is missing"),
    ]
    notes = ("no other legal bar: confirmed by the regulator at decision",)
    return Assessment(rules.id, tuple(checks), earliest, ends, notes)


def apply(conn: Connection, application: RepairApplication, filed_on: date, actor: str = "public",
          client: str | None = None, limits: cases.OpenLimits = cases.OpenLimits()) -> cases.Case:
    """File an application in the caller's transaction: refused at once, or pending with a deadline."""
    if not application.applicant.strip():
        raise cases.InvalidRequest("the applicant must be named")
    fact = cases.current_fact(conn, application.uscc, application.fact)
    pending = cases.pending_on_fact(conn, fact["fact_key"], "repair")
    if pending:
        raise cases.CaseConflict(f"a repair application for this record is already pending: ticket {pending[0]}")
    cases.check_open(conn, "repair", fact["fact_key"], client, limits)
    assessment = assess(fact, application, filed_on)
    rules = rules_for(filed_on)
    limit = rules.repair.decision_working_days.value
    due = cases.deadline(filed_on, limit) if assessment.eligible else None
    request = {"evidence": [e.__dict__ for e in application.evidence], "obligations_performed": application.obligations_performed,
               "commitment_signed": application.commitment_signed, "commitment_text": application.commitment_text}
    return cases.file_case(
        conn, kind="repair", uscc=application.uscc, fact=fact, ground=None, applicant=application.applicant,
        contact=application.contact, request=request, filed_on=filed_on, rule_set_id=rules.id,
        status=cases.PENDING if assessment.eligible else cases.REFUSED, assessment=assessment.as_dict(),
        earliest_on=None if assessment.eligible else assessment.earliest_on, limit=limit if due else None,
        due=due, actor=actor, client=client)


@dataclass(frozen=True)
class Decision:
    case: cases.Case
    fact_version: int | None
    grade: dict | None


def decide(conn: Connection, ticket: str, approve: bool, reasons: list[str], actor: str,
           champion: registry.Champion | None, revision: int | None = None, client: str | None = None) -> Decision:
    """Approve or reject a pending application; approval's effects land in the same transaction."""
    case, moment = cases.decide(conn, ticket, revision, "approved" if approve else "rejected", reasons, actor)
    if case.kind != "repair":
        raise cases.InvalidRequest(f"{ticket} is an objection, not a repair application")
    version = grade = None
    if approve:
        fact = cases.current_fact(conn, case.uscc, case.fact_key)
        history = {"ticket": ticket, "approved_on": case.decision["decided_on"], "by": actor, "reasons": reasons}
        version = effects.new_version(conn, fact, moment, status="repaired",
                                      detail={"repair": history})
        grade = effects.regrade(conn, champion, case.uscc, actor, f"credit repair approved ({ticket})")
    Store(conn).audit(moment, actor, "repair_decided", ticket, {
        "outcome": case.outcome, "reasons": reasons, "uscc": case.uscc, "fact_key": case.fact_key,
        "fact_version": version, "grade": grade}, client=client)
    return Decision(case, version, grade)
