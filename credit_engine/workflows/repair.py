"""Credit repair (信用修复) by the rules in force on the application date (RULES.md §3).

Eligibility is decided at filing: an ineligible application is refused at once with every reason
and the earliest date it could succeed; an eligible one waits for a regulator's decision within
the rule set's working days. Approval stops publicity and sharing of the fact (it stays in the
internal record with the repair history), ends the joint-punishment flags it caused (they are
read only from active facts, ``linking.flags_of``) and re-grades the entity at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, select, update

from credit_engine.calendar import add_months
from credit_engine.records import Publicity, end_of_day, penalty_tiering, publicity_on
from credit_engine.rules import RuleSet, province_of, rules_for
from credit_engine.rules.model import OptionalRule, Rule
from credit_engine.rules.penalty import split_categories
from credit_engine.scoring import registry
from credit_engine.store.models import CreditCase, Fact
from credit_engine.store.repository import Store, now_utc
from credit_engine.workflows import cases, effects

EVIDENCE_KINDS = (
    "fine_paid",
    "correction_done",
    "annual_report_filed",
    "information_published",
    "information_corrected",
    "address_reachable",
    "document",
    "other",
)


@dataclass(frozen=True)
class Evidence:
    kind: str
    description: str

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise cases.InvalidRequest(
                f"unknown evidence kind {self.kind!r}; use one of {', '.join(EVIDENCE_KINDS)}",
                "证明材料类型不正确。",
                "unknown_evidence_kind",
            )
        if not self.description.strip():
            raise cases.InvalidRequest(
                f"evidence {self.kind!r} needs a description", "请填写证明材料的说明。", "evidence_without_description"
            )


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
    #: an enterprise in bankruptcy reorganisation: the court's ruling (number and court), from 2025-12-25
    reorganisation_ruling: str = ""


@dataclass(frozen=True)
class Standing:
    """What the store says about the entity on the application date (Order 45 Art.14: no later
    penalty of the same type, not on the abnormal or serious list)."""

    later_same_type: tuple[str, ...] = ()  # "document_no (decided on)"
    abnormal_listed: tuple[str, ...] = ()  # listing dates
    serious_listed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """One condition of repair: ``detail`` for the regulator (English, with the rule set), ``code``
    (machine-readable) and ``zh`` (the reason an applicant reads, naming the rule and its article)."""

    condition: str
    passed: bool
    detail: str
    code: str = ""
    zh: str = ""


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
        return {
            "rule_set": self.rule_set_id,
            "eligible": self.eligible,
            "reasons": self.reasons,
            "refusals": [{"code": c.code, "message": c.zh} for c in self.checks if not c.passed],
            "checks": [c.__dict__ for c in self.checks],
            "publicity_ends_on": self.publicity_ends_on,
            "notes": list(self.notes),
        }


_CJK = re.compile(r"[\u3400-\u9fff]")
_TIER_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}


def law_of(source: str, rules: RuleSet) -> str:
    """The name and article of the rule a value comes from, in Chinese: the part of its ``source``
    before the English gloss (``国市监信规〔2021〕3号: early stop after 6 months``), else the
    rule set's own title."""
    head = re.split(r":|：| says | \(|[A-Za-z]{3,}", source, maxsplit=1)[0].strip(" ;；,")
    if _CJK.search(head):
        return head.replace("; ", "、")
    found = re.search(r"[\u3400-\u9fff][^A-Za-z()]*", rules.title)
    return found.group(0).strip(" ;；,:").replace("; ", "、") if found else rules.title


def _period(fact: dict, detail: dict, filed_on: date, rules: RuleSet) -> tuple[Check, date | None, date | None]:
    """The minimum-period check for the fact's kind: (check, earliest date, automatic end of publicity)."""
    kind, code = fact["kind"], "minimum_period"
    if kind == "penalty":
        tiering = penalty_tiering(fact, detail, rules)
        area = detail.get("key_area")
        key_area = bool(area) and area in rules.repair.key_areas.value
        cats = split_categories([fact["category"] or "其他"])
        end = tiering.publicity_end
        tier_rule = getattr(rules.penalty.tiers, tiering.tier.value)
        minimum = tier_rule.key_area_repair_after_months
        if not key_area or minimum.value is None:
            minimum = tier_rule.repair_after_months
        law = law_of(minimum.source, rules)
        tier = _TIER_ZH[tiering.tier.value]
        if tiering.repair_from is None:
            blocked = [c for c in cats if c in rules.penalty.never_early_categories.value]
            why = (
                f"处罚种类含{'、'.join(blocked)}，依据{law_of(rules.penalty.never_early_categories.source, rules)}"
                if blocked
                else f"依据{law}，该{tier}失信行为"
            )
            return (
                Check(
                    "minimum period reached",
                    False,
                    f"not repairable early under {rules.id}: {tiering.basis}; publicity ends by itself on {end}",
                    "not_repairable_early",
                    f"{why}不可提前停止公示，公示期满（{end}）后自动停止公示。",
                ),
                None,
                end,
            )
        if filed_on < tiering.repair_from:
            return (
                Check(
                    "minimum period reached",
                    False,
                    f"minimum publicity period not reached under {rules.id}: {tiering.basis}",
                    code,
                    f"依据{law}，{tier}失信行为的最短公示期未满，{tiering.repair_from}起方可申请信用修复。",
                ),
                tiering.repair_from,
                end,
            )
        return (
            Check("minimum period reached", True, f"{rules.id}: {tiering.basis}", code, f"依据{law}，最短公示期已满。"),
            filed_on,
            end,
        )
    if kind == "serious":
        rule: OptionalRule[int] | Rule[int] = rules.serious_list.early_removal_after_years
        years = rule.value
        end = add_months(fact["event_date"], 12 * rules.serious_list.publicity_years.value)
        if years is None:
            return (
                Check(
                    "minimum period reached",
                    False,
                    f"serious list: no early removal under {rules.id} ({rule.source}); removed on {end}",
                    "not_repairable_early",
                    f"依据{law_of(rule.source, rules)}，严重违法失信名单不可提前移出，{end}期满后移出。",
                ),
                None,
                end,
            )
        since = add_months(fact["event_date"], 12 * years)
        ok = filed_on >= since
        return (
            Check(
                "minimum period reached",
                ok,
                f"serious list: early removal possible {years} year(s) after listing, from {since} ({rule.source})",
                code,
                f"依据{law_of(rule.source, rules)}，列入严重违法失信名单满{years}年后方可申请提前移出，"
                f"{since}起可以申请。",
            ),
            (filed_on if ok else since),
            end,
        )
    if kind == "inspection":
        repairable = rules.repair.inspection_results_repairable
        if fact["category"] != "problem":
            return (
                Check(
                    "adverse record",
                    False,
                    "the inspection found no problem: nothing to repair",
                    "not_adverse",
                    "该抽查检查结果未发现问题，无需信用修复。",
                ),
                None,
                None,
            )
        if not repairable.value:
            return (
                Check(
                    "repairable record",
                    False,
                    f"negative inspection results are not repairable under {rules.id} ({repairable.source})",
                    "not_repairable",
                    f"依据{law_of(repairable.source, rules)}，抽查检查结果不在信用修复范围内。",
                ),
                None,
                None,
            )
        return (
            Check(
                "minimum period reached",
                True,
                f"negative inspection result: repairable under {rules.id} ({repairable.source})",
                code,
                f"依据{law_of(repairable.source, rules)}，抽查检查发现问题的结果可以申请信用修复。",
            ),
            filed_on,
            None,
        )
    if kind == "abnormal":
        reasons = {r.id: r for r in rules.abnormal_list.reasons}
        reason = reasons.get(fact["category"] or "")
        grounds = reason.repair_grounds if reason else "remedy the reason for listing"
        return (
            Check(
                "minimum period reached",
                True,
                f"abnormal list: no minimum period; removal once the reason is remedied ({grounds})",
                code,
                "经营异常名录无最短公示期，消除列入原因后即可申请移出。",
            ),
            filed_on,
            None,
        )
    if kind == "court":
        rule = rules.court_list.deletion_working_days
        court_law = law_of(rule.source, rules).replace("同上", law_of(rules.court_list.listed_years.source, rules))
        return (
            Check(
                "repairable by market regulators",
                False,
                f"court-list records are deleted by the court within "
                f"{rule.value} working days of performance: apply to the court",
                "court_record",
                f"失信被执行人信息由人民法院在被执行人履行义务后{rule.value}个工作日内删除"
                f"（{court_law}），请向执行法院申请。",
            ),
            None,
            None,
        )
    return (
        Check(
            "adverse record",
            False,
            f"a {kind} record is not adverse credit information: nothing to repair",
            "not_adverse",
            f"该条信息（{KIND_ZH.get(kind, '公示信息')}）不属于失信信息，无需信用修复。",
        ),
        None,
        None,
    )


#: The public names of the kinds of record (the public page's section titles).
KIND_ZH = {
    "penalty": "行政处罚信息",
    "abnormal": "经营异常名录",
    "serious": "严重违法失信名单",
    "court": "失信被执行人信息",
    "license": "行政许可信息",
    "inspection": "抽查检查结果",
    "role": "主要人员",
}
#: The kinds a market regulator repairs (the others are not adverse, or are the court's).
REPAIRABLE_KINDS = ("penalty", "abnormal", "serious")


def _obligations(application: RepairApplication, rules: RuleSet, law: str) -> Check:
    """Obligations fully performed; from Order 107 an enterprise in bankruptcy reorganisation may
    apply with the court's ruling instead."""
    name, code = "conduct corrected and obligations fully performed", "obligations"
    unperformed = f"依据{law}，须先纠正失信行为、全面履行法定义务（如缴清罚款）。"
    reorganisation = rules.repair.bankruptcy_reorganisation
    ruling = application.reorganisation_ruling.strip()
    if ruling and reorganisation.value:
        return Check(
            name, True, f"in bankruptcy reorganisation by court ruling {ruling} ({reorganisation.source})", code
        )
    if ruling:
        return Check(
            name,
            application.obligations_performed,
            f"a bankruptcy reorganisation ruling does not replace performance under {rules.id} "
            f"({reorganisation.source})",
            code,
            ""
            if application.obligations_performed
            else f"依据{law_of(reorganisation.source, rules)}，破产重整裁定不能代替履行法定义务。",
        )
    return Check(
        name,
        application.obligations_performed,
        "obligations performed (fine paid, conduct corrected), as declared and evidenced"
        if application.obligations_performed
        else "the conduct must be corrected and the obligations fully performed (e.g. the fine paid) first",
        code,
        "" if application.obligations_performed else unperformed,
    )


def _standing_checks(fact: dict, standing: Standing, filed_on: date, rules: RuleSet) -> tuple[list[Check], date | None]:
    """Order 45 Art.14 (C): no later penalty of the same type, not on the abnormal or serious list on
    the application date; and no statutory measure still running (RULES.md §3, §5). Also the latest
    date a running measure gives, for ``earliest_on``."""
    checks: list[Check] = []
    later: date | None = None
    if fact["kind"] in ("penalty", "inspection"):
        checks.append(
            Check(
                "no later penalty of the same type",
                not standing.later_same_type,
                "no later penalty of the same type"
                if not standing.later_same_type
                else f"a later penalty of the same type exists ({', '.join(standing.later_same_type)}): "
                "市场监管总局令第45号 第十四条",
                "later_penalty_same_type",
                ""
                if not standing.later_same_type
                else f"依据市场监管总局令第45号第十四条，此后又受到同类行政处罚（{'、'.join(standing.later_same_type)}），"
                "不予信用修复。",
            )
        )
    if fact["kind"] != "abnormal":
        checks.append(
            Check(
                "not on the abnormal list",
                not standing.abnormal_listed,
                "not on the abnormal list on the application date"
                if not standing.abnormal_listed
                else f"on the abnormal list on {filed_on} (listed {', '.join(standing.abnormal_listed)}): "
                "have it removed first (市场监管总局令第45号 第十四条)",
                "on_abnormal_list",
                ""
                if not standing.abnormal_listed
                else "依据市场监管总局令第45号第十四条，申请时仍在经营异常名录中，请先申请移出经营异常名录。",
            )
        )
    if fact["kind"] != "serious":
        checks.append(
            Check(
                "not on the serious list",
                not standing.serious_listed,
                "not on the serious list on the application date"
                if not standing.serious_listed
                else f"on the serious list on {filed_on} (listed {', '.join(standing.serious_listed)}) "
                "(市场监管总局令第45号 第十四条)",
                "on_serious_list",
                ""
                if not standing.serious_listed
                else "依据市场监管总局令第45号第十四条，申请时仍在严重违法失信名单中，不予信用修复。",
            )
        )
    if fact["kind"] == "serious" and fact["category"] == "abnormal_three_years":
        bar = rules.bar("serious_list_transfer")
        until = add_months(fact["event_date"], 12 * (bar.years or 0))
        running = filed_on < until
        later = until if running else None
        checks.append(
            Check(
                "no statutory measure still running",
                not running,
                f"the legal representative's {bar.years}-year bar runs until {until} "
                f"({rules.cite('disclosure_transfer', fact['event_date'])}): no early removal meanwhile"
                if running
                else f"the legal representative's bar ended on {until}",
                "measure_running",
                f"依据{rules.cite('disclosure_transfer', fact['event_date'])}，法定代表人{bar.years}年任职限制"
                f"至{until}届满，期间不得提前移出，{until}起可以申请。"
                if running
                else "",
            )
        )
    return checks, later


def assess(fact: dict, application: RepairApplication, filed_on: date, standing: Standing = Standing()) -> Assessment:
    """Every repair condition of the rule set in force on ``filed_on`` (RULES.md §3), with the
    entity's ``standing`` on that date (``standing_of``)."""
    rules = rules_for(filed_on, province_of(fact["subject_uscc"]))
    detail = json.loads(fact["detail_json"]) if fact["detail_json"] else {}
    publicity, basis, _ = publicity_on(fact, detail, filed_on, rules)
    if publicity is not Publicity.PUBLISHED:
        check = Check(
            "record published",
            False,
            f"the record is not published on {filed_on} ({publicity}: {basis}): there is nothing to repair",
            "not_published",
            f"该条信息在{filed_on}未处于公示状态，无需信用修复。",
        )
        return Assessment(rules.id, (check,), None)
    period, earliest, ends = _period(fact, detail, filed_on, rules)
    standing_checks, measure_until = _standing_checks(fact, standing, filed_on, rules)
    if measure_until is not None:
        earliest = max(d for d in (earliest, measure_until) if d is not None)
    law = law_of(rules.repair.conditions.source, rules)
    checks = [
        period,
        _obligations(application, rules, law),
        Check(
            "evidence",
            bool(application.evidence),
            f"{len(application.evidence)} item(s) of evidence"
            if application.evidence
            else "no evidence given (e.g. the fine receipt, proof of the correction)",
            "evidence",
            "" if application.evidence else "未提交证明材料（如罚款缴纳凭证、整改证明）。",
        ),
        Check(
            "public credit commitment (信用承诺书) submitted",
            application.commitment_signed,
            "signed credit commitment submitted"
            if application.commitment_signed
            else "the signed public credit commitment (信用承诺书) is missing",
            "commitment",
            "" if application.commitment_signed else f"依据{law}，须提交签署的信用承诺书。",
        ),
        *standing_checks,
    ]
    # a condition with no date of its own (a later penalty, a listing) leaves no earliest date
    blocked = [c for c in standing_checks if not c.passed and not c.condition.startswith("no statutory")]
    if blocked:
        earliest = None
    notes = ("harm eliminated and no other legal bar: confirmed by the regulator at decision",)
    return Assessment(rules.id, tuple(checks), earliest, ends, notes)


def standing_of(conn: Connection, fact: dict, on: date) -> Standing:
    """The entity's standing on ``on`` as the store knew it then: later penalties of the same type
    (same 违法行为类型 where both name one, else a shared 处罚类别) and active listings."""
    cut = end_of_day(on)
    rows = (
        conn.execute(
            select(
                Fact.kind,
                Fact.fact_key,
                Fact.document_no,
                Fact.category,
                Fact.event_date,
                Fact.end_date,
                Fact.detail_json,
            ).where(
                Fact.subject_uscc == fact["subject_uscc"],
                Fact.kind.in_(("penalty", "abnormal", "serious")),
                Fact.status == "active",
                Fact.recorded_at < cut,
                (Fact.superseded_at.is_(None)) | (Fact.superseded_at >= cut),
                Fact.event_date <= on,
            )
        )
        .mappings()
        .all()
    )
    mine = json.loads(fact["detail_json"] or "{}").get("violation_type")
    later, abnormal, serious = [], [], []
    for row in rows:
        if row["fact_key"] == fact["fact_key"]:
            continue
        listed = row["end_date"] is None or row["end_date"] > on
        if row["kind"] == "abnormal" and listed:
            abnormal.append(str(row["event_date"]))
        elif row["kind"] == "serious" and listed:
            serious.append(str(row["event_date"]))
        elif (
            row["kind"] == "penalty"
            and fact["kind"] in ("penalty", "inspection")
            and row["event_date"] > fact["event_date"]
        ):
            theirs = json.loads(row["detail_json"] or "{}").get("violation_type")
            same = (
                (mine == theirs)
                if mine and theirs
                else bool(set((row["category"] or "").split("、")) & set((fact["category"] or "").split("、")))
            )
            if same and fact["kind"] == "penalty":
                later.append(f"{row['document_no']} ({row['event_date']})")
    return Standing(tuple(later), tuple(abnormal), tuple(serious))


def apply(
    conn: Connection,
    application: RepairApplication,
    filed_on: date,
    actor: str = "public",
    client: str | None = None,
    limits: cases.OpenLimits = cases.OpenLimits(),
) -> cases.Case:
    """File an application in the caller's transaction: refused at once, or pending with a deadline."""
    if not application.applicant.strip():
        raise cases.InvalidRequest("the applicant must be named", "请填写申请人名称。", "applicant_missing")
    fact = cases.current_fact(conn, application.uscc, application.fact)
    pending = cases.pending_on_fact(conn, fact["fact_key"], "repair")
    if pending:
        raise cases.CaseConflict(
            f"a repair application for this record is already pending: ticket {pending[0]}",
            f"该条信息已有正在处理的信用修复申请（受理编号{pending[0]}），请凭编号查询进度。",
            "repair_pending",
        )
    cases.check_open(conn, "repair", fact["fact_key"], client, limits)
    assessment = assess(fact, application, filed_on, standing_of(conn, fact, filed_on))
    rules = rules_for(filed_on, province_of(fact["subject_uscc"]))
    # abnormal-list removal has its own limit (5 working days), not the penalty repair limit
    limit = (
        rules.repair.abnormal_decision_working_days
        if fact["kind"] == "abnormal"
        else rules.repair.decision_working_days
    ).value
    due = cases.deadline(filed_on, limit) if assessment.eligible else None
    request = {
        "evidence": [e.__dict__ for e in application.evidence],
        "obligations_performed": application.obligations_performed,
        "commitment_signed": application.commitment_signed,
        "commitment_text": application.commitment_text,
        "reorganisation_ruling": application.reorganisation_ruling,
    }
    record = assessment.as_dict()
    acceptance = rules.repair.acceptance_working_days.value
    if acceptance is not None and assessment.eligible:  # Order 107: accepted or refused within 3 working days
        record["accept_by"] = cases.deadline(filed_on, acceptance).day.isoformat()
    return cases.file_case(
        conn,
        kind="repair",
        uscc=application.uscc,
        fact=fact,
        ground=None,
        applicant=application.applicant,
        contact=application.contact,
        request=request,
        filed_on=filed_on,
        rule_set_id=rules.id,
        status=cases.PENDING if assessment.eligible else cases.REFUSED,
        assessment=record,
        earliest_on=None if assessment.eligible else assessment.earliest_on,
        limit=limit if due else None,
        due=due,
        actor=actor,
        client=client,
    )


@dataclass(frozen=True)
class Decision:
    case: cases.Case
    fact_version: int | None
    grade: dict | None


def decide(
    conn: Connection,
    ticket: str,
    approve: bool,
    reasons: list[str],
    actor: str,
    champion: registry.Champion | None,
    revision: int | None = None,
    client: str | None = None,
) -> Decision:
    """Approve or reject a pending application; approval's effects land in the same transaction."""
    case, moment = cases.decide(conn, ticket, revision, "approved" if approve else "rejected", reasons, actor)
    if case.kind != "repair":
        raise cases.InvalidRequest(f"{ticket} is an objection, not a repair application")
    version = grade = None
    related: list[str] = []
    if approve:
        fact = cases.current_fact(conn, case.uscc, case.fact_key)
        assert case.decision is not None  # decide() sets it
        history = {"ticket": ticket, "approved_on": case.decision["decided_on"], "by": actor, "reasons": reasons}
        version = effects.new_version(conn, fact, moment, status="repaired", detail={"repair": history})
        related = _repair_related_inspections(conn, fact, case.filed_on, moment, history)
        grade = effects.regrade(conn, champion, case.uscc, actor, f"credit repair approved ({ticket})")
    Store(conn).audit(
        moment,
        actor,
        "repair_decided",
        ticket,
        {
            "outcome": case.outcome,
            "reasons": reasons,
            "uscc": case.uscc,
            "fact_key": case.fact_key,
            "fact_version": version,
            "grade": grade,
            "related_inspections": related,
        },
        client=client,
    )
    return Decision(case, version, grade)


def _repair_related_inspections(conn: Connection, penalty: dict, filed_on: date, moment, history: dict) -> list[str]:
    """From Order 107: negative inspection results stop with their related penalty (those of the same
    entity in the ``related_inspection_days`` before its decision: our assumption, U)."""
    rules = rules_for(filed_on)
    if penalty["kind"] != "penalty" or not rules.repair.inspection_results_repairable.value:
        return []
    days = rules.repair.related_inspection_days.value
    start = penalty["event_date"] - timedelta(days=days)
    rows = (
        conn.execute(
            select(*(c for c in Fact.__table__.columns if c.name != "raw_json")).where(
                Fact.subject_uscc == penalty["subject_uscc"],
                Fact.kind == "inspection",
                Fact.category == "problem",
                Fact.status == "active",
                Fact.superseded_at.is_(None),
                Fact.event_date >= start,
                Fact.event_date <= penalty["event_date"],
            )
        )
        .mappings()
        .all()
    )
    for row in rows:
        effects.new_version(
            conn,
            dict(row),
            moment,
            status="repaired",
            detail={"repair": history | {"with_penalty": penalty["fact_key"]}},
        )
    return [row["fact_key"] for row in rows]


def extend(
    conn: Connection, ticket: str, reason: str, actor: str, revision: int | None = None, client: str | None = None
) -> cases.Case:
    """Extend a complex case once by the rule set's working days (Order 107: 10), with a reason."""
    case = cases.get_case(conn, ticket)
    if case.kind != "repair":
        raise cases.InvalidRequest(f"{ticket} is not a repair application")
    rules = rules_for(case.filed_on)
    days = rules.repair.extension_working_days.value
    if days is None:
        raise cases.InvalidRequest(
            f"no extension of the repair limit under {case.rule_set_id} ({rules.repair.extension_working_days.source})"
        )
    return cases.extend(
        conn, ticket, revision, days, reason, actor, rules.repair.decision_working_days.value + days, client
    )


def revoke(
    conn: Connection,
    ticket: str,
    reasons: list[str],
    actor: str,
    champion: registry.Champion | None,
    client: str | None = None,
) -> Decision:
    """Revoke a repair obtained by a false commitment (RULES.md §3): a regulator's act, audited; the
    record is restored (a new version, active again, with the revocation in its history) and the
    entity re-graded at once."""
    if not reasons or not all(r.strip() for r in reasons):
        raise cases.InvalidRequest("a revocation needs at least one non-empty reason")
    case = cases.get_case(conn, ticket)
    if case.kind != "repair" or case.outcome != "approved":
        raise cases.CaseConflict(f"{ticket} is not an approved repair ({case.kind}, {case.outcome}): nothing to revoke")
    rules = rules_for(case.filed_on)
    if not rules.repair.false_commitment_revocation.value:
        raise cases.InvalidRequest(f"no revocation under {case.rule_set_id}")
    moment = now_utc()
    revoked = {
        "revoked_on": moment.date().isoformat(),
        "by": actor,
        "reasons": reasons,
        "basis": rules.repair.false_commitment_revocation.source,
    }
    done = conn.execute(
        update(CreditCase)
        .where(CreditCase.ticket == ticket, CreditCase.outcome == "approved")
        .values(
            outcome="revoked",
            revision=CreditCase.revision + 1,
            decision_json=cases._json((case.decision or {}) | {"revoked": revoked}),
        )
    )
    if done.rowcount != 1:
        raise cases.CaseConflict(f"{ticket} changed meanwhile: read it again")
    fact = cases.current_fact(conn, case.uscc, case.fact_key)
    version = effects.new_version(
        conn, fact, moment, status="active", detail={"repair_revoked": revoked | {"ticket": ticket}}
    )
    grade = effects.regrade(conn, champion, case.uscc, actor, f"repair revoked: false commitment ({ticket})")
    Store(conn).audit(
        moment,
        actor,
        "repair_revoked",
        ticket,
        {"reasons": reasons, "uscc": case.uscc, "fact_key": case.fact_key, "fact_version": version, "grade": grade},
        client=client,
    )
    return Decision(cases.get_case(conn, ticket), version, grade)
