"""World and events -> source tables with the contract's headers (DATA_CONTRACT.md).

Each builder decides the file's header style, encoding and date shapes, as the exporting
systems do; ``defects`` then damages the tables and ``writers`` puts them on disk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import ids, vocab
from .dates import NA_DAY
from .defects import Table
from .events import Events
from .world import World


def _choose(condition: Any, chosen: Any, otherwise: Any) -> np.ndarray:
    """``np.where`` as an object column: numpy's type stubs know no branch that is ``None``."""
    return np.asarray(np.where(condition, chosen, otherwise), dtype=object)


def zero_padded(numbers: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded text (``np.char.zfill`` fails on an empty array: a small province
    has files with no rows)."""
    return np.array([f"{int(n):0{width}d}" for n in numbers], dtype=object)


def _nulls(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _obj(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _num(values: np.ndarray) -> np.ndarray:
    """Numbers as short text (``200``, ``0.35``), None for NaN."""
    return np.array([None if v != v else f"{v:g}" for v in values], dtype=object)


class Lookup:
    """Entity- and person-level text columns, indexed by event rows."""

    def __init__(self, world: World) -> None:
        e, p, reg = world.entities, world.persons, world.regions
        self.uscc = _obj(e["uscc"])
        self.name = _obj(e["name"])
        self.org = _obj(e["org"])
        self.regno = np.array([None if v != v else v for v in e["regno"]], dtype=object)
        self.region_code = reg.code[e["region"].to_numpy()]
        self.region = e["region"].to_numpy()
        self.lr_name = _obj(p["name"])[e["lr"].to_numpy()]
        self.lr_id = _obj(p["id_no"])[e["lr"].to_numpy()]
        self.kind = np.where(e["prefix"].to_numpy() == "2", "个体工商户", "法人及非法人组织").astype(object)
        self.person_name = _obj(p["name"])
        self.person_id = _obj(p["id_no"])
        self.reg = reg
        self.authority_code = ids.authority_codes(reg.code)
        self.licence = np.array([i.licence for i in vocab.INDUSTRIES])[e["industry"].to_numpy()]
        self.scope = _obj(e["scope"])


def registration(world: World, lk: Lookup) -> Table:
    """GSXT basic information, Chinese headers plus the extra 注册号 column that resolves old codes."""
    e = world.entities
    r = e["region"].to_numpy()
    cols = {
        "统一社会信用代码": lk.uscc.copy(),
        "企业名称": lk.name,
        "市场主体类型": _obj(e["mtype"]),
        "法定代表人": lk.lr_name,
        "法定代表人证件号码": lk.lr_id.copy(),
        "注册资本（万元）": _num(e["capital"].to_numpy()),
        "成立日期": e["est"].to_numpy(),
        "行业代码": np.array([i.code for i in vocab.INDUSTRIES], dtype=object)[e["industry"].to_numpy()],
        "住所": _obj(e["address"]),
        "登记机关": lk.reg.authority[r],
        "登记状态": _obj(e["status"]),
        "核准日期": e["approved"].to_numpy(),
        "经营范围": lk.scope,
        "注册号": lk.regno.copy(),
    }
    return Table(
        "sources/registration_gsxt.csv",
        "registration",
        cols,
        np.arange(len(e)),
        "utf-8-sig",
        dates={"成立日期": "cn_pad", "核准日期": "cn_pad"},
        key_dates=("成立日期",),
        optional=("注册号",),
        uscc="统一社会信用代码",
    )


def personnel(world: World, lk: Lookup) -> Table:
    """Key persons with full resident IDs: the enterprise-person graph the linking stage rebuilds."""
    ro = world.roles
    ent, per = ro["entity"].to_numpy(), ro["person"].to_numpy()
    cols = {
        "统一社会信用代码": lk.uscc[ent],
        "姓名": lk.person_name[per],
        "证件号码": lk.person_id[per],
        "职务": _obj(ro["role"]),
        "任职起始日期": ro["start"].to_numpy(),
        "任职终止日期": ro["end"].to_numpy(),
        "持股比例": _num(ro["share"].to_numpy()),
    }
    return Table(
        "sources/personnel_key_persons.csv",
        "personnel",
        cols,
        ent,
        "utf-8",
        dates={"任职起始日期": "iso", "任职终止日期": "iso"},
        key_dates=("任职起始日期",),
        end_dates=("任职终止日期",),
        optional=("任职终止日期", "持股比例"),
        uscc="统一社会信用代码",
        uscc_defects=("uscc_case_space",),
    )


def _penalty_number(lk: Lookup, pen: pd.DataFrame) -> np.ndarray:
    """文书号: 工商 style before the 2019 merger into 市场监督管理局, then 市监罚."""
    abbrev = lk.reg.abbrev[pen["region"].to_numpy()]
    year = pen["year"].to_numpy().astype(str).astype(object)
    seq = pen["seq"].to_numpy().astype(str).astype(object)
    modern = pen["year"].to_numpy() >= 2019
    return np.where(
        modern, abbrev + "市监罚〔" + year + "〕" + seq + "号", abbrev + "工商处字〔" + year + "〕第" + seq + "号"
    )


def _licence_names(lk: Lookup, entity: np.ndarray) -> np.ndarray:
    """The certificate an entity's industry needs ("" where none)."""
    names = np.array([n for n, _ in vocab.LICENCES] + [""], dtype=object)
    return names[lk.licence[entity]]


_PENALTY_V1_COLUMNS = (
    "CF_WSH",
    "CF_CFMC",
    "CF_CFLB1",
    "CF_CFLB2",
    "CF_SY",
    "CF_YJ",
    "CF_XDR_MC",
    "CF_XDR_SHXYM",
    "CF_XDR_ZDM",
    "CF_XDR_GSDJ",
    "CF_XDR_SWDJ",
    "CF_XDR_SFZ",
    "CF_FR",
    "CF_JG",
    "CF_JDRQ",
    "CF_XZJG",
    "CF_ZT",
    "DFBM",
    "SJC",
    "BZ",
)


def penalty_v1(world: World, ev: Events, lk: Lookup, rng: np.random.Generator) -> Table:
    """2016-2019 双公示 penalties: v1 codes, money only as text in CF_JG, quote-all GB18030, CRLF."""
    pen = ev.penalties[~ev.penalties["v2"]]
    n = len(pen)
    e = pen["entity"].to_numpy()
    cats = [c.replace(";", "、").split("、") for c in pen["categories"]]
    fine = pen["fine"].to_numpy()
    fine_text = np.array([f"罚款{int(f)}元" for f in fine], dtype=object)
    tier = pen["tier"].to_numpy()
    lic = _licence_names(lk, e)
    result = np.select(
        [tier == "warning", tier == "fine", tier == "confiscate", tier == "suspend"],
        [
            "警告",
            fine_text,
            fine_text + "，没收违法所得" + np.array([f"{int(c)}元" for c in pen["confiscated"]], dtype=object),
            "责令停产停业，" + fine_text,
        ],
        "吊销" + np.where(lic == "", "许可证件", lic) + "，" + fine_text,
    )
    cols = {c: _nulls(n) for c in _PENALTY_V1_COLUMNS}
    cols.update(
        {
            "CF_WSH": _penalty_number(lk, pen),
            "CF_CFMC": lk.name[e] + _obj(pen["violation"]) + "案",
            "CF_CFLB1": np.array([c[0] for c in cats], dtype=object),
            "CF_CFLB2": np.array([c[1] if len(c) > 1 else None for c in cats], dtype=object),
            "CF_SY": "当事人" + _obj(pen["violation"]),
            "CF_YJ": _obj(pen["basis"]),
            "CF_XDR_MC": lk.name[e],
            "CF_XDR_SHXYM": lk.uscc[e],
            "CF_FR": lk.lr_name[e],
            "CF_JG": _obj(result),
            "CF_JDRQ": pen["day"].to_numpy(),
            "CF_XZJG": lk.reg.authority[pen["region"].to_numpy()],
            "CF_ZT": np.where(pen["revoked_decision"].to_numpy(), "撤销", "正常").astype(object),
            "DFBM": lk.region_code[e],
            "SJC": np.minimum(pen["day"].to_numpy() + rng.integers(1, 30, n), world.as_of),
        }
    )
    return Table(
        "sources/penalty_2016_2019.csv",
        "penalty_v1",
        cols,
        e,
        "gb18030",
        dates={"CF_JDRQ": "dash_time", "SJC": "dash_time"},
        key_dates=("CF_JDRQ",),
        optional=("CF_CFLB2", "BZ"),
        uscc="CF_XDR_SHXYM",
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_org_code", "uscc_placeholder"),
        quote_all=True,
        crlf=True,
    )


_PENALTY_V2_COLUMNS = (
    "CF_XDR_MC",
    "CF_XDR_LB",
    "CF_XDR_SHXYM",
    "CF_XDR_GSZC",
    "CF_XDR_ZZJG",
    "CF_XDR_SWDJ",
    "CF_XDR_SYDW",
    "CF_XDR_SHZZ",
    "CF_FRDB",
    "CF_FR_ZJLX",
    "CF_FR_ZJHM",
    "CF_XDR_ZJLX",
    "CF_XDR_ZJHM",
    "CF_WSH",
    "CF_WFXW",
    "CF_SY",
    "CF_YJ",
    "CF_CFLB",
    "CF_NR",
    "CF_NR_FK",
    "CF_NR_WFFF",
    "CF_NR_ZKDX",
    "CF_JDRQ",
    "CF_YXQ",
    "CF_GSJZQ",
    "CF_CFJG",
    "CF_CFJGDM",
    "CF_SJLY",
    "CF_SJLYDM",
    "BZ",
)


def penalty_v2(ev: Events, lk: Lookup, rng: np.random.Generator) -> tuple[Table, Table]:
    """The 2020+ penalties, split between a CSV export and the 信用中国 API's JSON Lines."""
    pen = ev.penalties[ev.penalties["v2"]]
    api = rng.random(len(pen)) < 0.25
    return _penalty_v2_table(
        pen[~api], lk, "sources/penalty_2020_on.csv", "utf-8", "iso", jsonl=False
    ), _penalty_v2_table(pen[api], lk, "sources/penalty_xinyong_api.jsonl", "utf-8", "epoch_ms", jsonl=True)


def _penalty_v2_table(pen: pd.DataFrame, lk: Lookup, path: str, encoding: str, shape: str, jsonl: bool) -> Table:
    """v2 rows: fines in 万元 (CF_NR_FK), publicity end as the source states it (CF_GSJZQ)."""
    n = len(pen)
    e = pen["entity"].to_numpy()
    fine = pen["fine"].to_numpy()
    conf = pen["confiscated"].to_numpy()
    tier = pen["tier"].to_numpy()
    lic = _licence_names(lk, e)
    lic = np.where(lic == "", "许可证件", lic)
    lic_no = lic + "（编号" + lk.region_code[e] + zero_padded(pen["seq"].to_numpy(), 6) + "）"
    fine_part = np.array([f"罚款人民币{int(f)}元" for f in fine], dtype=object)
    content = np.select(
        [tier == "warning", tier == "criticism", tier == "fine", tier == "confiscate", tier == "suspend"],
        [
            "警告",
            "通报批评",
            fine_part,
            "没收违法所得" + np.array([f"{int(c)}元" for c in conf], dtype=object) + "，" + fine_part,
            "责令停产停业6个月，" + fine_part,
        ],
        "吊销" + lic + "，" + fine_part,
    )
    region = pen["region"].to_numpy()
    cols = {c: _nulls(n) for c in _PENALTY_V2_COLUMNS}
    cols.update(
        {
            "CF_XDR_MC": lk.name[e],
            "CF_XDR_LB": lk.kind[e],
            "CF_XDR_SHXYM": lk.uscc[e],
            "CF_FRDB": lk.lr_name[e],
            "CF_WSH": _penalty_number(lk, pen),
            "CF_WFXW": _obj(pen["violation"]),
            "CF_SY": "经查，当事人存在" + _obj(pen["violation"]) + "的违法行为。",
            "CF_YJ": _obj(pen["basis"]),
            "CF_CFLB": _obj(pen["categories"]),
            "CF_NR": _obj(content),
            "CF_NR_FK": np.array([f"{f / 10_000:g}" if f > 0 else None for f in fine], dtype=object),
            "CF_NR_WFFF": np.array([f"{c / 10_000:g}" if c > 0 else None for c in conf], dtype=object),
            "CF_NR_ZKDX": _choose(np.isin(tier, ["revoke"]), lic_no, None),
            "CF_JDRQ": pen["day"].to_numpy(),
            "CF_YXQ": pen["valid_to"].to_numpy(),
            "CF_GSJZQ": pen["publicity_end"].to_numpy(),
            "CF_CFJG": lk.reg.authority[region],
            "CF_CFJGDM": lk.authority_code[region],
            "CF_SJLY": lk.reg.authority[region],
            "CF_SJLYDM": lk.authority_code[region],
        }
    )
    return Table(
        path,
        "penalty_v2",
        cols,
        e,
        encoding,
        dates={"CF_JDRQ": shape, "CF_YXQ": shape, "CF_GSJZQ": shape},
        key_dates=("CF_JDRQ",),
        end_dates=("CF_YXQ",),
        optional=("CF_XDR_GSZC", "CF_XDR_ZZJG", "CF_NR_WFFF", "CF_NR_ZKDX", "BZ"),
        uscc="CF_XDR_SHXYM",
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_org_code", "uscc_placeholder", "uscc_masked"),
        jsonl=jsonl,
    )


_LICENCE_V1_COLUMNS = (
    "行政许可决定书文号",
    "项目名称",
    "审批类别",
    "许可内容",
    "行政相对人名称",
    "行政相对人代码_1",
    "行政相对人代码_2",
    "行政相对人代码_3",
    "行政相对人代码_4",
    "法定代表人姓名",
    "许可决定日期",
    "许可截止期",
    "许可机关",
    "当前状态",
    "地方编码",
    "数据更新时间戳",
    "备注",
)
_LICENCE_V2_COLUMNS = (
    "XK_XDR_MC",
    "XK_XDR_LB",
    "XK_XDR_SHXYM",
    "XK_XDR_GSZC",
    "XK_XDR_ZZJG",
    "XK_XDR_SWDJ",
    "XK_XDR_SYDW",
    "XK_XDR_SHZZ",
    "XK_FRDB",
    "XK_FR_ZJLX",
    "XK_FR_ZJHM",
    "XK_XDR_ZJLX",
    "XK_XDR_ZJHM",
    "XK_XKWS",
    "XK_WSH",
    "XK_XKLB",
    "XK_XKZS",
    "XK_XKBH",
    "XK_NR",
    "XK_JDRQ",
    "XK_YXQZ",
    "XK_YXQZI",
    "XK_XKJG",
    "XK_XKJGDM",
    "XK_ZT",
    "XK_LYDW",
    "XK_LYDWDM",
    "BZ",
)
_LICENCE_PREFIX = np.array(["JY", "SC", "YJ", "YS", "DY", "JZ", "PW", "YC", "TH"], dtype=object)


def licences(world: World, ev: Events, lk: Lookup, rng: np.random.Generator) -> tuple[Table, Table]:
    """Licence decisions before 2020 in the v1 Chinese layout, later ones in the v2 code layout."""
    lic = ev.licences
    e = lic["entity"].to_numpy()
    kind = lic["kind"].to_numpy()
    region = lic["region"].to_numpy()
    year = lic["year"].to_numpy().astype(str).astype(object)
    seq = lic["seq"].to_numpy().astype(str).astype(object)
    abbrev = lk.reg.abbrev[region]
    cert = np.array([n for n, _ in vocab.LICENCES], dtype=object)[kind]
    code = np.array([c for _, c in vocab.LICENCES], dtype=object)[kind]
    serial = zero_padded(np.arange(len(lic)), 7)
    number = _LICENCE_PREFIX[kind] + lk.region_code[e] + serial
    valid_to = np.where(lic["long_term"].to_numpy(), NA_DAY, lic["valid_to"].to_numpy())
    v1 = lic["year"].to_numpy() < 2020

    s = v1
    old = {c: _nulls(int(s.sum())) for c in _LICENCE_V1_COLUMNS}
    old.update(
        {
            "行政许可决定书文号": abbrev[s] + "许字〔" + year[s] + "〕第" + seq[s] + "号",
            "项目名称": cert[s] + "核发",
            "审批类别": np.array([vocab.LICENCE_CLASS_TEXT[c] for c in code[s]], dtype=object),
            "许可内容": lk.scope[e[s]],
            "行政相对人名称": lk.name[e[s]],
            "行政相对人代码_1": lk.uscc[e[s]],
            "法定代表人姓名": lk.lr_name[e[s]],
            "许可决定日期": lic["day"].to_numpy()[s],
            "许可截止期": valid_to[s],
            "许可机关": lk.reg.authority[region[s]],
            "当前状态": _obj(lic["state"])[s],
            "地方编码": lk.region_code[e[s]],
            "数据更新时间戳": np.minimum(lic["day"].to_numpy()[s] + rng.integers(1, 30, int(s.sum())), world.as_of),
        }
    )
    t1 = Table(
        "sources/licence_2016_2019.csv",
        "licence_v1",
        old,
        e[s],
        "gb18030",
        dates={"许可决定日期": "cn", "许可截止期": "cn", "数据更新时间戳": "dash_time"},
        key_dates=("许可决定日期",),
        end_dates=("许可截止期",),
        optional=("备注",),
        uscc="行政相对人代码_1",
        uscc_defects=("uscc_case_space", "uscc_org_code"),
        quote_all=True,
        crlf=True,
    )

    s = ~v1
    new = {c: _nulls(int(s.sum())) for c in _LICENCE_V2_COLUMNS}
    new.update(
        {
            "XK_XDR_MC": lk.name[e[s]],
            "XK_XDR_LB": lk.kind[e[s]],
            "XK_XDR_SHXYM": lk.uscc[e[s]],
            "XK_FRDB": lk.lr_name[e[s]],
            "XK_XKWS": cert[s] + "准予许可决定书",
            "XK_WSH": abbrev[s] + "市监许〔" + year[s] + "〕" + seq[s] + "号",
            "XK_XKLB": code[s].copy(),
            "XK_XKZS": cert[s],
            "XK_XKBH": number[s],
            "XK_NR": lk.scope[e[s]],
            "XK_JDRQ": lic["day"].to_numpy()[s],
            "XK_YXQZ": lic["day"].to_numpy()[s],
            "XK_YXQZI": valid_to[s],
            "XK_XKJG": lk.reg.authority[region[s]],
            "XK_XKJGDM": lk.authority_code[region[s]],
            "XK_ZT": _obj(lic["state"])[s],
            "XK_LYDW": lk.reg.authority[region[s]],
            "XK_LYDWDM": lk.authority_code[region[s]],
        }
    )
    t2 = Table(
        "sources/licence_2020_on.csv",
        "licence_v2",
        new,
        e[s],
        "utf-8-sig",
        dates={"XK_JDRQ": "compact", "XK_YXQZ": "compact", "XK_YXQZI": "compact"},
        key_dates=("XK_JDRQ",),
        end_dates=("XK_YXQZI",),
        optional=("XK_XDR_GSZC", "XK_XDR_ZZJG", "BZ"),
        uscc="XK_XDR_SHXYM",
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_placeholder"),
    )
    return t1, t2


def _list_table(
    frame: pd.DataFrame,
    lk: Lookup,
    path: str,
    kind: str,
    encoding: str,
    headers: tuple[str, ...],
    reasons: np.ndarray,
    removal_reasons: np.ndarray,
) -> Table:
    """The shared layout of the two GSXT lists (listing, then removal)."""
    e = frame["entity"].to_numpy()
    removed = frame["removed"].to_numpy() != NA_DAY
    authority = lk.reg.authority[lk.region[e]]
    uscc_h, name_h, reason_h, day_h, by_h, out_reason_h, out_day_h, out_by_h = headers
    cols = {
        uscc_h: lk.uscc[e],
        name_h: lk.name[e],
        reason_h: reasons,
        day_h: frame["day"].to_numpy(),
        by_h: authority,
        out_reason_h: _choose(removed, removal_reasons, None),
        out_day_h: frame["removed"].to_numpy(),
        out_by_h: _choose(removed, authority, None),
    }
    return Table(
        path,
        kind,
        cols,
        e,
        encoding,
        dates={day_h: "cn_pad", out_day_h: "cn_pad"},
        key_dates=(day_h,),
        end_dates=(out_day_h,),
        optional=(out_reason_h, out_day_h, out_by_h),
        uscc=uscc_h,
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_org_code", "uscc_placeholder"),
    )


def abnormal(ev: Events, lk: Lookup) -> Table:
    """经营异常名录 with the statutory reasons and matching removal reasons."""
    ab = ev.abnormal
    reason = ab["reason"].to_numpy()
    return _list_table(
        ab,
        lk,
        "sources/abnormal_operations.csv",
        "abnormal",
        "utf-8",
        (
            "统一社会信用代码",
            "企业名称",
            "列入经营异常名录原因",
            "列入日期",
            "作出决定机关(列入)",
            "移出经营异常名录原因",
            "移出日期",
            "作出决定机关(移出)",
        ),
        np.array(vocab.ABNORMAL_REASONS, dtype=object)[reason],
        np.array(vocab.ABNORMAL_REMOVALS, dtype=object)[reason],
    )


def serious(ev: Events, lk: Lookup) -> Table:
    """严重违法失信名单, fed by three-year abnormal entries and grave penalties."""
    se = ev.serious
    return _list_table(
        se,
        lk,
        "sources/serious_illegal_dishonest.csv",
        "serious",
        "gb18030",
        (
            "统一社会信用代码",
            "企业名称",
            "列入严重违法失信企业名单原因",
            "列入日期",
            "作出决定机关(列入)",
            "移出严重违法失信企业名单原因",
            "移出日期",
            "作出决定机关(移出)",
        ),
        _obj(se["reason"]),
        np.full(len(se), vocab.SERIOUS_REMOVAL, dtype=object),
    )


def court(world: World, ev: Events, lk: Lookup) -> Table:
    """The court list; rows naming a person carry entity -1."""
    co = ev.court
    e, p = co["entity"].to_numpy(), co["person"].to_numpy()
    person = p >= 0
    pp = np.maximum(p, 0)
    birth = world.persons["birth"].to_numpy()[pp]
    male = world.persons["male"].to_numpy()[pp]
    age = ((co["day"].to_numpy() - birth) // 365.25).astype(np.int64)
    region = co["region"].to_numpy()
    court_code = lk.reg.court_code[region]
    year = co["year"].to_numpy().astype(str).astype(object)
    cols = {
        "被执行人姓名/名称": np.where(person, lk.person_name[pp], lk.name[e]).astype(object),
        "身份证号码/组织机构代码": np.where(person, lk.person_id[pp], lk.uscc[e]).astype(object),
        "被执行人性质": np.where(person, "自然人", "法人").astype(object),
        "性别": _choose(person, np.where(male, "男", "女"), None),
        "年龄": _choose(person, age.astype(str), None),
        "法定代表人或者负责人姓名": _choose(person, None, lk.lr_name[e]),
        "执行法院": lk.reg.court[region],
        "案号": "（" + year + "）" + court_code + "执" + co["seq"].to_numpy().astype(str).astype(object) + "号",
        "执行依据文号": "（"
        + co["basis_year"].to_numpy().astype(str).astype(object)
        + "）"
        + court_code
        + "民初"
        + co["basis_seq"].to_numpy().astype(str).astype(object)
        + "号",
        "立案时间": co["day"].to_numpy(),
        "发布时间": co["published"].to_numpy(),
        "失信被执行人行为具体情形": np.array(vocab.COURT_CONDUCT, dtype=object)[co["conduct"].to_numpy()],
        "被执行人的履行情况": np.array(vocab.COURT_PERFORMANCE, dtype=object)[co["performance"].to_numpy()],
        "移除日期": co["removed"].to_numpy(),
    }
    return Table(
        "sources/court_dishonest_debtors.csv",
        "court",
        cols,
        np.where(person, -1, e),
        "utf-8",
        dates={"立案时间": "dash", "发布时间": "dash", "移除日期": "dash"},
        key_dates=("立案时间",),
        end_dates=("移除日期",),
        optional=("性别", "年龄", "法定代表人或者负责人姓名", "移除日期"),
        uscc="身份证号码/组织机构代码",
        uscc_defects=("uscc_case_space", "uscc_org_code", "uscc_placeholder", "uscc_masked"),
    )


def tax(ev: Events, lk: Lookup) -> Table:
    """Yearly tax credit grades, one row per entity and evaluated year."""
    tx = ev.tax
    e = tx["entity"].to_numpy()
    cols = {
        "统一社会信用代码": lk.uscc[e],
        "纳税人名称": lk.name[e],
        "评价年度": tx["year"].to_numpy().astype(str).astype(object),
        "纳税信用等级": _obj(tx["grade"]),
        "评定日期": tx["day"].to_numpy(),
    }
    return Table(
        "sources/tax_credit_grades.csv",
        "tax",
        cols,
        e,
        "gb18030",
        dates={"评定日期": "compact"},
        key_dates=("评定日期",),
        uscc="统一社会信用代码",
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_placeholder"),
    )


def inspections(ev: Events, lk: Lookup) -> Table:
    """Inspection results; task numbers group one office's checks of a month and type."""
    ins = ev.inspections
    e = ins["entity"].to_numpy()
    region = ins["region"].to_numpy()
    days = ins["day"].to_numpy()
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    task = (
        lk.region_code[e]
        + (month // 12 + 1970).astype(str).astype(object)
        + zero_padded(month % 12 + 1, 2)
        + (ins["type"].to_numpy() + 1).astype(str).astype(object)
    )
    cols = {
        "统一社会信用代码": lk.uscc[e],
        "企业名称": lk.name[e],
        "抽查任务编号": task,
        "检查实施机关": lk.reg.authority[region],
        "类型": np.array(vocab.INSPECTION_TYPES, dtype=object)[ins["type"].to_numpy()],
        "检查日期": days,
        "检查结果": _obj(ins["result"]),
    }
    return Table(
        "sources/inspection_results.csv",
        "inspection",
        cols,
        e,
        "utf-8-sig",
        dates={"检查日期": "iso"},
        key_dates=("检查日期",),
        uscc="统一社会信用代码",
        uscc_defects=("uscc_case_space", "uscc_old_regno", "uscc_org_code", "uscc_placeholder"),
    )


def commitments(ev: Events, lk: Lookup) -> Table:
    """信用承诺 rows with their fulfilment state."""
    cm = ev.commitments
    e = cm["entity"].to_numpy()
    cols = {
        "统一社会信用代码": lk.uscc[e],
        "承诺类型": np.array(vocab.COMMITMENT_TYPES, dtype=object)[cm["type"].to_numpy()],
        "承诺日期": cm["day"].to_numpy(),
        "履约状态": _obj(cm["state"]),
        "核查日期": cm["checked"].to_numpy(),
    }
    return Table(
        "sources/credit_commitments.csv",
        "commitment",
        cols,
        e,
        "utf-8",
        dates={"承诺日期": "dash_time", "核查日期": "dash_time"},
        key_dates=("承诺日期",),
        optional=("核查日期",),
        uscc="统一社会信用代码",
        uscc_defects=("uscc_case_space", "uscc_placeholder"),
    )


def complaints(ev: Events, lk: Lookup) -> Table:
    """12315 complaints with the verdict on whether they were substantiated."""
    cp = ev.complaints
    e = cp["entity"].to_numpy()
    cols = {
        "统一社会信用代码": lk.uscc[e],
        "登记日期": cp["day"].to_numpy(),
        "类别": np.array(vocab.COMPLAINT_CATEGORIES, dtype=object)[cp["category"].to_numpy()],
        "是否属实": _obj(cp["verdict"]),
    }
    return Table(
        "sources/complaints_12315.csv",
        "complaint",
        cols,
        e,
        "gb18030",
        dates={"登记日期": "iso"},
        key_dates=("登记日期",),
        uscc="统一社会信用代码",
        uscc_defects=("uscc_case_space", "uscc_org_code", "uscc_placeholder"),
    )


def add_minor_listings(t: Table, world: World, lk: Lookup) -> int:
    """Append court rows naming people when they were 16 (minors are never listed: these rows
    exist to be quarantined). Returns how many rows were added."""
    k = max(1, round(0.001 * len(t)))
    persons = world.persons
    youngest = np.argsort(-persons["birth"].to_numpy(), kind="stable")[:k]
    filed = persons["birth"].to_numpy()[youngest] + 16 * 365 + 100
    home = world.roles.drop_duplicates("person").set_index("person")["entity"].reindex(youngest).to_numpy()
    region = lk.region[home]
    year = (filed.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(str).astype(object)
    serial = (9000 + np.arange(k)).astype(str).astype(object)
    extra = {
        "被执行人姓名/名称": lk.person_name[youngest],
        "身份证号码/组织机构代码": lk.person_id[youngest],
        "被执行人性质": np.full(k, "自然人", dtype=object),
        "性别": np.where(persons["male"].to_numpy()[youngest], "男", "女").astype(object),
        "年龄": np.full(k, "16", dtype=object),
        "法定代表人或者负责人姓名": _nulls(k),
        "执行法院": lk.reg.court[region],
        "案号": "（" + year + "）" + lk.reg.court_code[region] + "执" + serial + "号",
        "执行依据文号": "（" + year + "）" + lk.reg.court_code[region] + "民初" + serial + "号",
        "立案时间": filed,
        "发布时间": filed + 30,
        "失信被执行人行为具体情形": np.full(k, vocab.COURT_CONDUCT[0], dtype=object),
        "被执行人的履行情况": np.full(k, vocab.COURT_PERFORMANCE[0], dtype=object),
        "移除日期": np.full(k, NA_DAY, dtype=np.int64),
    }
    for column, values in extra.items():
        t.columns[column] = np.concatenate([t.columns[column], values])
    t.entity = np.concatenate([t.entity, np.full(k, -1)])
    return k
