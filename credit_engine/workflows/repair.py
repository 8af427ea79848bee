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
            raise cases.InvalidRequest(f"unknown evidence kind {self.kind!r}; use one of {', '.join(EVIDENCE_KINDS)}",
                                       "证明材料类型不正确。", "unknown_evidence_kind")
        if not self.description.strip():
            raise cases.InvalidRequest(f"evidence {self.kind!r} needs a description", "请填写证明材料的说明。",
                                       "evidence_without_description")


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
        return {"rule_set": self.rule_set_id, "eligible": self.eligible, "reasons": self.reasons,
                "refusals": [{"code": c.code, "message": c.zh} for c in self.checks if not c.passed],
                "checks": [c.__dict__ for c in self.checks], "publicity_ends_on": self.publicity_ends_on,
                "notes": list(self.notes)}


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
        area = detail.get("key_area")
        key_area = bool(area) and area in rules.repair.key_areas.value
        cats = split_categories([fact["category"] or "其他"])
        tiering = tier_penalty(cats, fact["amount_yuan"], fact["event_date"], key_area, rules, fact["end_date"])
        end = tiering.publicity_end
        tier_rule = getattr(rules.penalty.tiers, tiering.tier.value)
        minimum = tier_rule.key_area_repair_after_months
        if not key_area or minimum.value is None:
            minimum = tier_rule.repair_after_months
        law = law_of(minimum.source, rules)
        tier = _TIER_ZH[tiering.tier.value]
        if tiering.repair_from is None:
            blocked = [c for c in cats if c in rules.penalty.never_early_categories.value]
            why = (f"处罚种类含{'、'.join(blocked)}，依据{law_of(rules.penalty.never_early_categories.source, rules)}"
                   if blocked else f"依据{law}，该{tier}失信行为")
            return Check("minimum period reached", False,
                         f"not repairable early under {rules.id}: {tiering.basis}; publicity ends by itself on "
                         f"{end}", "not_repairable_early",
                         f"{why}不可提前停止公示，公示期满（{end}）后自动停止公示。"), None, end
        if filed_on < tiering.repair_from:
            return Check("minimum period reached", False,
                         f"minimum publicity period not reached under {rules.id}: {tiering.basis}", code,
                         f"依据{law}，{tier}失信行为的最短公示期未满，{tiering.repair_from}起方可申请信用修复。"
                         ), tiering.repair_from, end
        return Check("minimum period reached", True, f"{rules.id}: {tiering.basis}", code,
                     f"依据{law}，最短公示期已满。"), filed_on, end
    if kind == "serious":
        rule = rules.serious_list.early_removal_after_years
        since = add_months(fact["event_date"], 12 * rule.value)
        end = add_months(fact["event_date"], 12 * rules.serious_list.publicity_years.value)
        ok = filed_on >= since
        return Check("minimum period reached", ok,
                     f"serious list: early removal possible {rule.value} year(s) after listing, from {since} "
                     f"({rule.source})", code,
                     f"依据{law_of(rule.source, rules)}，列入严重违法失信名单满{rule.value}年后方可申请提前移出，"
                     f"{since}起可以申请。"), (filed_on if ok else since), end
    if kind == "abnormal":
        reasons = {r.id: r for r in rules.abnormal_list.reasons}
        reason = reasons.get(fact["category"] or "")
        grounds = reason.repair_grounds if reason else "remedy the reason for listing"
        return Check("minimum period reached", True,
                     f"abnormal list: no minimum period; removal once the reason is remedied ({grounds})", code,
                     "经营异常名录无最短公示期，消除列入原因后即可申请移出。"), filed_on, None
    if kind == "court":
        rule = rules.court_list.deletion_working_days
        court_law = law_of(rule.source, rules).replace("同上", law_of(rules.court_list.listed_years.source, rules))
        return Check("repairable by market regulators", False,
                     f"court-list records are deleted by the court within "
                     f"{rule.value} working days of performance: apply to the court", "court_record",
                     f"失信被执行人信息由人民法院在被执行人履行义务后{rule.value}个工作日内删除"
                     f"（{court_law}），请向执行法院申请。"), None, None
    return Check("adverse record", False, f"a {kind} record is not adverse credit information: nothing to repair",
                 "not_adverse", f"该条信息（{KIND_ZH.get(kind, '公示信息')}）不属于失信信息，无需信用修复。"), None, None


#: The public names of the kinds of record (the public page's section titles).
KIND_ZH = {"penalty": "行政处罚信息", "abnormal": "经营异常名录", "serious": "严重违法失信名单",
           "court": "失信被执行人信息", "license": "行政许可信息", "inspection": "抽查检查结果", "role": "主要人员"}
#: The kinds a market regulator repairs (the others are not adverse, or are the court's).
REPAIRABLE_KINDS = ("penalty", "abnormal", "serious")


def assess(fact: dict, application: RepairApplication, filed_on: date) -> Assessment:
    """Every repair condition of the rule set in force on ``filed_on`` (RULES.md §3)."""
    rules = rules_for(filed_on)
    detail = json.loads(fact["detail_json"]) if fact["detail_json"] else {}
    publicity, basis, _ = publicity_on(fact, detail, filed_on, rules)
    if publicity is not Publicity.PUBLISHED:
        check = Check("record published", False, f"the record is not published on {filed_on} ({publicity}: {basis}): "
                                                 "there is nothing to repair", "not_published",
                      f"该条信息在{filed_on}未处于公示状态，无需信用修复。")
        return Assessment(rules.id, (check,), None)
    period, earliest, ends = _period(fact, detail, filed_on, rules)
    law = law_of(rules.repair.conditions.source, rules)
    checks = [
        period,
        Check("conduct corrected and obligations fully performed", application.obligations_performed,
              "obligations performed (fine paid, conduct corrected), as declared and evidenced"
              if application.obligations_performed else
              "the conduct must be corrected and the obligations fully performed (e.g. the fine paid) first",
              "obligations", "" if application.obligations_performed else
              f"依据{law}，须先纠正失信行为、全面履行法定义务（如缴清罚款）。"),
        Check("evidence", bool(application.evidence),
              f"{len(application.evidence)} item(s) of evidence" if application.evidence else
              "no evidence given (e.g. the fine receipt, proof of the correction)",
              "evidence", "" if application.evidence else "未提交证明材料（如罚款缴纳凭证、整改证明）。"),
        Check("public credit commitment (信用承诺书) submitted", application.commitment_signed,
              "signed credit commitment submitted" if application.commitment_signed else
              "the signed public credit commitment (信用承诺书) is missing",
              "commitment", "" if application.commitment_signed else f"依据{law}，须提交签署的信用承诺书。"),
    ]
    notes = ("no other legal bar: confirmed by the regulator at decision",)
    return Assessment(rules.id, tuple(checks), earliest, ends, notes)


def apply(conn: Connection, application: RepairApplication, filed_on: date, actor: str = "public",
          client: str | None = None) -> cases.Case:
    """File an application in the caller's transaction: refused at once, or pending with a deadline."""
    if not application.applicant.strip():
        raise cases.InvalidRequest("the applicant must be named", "请填写申请人名称。", "applicant_missing")
    fact = cases.current_fact(conn, application.uscc, application.fact)
    pending = cases.pending_on_fact(conn, fact["fact_key"], "repair")
    if pending:
        raise cases.CaseConflict(f"a repair application for this record is already pending: ticket {pending[0]}",
                                 f"该条信息已有正在处理的信用修复申请（受理编号{pending[0]}），请凭编号查询进度。",
                                 "repair_pending")
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
