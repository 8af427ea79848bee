"""The source kinds of DATA_CONTRACT.md: canonical columns, their header spellings, required ones.

A header cell matches a column when, after ``normalise_header``, it equals the column code or
one of its Chinese names (with or without the parenthesised qualifier and the 行政相对人 prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from credit_engine.sources.clean import fold_fullwidth_text


@dataclass(frozen=True)
class Column:
    name: str  # canonical, used by the transforms
    code: str | None
    chinese: tuple[str, ...]
    required: bool = False
    #: Holds natural persons' identity numbers: masked before the raw row is stored.
    personal_id: bool = False


@dataclass(frozen=True)
class Kind:
    name: str  # fact kind written to the store
    variant: str  # e.g. "v1" or "v2" for the 双公示 generations, else ""
    columns: tuple[Column, ...]
    #: Ingest order: registration data first, so later kinds resolve old codes and persons.
    priority: int = 5
    aliases: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, str] = {}
        for col in self.columns:
            for spelling in _spellings(col):
                table.setdefault(spelling, col.name)
        object.__setattr__(self, "aliases", table)

    @property
    def label(self) -> str:
        return f"{self.name} {self.variant}".strip()

    @property
    def personal_id_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.personal_id)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def spelling_of(self, column: str) -> str:
        col = next(c for c in self.columns if c.name == column)
        return f"{col.code} / {col.chinese[0]}" if col.code else col.chinese[0]


_QUALIFIER = re.compile(r"\(.*?\)$")


def normalise_header(cell: str) -> str:
    """Fold case, width, spaces and a BOM so that spelling variants of one header compare equal."""
    s = fold_fullwidth_text(cell.replace("\ufeff", "")).strip().lower()
    return re.sub(r"\s+", "", s)


def _spellings(col: Column) -> set[str]:
    out: set[str] = set()
    if col.code:
        out.add(normalise_header(col.code))
    for name in col.chinese:
        base = normalise_header(name)
        for variant in {base, _QUALIFIER.sub("", base)}:
            out.add(variant)
            if variant.startswith("行政相对人代码"):
                out.add(variant.removeprefix("行政相对人"))
            elif variant.startswith("代码_"):
                out.add("行政相对人" + variant)
    return out


def C(name: str, code: str | None, *chinese: str, required: bool = False, personal_id: bool = False) -> Column:
    return Column(name, code, chinese, required, personal_id)


PENALTY_V2 = Kind(
    "penalty",
    "v2",
    (
        C("party_name", "CF_XDR_MC", "行政相对人名称"),
        C("party_category", "CF_XDR_LB", "行政相对人类别"),
        C("uscc", "CF_XDR_SHXYM", "行政相对人代码_1(统一社会信用代码)", required=True),
        C("reg_no", "CF_XDR_GSZC", "行政相对人代码_2(工商注册号)"),
        C("org_code", "CF_XDR_ZZJG", "行政相对人代码_3(组织机构代码)"),
        C("tax_reg_no", "CF_XDR_SWDJ", "行政相对人代码_4(税务登记号)"),
        C("institution_no", "CF_XDR_SYDW", "行政相对人代码_5(事业单位证书号)"),
        C("social_org_no", "CF_XDR_SHZZ", "行政相对人代码_6(社会组织登记证号)"),
        C("legal_rep_name", "CF_FRDB", "法定代表人"),
        C("legal_rep_id_type", "CF_FR_ZJLX", "法定代表人证件类型"),
        C("legal_rep_id", "CF_FR_ZJHM", "法定代表人证件号码", personal_id=True),
        C("party_id_type", "CF_XDR_ZJLX", "证件类型"),
        C("party_id", "CF_XDR_ZJHM", "证件号码", personal_id=True),
        C("document_no", "CF_WSH", "行政处罚决定书文号", required=True),
        C("violation_type", "CF_WFXW", "违法行为类型"),
        C("facts_text", "CF_SY", "违法事实"),
        C("basis", "CF_YJ", "处罚依据"),
        C("category", "CF_CFLB", "处罚类别", required=True),
        C("content", "CF_NR", "处罚内容"),
        C("fine_wan", "CF_NR_FK", "罚款金额(万元)"),
        C("confiscated_wan", "CF_NR_WFFF", "没收违法所得、没收非法财物的金额(万元)"),
        C("licence_affected", "CF_NR_ZKDX", "暂扣或吊销证照名称及编号"),
        C("decision_date", "CF_JDRQ", "处罚决定日期", required=True),
        C("valid_until", "CF_YXQ", "处罚有效期"),
        C("publicity_until", "CF_GSJZQ", "公示截止期"),
        # optional, beyond the national v2 header: the issuing authority's tier and publication date
        C("stated_tier", None, "公示类别", "失信行为严重程度"),
        C("published_on", None, "公示日期"),
        C("authority", "CF_CFJG", "处罚机关", required=True),
        C("authority_code", "CF_CFJGDM", "处罚机关统一社会信用代码"),
        C("data_source", "CF_SJLY", "数据来源单位"),
        C("data_source_code", "CF_SJLYDM", "数据来源单位统一社会信用代码"),
        C("remark", "BZ", "备注"),
    ),
)

PENALTY_V1 = Kind(
    "penalty",
    "v1",
    (
        C("document_no", "CF_WSH", "行政处罚决定书文号", required=True),
        C("penalty_name", "CF_CFMC", "处罚名称"),
        C("category", "CF_CFLB1", "处罚类别1", required=True),
        C("category2", "CF_CFLB2", "处罚类别2"),
        C("facts_text", "CF_SY", "处罚事由"),
        C("basis", "CF_YJ", "处罚依据"),
        C("party_name", "CF_XDR_MC", "行政相对人名称", required=True),
        C("uscc", "CF_XDR_SHXYM", "行政相对人代码_1(统一社会信用代码)", required=True),
        C("org_code", "CF_XDR_ZDM", "行政相对人代码_2(组织机构代码)"),
        C("reg_no", "CF_XDR_GSDJ", "行政相对人代码_3(工商登记码)"),
        C("tax_reg_no", "CF_XDR_SWDJ", "行政相对人代码_4(税务登记号)"),
        C("party_id", "CF_XDR_SFZ", "行政相对人代码_5(居民身份证号)", personal_id=True),
        C("legal_rep_name", "CF_FR", "法定代表人姓名"),
        C("content", "CF_JG", "处罚结果"),
        C("decision_date", "CF_JDRQ", "处罚决定日期", required=True),
        C("authority", "CF_XZJG", "处罚机关", required=True),
        C("source_status", "CF_ZT", "当前状态"),
        C("publicity_until", None, "公示截止期"),
        C("stated_tier", None, "公示类别", "失信行为严重程度"),
        C("published_on", None, "公示日期"),
        C("local_code", "DFBM", "地方编码"),
        C("updated_ts", "SJC", "数据更新时间戳"),
        C("remark", "BZ", "备注"),
    ),
)

#: ``license`` is the contract's name of the kind (DATA_CONTRACT.md), stored in every fact of it and in its
#: keys; everywhere else the code spells it licence.
LICENCE_V2 = Kind(
    "license",
    "v2",
    (
        C("party_name", "XK_XDR_MC", "行政相对人名称"),
        C("party_category", "XK_XDR_LB", "行政相对人类别"),
        C("uscc", "XK_XDR_SHXYM", "行政相对人代码_1(统一社会信用代码)", required=True),
        C("reg_no", "XK_XDR_GSZC", "行政相对人代码_2(工商注册号)"),
        C("org_code", "XK_XDR_ZZJG", "行政相对人代码_3(组织机构代码)"),
        C("tax_reg_no", "XK_XDR_SWDJ", "行政相对人代码_4(税务登记号)"),
        C("institution_no", "XK_XDR_SYDW", "行政相对人代码_5(事业单位证书号)"),
        C("social_org_no", "XK_XDR_SHZZ", "行政相对人代码_6(社会组织登记证号)"),
        C("legal_rep_name", "XK_FRDB", "法定代表人"),
        C("legal_rep_id_type", "XK_FR_ZJLX", "法定代表人证件类型"),
        C("legal_rep_id", "XK_FR_ZJHM", "法定代表人证件号码", personal_id=True),
        C("party_id_type", "XK_XDR_ZJLX", "证件类型"),
        C("party_id", "XK_XDR_ZJHM", "证件号码", personal_id=True),
        C("document_name", "XK_XKWS", "行政许可决定文书名称"),
        C("document_no", "XK_WSH", "行政许可决定文书号", required=True),
        C("category", "XK_XKLB", "许可类别"),
        C("certificate", "XK_XKZS", "许可证书名称"),
        C("licence_no", "XK_XKBH", "许可编号"),
        C("content", "XK_NR", "许可内容"),
        C("decision_date", "XK_JDRQ", "许可决定日期", required=True),
        C("valid_from", "XK_YXQZ", "有效期自"),
        C("valid_until", "XK_YXQZI", "有效期至"),
        C("authority", "XK_XKJG", "许可机关", required=True),
        C("authority_code", "XK_XKJGDM", "许可机关统一社会信用代码"),
        C("source_status", "XK_ZT", "当前状态"),
        C("data_source", "XK_LYDW", "数据来源单位"),
        C("data_source_code", "XK_LYDWDM", "数据来源单位统一社会信用代码"),
        C("remark", "BZ", "备注"),
    ),
)

LICENCE_V1 = Kind(
    "license",
    "v1",
    (
        C("document_no", None, "行政许可决定书文号", required=True),
        C("project_name", None, "项目名称"),
        C("category", None, "审批类别"),
        C("content", None, "许可内容"),
        C("party_name", None, "行政相对人名称", required=True),
        C("uscc", None, "行政相对人代码_1(统一社会信用代码)", required=True),
        C("org_code", None, "行政相对人代码_2(组织机构代码)"),
        C("reg_no", None, "行政相对人代码_3(工商登记码)"),
        C("tax_reg_no", None, "行政相对人代码_4(税务登记号)"),
        C("legal_rep_name", None, "法定代表人姓名"),
        C("decision_date", None, "许可决定日期", required=True),
        C("valid_until", None, "许可截止期"),
        C("authority", None, "许可机关", required=True),
        C("source_status", None, "当前状态"),
        C("local_code", None, "地方编码"),
        C("updated_ts", None, "数据更新时间戳"),
        C("remark", None, "备注"),
    ),
)


def _list_kind(name: str, list_name: str) -> Kind:
    return Kind(
        name,
        "",
        (
            C("uscc", None, "统一社会信用代码", required=True),
            C("name", None, "企业名称"),
            C("reason", None, f"列入{list_name}原因", required=True),
            C("listed_on", None, "列入日期", required=True),
            C("listed_by", None, "作出决定机关(列入)"),
            C("removal_reason", None, f"移出{list_name}原因"),
            C("removed_on", None, "移出日期"),
            C("removed_by", None, "作出决定机关(移出)"),
        ),
    )


ABNORMAL = _list_kind("abnormal", "经营异常名录")
SERIOUS = _list_kind("serious", "严重违法失信企业名单")

COURT = Kind(
    "court",
    "",
    (
        C("party_name", None, "被执行人姓名/名称", required=True),
        C("party_code", None, "身份证号码/组织机构代码", required=True, personal_id=True),
        C("party_nature", None, "被执行人性质"),
        C("gender", None, "性别"),
        C("age", None, "年龄"),
        C("legal_rep_name", None, "法定代表人或者负责人姓名"),
        C("court", None, "执行法院"),
        C("case_no", None, "案号", required=True),
        C("basis_doc", None, "执行依据文号"),
        C("filed_on", None, "立案时间", required=True),
        C("published_on", None, "发布时间"),
        C("conduct", None, "失信被执行人行为具体情形"),
        C("performance", None, "被执行人的履行情况"),
        C("removed_on", None, "移除日期"),
    ),
)

REGISTRATION = Kind(
    "registration",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("name", None, "企业名称", required=True),
        C("market_type", None, "市场主体类型"),
        C("legal_rep_name", None, "法定代表人"),
        C("legal_rep_id", None, "法定代表人证件号码", personal_id=True),
        C("capital_wan", None, "注册资本(万元)"),
        C("established_on", None, "成立日期", required=True),
        C("industry_code", None, "行业代码"),
        C("address", None, "住所"),
        C("authority", None, "登记机关"),
        C("reg_status", None, "登记状态", required=True),
        C("approved_on", None, "核准日期"),
        C("scope", None, "经营范围"),
        C("reg_no", None, "注册号"),
    ),
    priority=0,
)

PERSONNEL = Kind(
    "role",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("name", None, "姓名", required=True),
        C("id_no", None, "证件号码", required=True, personal_id=True),
        C("position", None, "职务", required=True),
        C("start", None, "任职起始日期"),
        C("end", None, "任职终止日期"),
        C("share_ratio", None, "持股比例"),
    ),
    priority=1,
)

TAX = Kind(
    "tax",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("name", None, "纳税人名称"),
        C("year", None, "评价年度", required=True),
        C("grade", None, "纳税信用等级", required=True),
        C("rated_on", None, "评定日期"),
    ),
)

INSPECTION = Kind(
    "inspection",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("name", None, "企业名称"),
        C("task_no", None, "抽查任务编号"),
        C("authority", None, "检查实施机关"),
        C("inspection_type", None, "类型", required=True),
        C("inspected_on", None, "检查日期", required=True),
        C("result", None, "检查结果", required=True),
        # our results API and draw exports add it (DESIGN.md: record the probability with every draw)
        C("inclusion_probability", None, "入选概率"),
    ),
)

COMMITMENT = Kind(
    "commitment",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("commitment_type", None, "承诺类型", required=True),
        C("committed_on", None, "承诺日期", required=True),
        C("fulfilment", None, "履约状态"),
        C("checked_on", None, "核查日期"),
    ),
)

COMPLAINT = Kind(
    "complaint",
    "",
    (
        C("uscc", None, "统一社会信用代码", required=True),
        C("registered_on", None, "登记日期", required=True),
        C("category", None, "类别"),
        C("substantiated", None, "是否属实"),
    ),
)

#: Events that bar a person from a role (RULES.md §5) which no other kind carries: criminal
#: sentences (Company Law Art.178(2)), completed bankruptcy liquidations (178(3)), registrations
#: cancelled for fraud (实施细则 Art.71). One row per person and event; 起算日期 is the day the bar
#: runs from (刑罚执行完毕 / 缓刑考验期满 / 破产清算完结 / 撤销登记).
PERSON_BAR = Kind(
    "person_bar",
    "",
    (
        C("name", None, "姓名", required=True),
        C("id_no", None, "证件号码", required=True, personal_id=True),
        C("ground", None, "限制事由", required=True),
        C("counted_from", None, "起算日期", required=True),
        C("uscc", None, "统一社会信用代码"),
        C("enterprise_name", None, "企业名称"),
        C("offence", None, "罪名"),
        C("authority", None, "作出机关"),
        C("document_no", None, "文书号"),
    ),
    priority=2,
)

KINDS: tuple[Kind, ...] = (
    PENALTY_V2,
    PENALTY_V1,
    LICENCE_V2,
    LICENCE_V1,
    ABNORMAL,
    SERIOUS,
    COURT,
    REGISTRATION,
    PERSONNEL,
    TAX,
    INSPECTION,
    COMMITMENT,
    COMPLAINT,
    PERSON_BAR,
)
