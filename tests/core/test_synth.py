"""The synthetic province: contract formats, defects, hidden truth and real signal."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stdnum.cn import ric, uscc

from credit_engine.synth import SynthReport, synthesise

AS_OF = date(2025, 6, 30)

HEADERS = {
    "registration": [
        "统一社会信用代码",
        "企业名称",
        "市场主体类型",
        "法定代表人",
        "法定代表人证件号码",
        "注册资本（万元）",
        "成立日期",
        "行业代码",
        "住所",
        "登记机关",
        "登记状态",
        "核准日期",
        "经营范围",
        "注册号",
    ],
    "personnel": ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期", "任职终止日期", "持股比例"],
    "penalty_v1": [
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
    ],
    "penalty_v2": [
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
    ],
    "licence_v1": [
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
    ],
    "licence_v2": [
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
    ],
    "abnormal": [
        "统一社会信用代码",
        "企业名称",
        "列入经营异常名录原因",
        "列入日期",
        "作出决定机关(列入)",
        "移出经营异常名录原因",
        "移出日期",
        "作出决定机关(移出)",
    ],
    "serious": [
        "统一社会信用代码",
        "企业名称",
        "列入严重违法失信企业名单原因",
        "列入日期",
        "作出决定机关(列入)",
        "移出严重违法失信企业名单原因",
        "移出日期",
        "作出决定机关(移出)",
    ],
    "court": [
        "被执行人姓名/名称",
        "身份证号码/组织机构代码",
        "被执行人性质",
        "性别",
        "年龄",
        "法定代表人或者负责人姓名",
        "执行法院",
        "案号",
        "执行依据文号",
        "立案时间",
        "发布时间",
        "失信被执行人行为具体情形",
        "被执行人的履行情况",
        "移除日期",
    ],
    "tax": ["统一社会信用代码", "纳税人名称", "评价年度", "纳税信用等级", "评定日期"],
    "inspection": ["统一社会信用代码", "企业名称", "抽查任务编号", "检查实施机关", "类型", "检查日期", "检查结果"],
    "commitment": ["统一社会信用代码", "承诺类型", "承诺日期", "履约状态", "核查日期"],
    "complaint": ["统一社会信用代码", "登记日期", "类别", "是否属实"],
}
DEFECTS = (
    "uscc_case_space",
    "uscc_old_regno",
    "uscc_org_code",
    "uscc_placeholder",
    "uscc_masked",
    "id_masked",
    "uscc_pilot",
    "date_shape",
    "date_sentinel",
    "null_spelling",
    "null_quoted",
    "money_text",
    "category_text",
    "legal_forms",
    "bad_date",
    "bad_field_count",
    "court_minor",
    "uscc_typo_check",
    "uscc_typo_named",
    "uscc_typo_unnamed",
    "uscc_transposed",
    "reg_status_spelling",
)


def decode(path: Path) -> tuple[str, str]:
    """(text, encoding) the way an ingest has to guess it: BOM, then UTF-8, then GB18030."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(decode(path)[0], newline="")))


def read_frame(path: Path) -> pd.DataFrame:
    """Rows with the header's field count, every cell as text."""
    header, *rows = read_rows(path)
    return pd.DataFrame([r for r in rows if len(r) == len(header)], columns=header, dtype=object)


def by_header(src: Path) -> dict[str, list[Path]]:
    """Source CSVs grouped by kind, recognised from the header only."""
    kinds: dict[str, list[Path]] = {}
    for path in sorted(src.glob("*.csv")):
        header = read_rows(path)[0]
        kind = next(k for k, h in HEADERS.items() if h == header)
        kinds.setdefault(kind, []).append(path)
    return kinds


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    return synthesise(tmp_path_factory.mktemp("province"), 3000, seed=11, as_of=AS_OF)


@pytest.fixture(scope="module")
def kinds(province: SynthReport) -> dict[str, list[Path]]:
    return by_header(province.out_dir / "sources")


@pytest.fixture(scope="module")
def frames(kinds: dict[str, list[Path]]) -> dict[str, pd.DataFrame]:
    return {k: pd.concat([read_frame(p) for p in paths], ignore_index=True) for k, paths in kinds.items()}


def test_same_arguments_give_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = [synthesise(tmp_path / name, 400, seed=seed, as_of=AS_OF) for name, seed in (("a", 5), ("b", 5), ("c", 6))]
    files = sorted(runs[0].files)
    assert files == sorted(runs[1].files)
    for rel in files:
        assert (runs[0].out_dir / rel).read_bytes() == (runs[1].out_dir / rel).read_bytes(), rel
    assert (runs[0].out_dir / "sources/registration_gsxt.csv").read_bytes() != (
        runs[2].out_dir / "sources/registration_gsxt.csv"
    ).read_bytes()


def test_every_kind_is_written_with_the_contract_headers(province: SynthReport, kinds: dict[str, list[Path]]) -> None:
    assert set(kinds) == set(HEADERS)
    api = list((province.out_dir / "sources").glob("*.jsonl"))
    assert len(api) == 1
    records = [json.loads(line) for line in api[0].read_text("utf-8").splitlines()]
    assert records and all(list(r) == [c.lower() for c in HEADERS["penalty_v2"]] for r in records)
    epoch = [isinstance(r["cf_jdrq"], int) for r in records]
    assert sum(epoch) > 0.9 * len(records)
    assert province.files[f"sources/{api[0].name}"] == len(records)
    for paths in kinds.values():
        for path in paths:
            assert province.files[f"sources/{path.name}"] == len(read_rows(path)) - 1


def test_encodings_are_mixed(province: SynthReport) -> None:
    found = {decode(p)[1] for p in (province.out_dir / "sources").glob("*.csv")}
    assert found == {"utf-8", "utf-8-sig", "gb18030"}


def test_v1_and_v2_penalties_split_at_2020(frames: dict[str, pd.DataFrame]) -> None:
    v1_years = frames["penalty_v1"]["CF_WSH"].str.extract(r"〔(\d{4})〕")[0].astype(int)
    v2_years = frames["penalty_v2"]["CF_WSH"].str.extract(r"〔(\d{4})〕")[0].astype(int)
    assert v1_years.between(2016, 2019).all() and v2_years.between(2020, AS_OF.year).all()


def test_every_defect_class_is_injected_at_a_low_rate(province: SynthReport) -> None:
    assert all(province.defects.get(name, 0) > 0 for name in DEFECTS), province.defects
    rows = sum(n for rel, n in province.files.items() if rel.startswith("sources/"))
    for name in ("uscc_case_space", "uscc_placeholder", "date_shape", "legal_forms", "bad_date"):
        assert province.defects[name] < 0.03 * rows


def test_identifier_defects_appear_in_the_files(frames: dict[str, pd.DataFrame]) -> None:
    codes = pd.concat(
        [frames[k]["统一社会信用代码"] for k in ("abnormal", "tax", "inspection", "complaint")]
        + [frames["penalty_v2"]["CF_XDR_SHXYM"], frames["court"]["身份证号码/组织机构代码"]]
    )
    assert codes.str.fullmatch(r"(?=.*[a-z])[0-9a-z]{18}").any()
    assert codes.str.contains(" ").any()
    assert codes.str.fullmatch(r"\d{15}").any()
    assert codes.str.fullmatch(r"[0-9A-Z]{8}-?[0-9X]").any()
    assert codes.isin(["00000000000000000X"]).any() and codes.isin(["123456789012345678"]).any()
    court = frames["court"]["身份证号码/组织机构代码"]
    assert court.str.fullmatch(r"[0-9A-Za-z]{6}\*{6}[0-9A-Za-z]{6}").any()
    assert court.str.fullmatch(r"\d{6}\*{12}").any() and court.str.fullmatch(r"\d{10}\*{4}\d{3}[\dX]").any()


def test_old_codes_resolve_through_registration(frames: dict[str, pd.DataFrame]) -> None:
    reg = frames["registration"]
    old = reg[reg["注册号"].str.fullmatch(r"\d{15}")]
    assert len(old) > 0.2 * len(reg)
    for number in old["注册号"]:  # ISO 7064 MOD 11,10
        p = 10
        for d in number[:14]:
            p = ((p + int(d)) % 10 or 10) * 2 % 11
        assert (11 - p) % 10 == int(number[14])
    codes = pd.concat([frames[k]["统一社会信用代码"] for k in ("abnormal", "tax", "inspection")])
    regnos = codes[codes.str.fullmatch(r"\d{15}")]
    assert regnos.isin(set(reg["注册号"])).all()
    orgs = codes[codes.str.fullmatch(r"[0-9A-Z]{8}-?[0-9X]")].str.replace("-", "")
    assert orgs.isin(set(reg["统一社会信用代码"].str[8:17])).all()


def test_registration_codes_are_valid_or_consistent_pilot_codes(frames: dict[str, pd.DataFrame]) -> None:
    codes = frames["registration"]["统一社会信用代码"]
    assert codes.is_unique
    invalid = codes[~codes.map(uscc.is_valid)]
    assert 1 <= len(invalid) <= 20
    assert invalid.str.startswith("91350211").all()
    assert all(uscc.calc_check_digit(c[:17]) != c[17] for c in invalid)
    elsewhere = pd.concat([frames[k]["统一社会信用代码"] for k in ("personnel", "tax", "inspection")])
    assert elsewhere.isin(set(invalid)).any()


def test_resident_ids_are_valid_and_minors_appear_only_as_bad_rows(frames: dict[str, pd.DataFrame]) -> None:
    ids = frames["personnel"]["证件号码"]
    assert ids.map(ric.is_valid).all()
    assert frames["registration"]["法定代表人证件号码"].map(ric.is_valid).all()
    court = frames["court"]
    people = court[court["被执行人性质"] == "自然人"]
    full = people["身份证号码/组织机构代码"][people["身份证号码/组织机构代码"].str.fullmatch(r"\d{17}[\dX]")]
    assert len(full) > 0 and full.map(ric.is_valid).all() and full.isin(set(ids)).all()
    ages = pd.to_numeric(people["年龄"], errors="coerce").dropna()
    assert (ages < 18).sum() >= 1 and (ages < 18).mean() < 0.02


def test_date_shapes_sentinels_and_impossible_dates(frames: dict[str, pd.DataFrame]) -> None:
    cells = pd.concat(
        [
            frames[k][c]
            for k, c in (
                ("registration", "成立日期"),
                ("personnel", "任职起始日期"),
                ("penalty_v1", "CF_JDRQ"),
                ("penalty_v2", "CF_JDRQ"),
                ("licence_v1", "许可决定日期"),
                ("licence_v2", "XK_JDRQ"),
                ("abnormal", "列入日期"),
                ("court", "立案时间"),
                ("tax", "评定日期"),
                ("commitment", "承诺日期"),
            )
        ]
    )
    shapes = {
        "cn_pad": r"\d{4}年\d{2}月\d{2}日",
        "cn": r"\d{4}年\d{1,2}月\d{1,2}日",
        "compact": r"\d{8}",
        "iso": r"\d{4}-\d{2}-\d{2}",
        "dash": r"\d{4}-\d{1,2}-\d{1,2}",
        "dash_time": r"\d{4}-\d{1,2}-\d{1,2} 0:00:00",
        "epoch_ms": r"1\d{12}",
    }
    for name, pattern in shapes.items():
        assert cells.str.fullmatch(pattern).any(), name
    ends = pd.concat(
        [
            frames["penalty_v2"]["CF_YXQ"],
            frames["licence_v2"]["XK_YXQZI"],
            frames["court"]["移除日期"],
            frames["abnormal"]["移出日期"],
            frames["personnel"]["任职终止日期"],
        ]
    )
    for sentinel in ("1900-1-1 0:00:00", "9999-9-9", "2099-12-31 00:00:00", "无处罚期限"):
        assert (ends == sentinel).any(), sentinel
    assert frames["penalty_v1"]["CF_JDRQ"].str.fullmatch(r"\d{4}-02-30").sum() >= 1


def test_nulls_money_categories_and_legal_forms(province: SynthReport, frames: dict[str, pd.DataFrame]) -> None:
    everything = pd.concat([f[c] for f in frames.values() for c in f.columns])
    for spelling in ("/", "无", "暂无", "null", "\n"):
        assert (everything == spelling).any(), repr(spelling)
    quoted = (province.out_dir / "sources/penalty_2016_2019.csv").read_bytes()
    assert b',"",' in quoted
    fk = frames["penalty_v2"]["CF_NR_FK"]
    assert fk.str.fullmatch(r"罚款\d+元").any() and fk.str.fullmatch(r"罚款金额:[\d.]+万元").any()
    assert fk.str.fullmatch(r"\d+(\.\d+)?").mean() > 0.5
    jg = frames["penalty_v1"]["CF_JG"]
    assert jg.str.fullmatch(r"罚款\d+元").any() and jg.str.fullmatch(r"\d+").any()
    xklb = frames["licence_v2"]["XK_XKLB"]
    assert xklb.isin(["01", "02", "03", "04", "05", "06"]).any()
    assert xklb.isin(["普通", "特许", "认可", "核准", "登记", "其他"]).any()
    pen = frames["penalty_v2"]
    both = pen[pen["CF_XDR_GSZC"].str.fullmatch(r"\d{15}") & pen["CF_XDR_ZZJG"].str.fullmatch(r"[0-9A-Z]{9}")]
    assert len(both) >= 1
    assert (both["CF_XDR_SHXYM"].str.upper().str.replace(" ", "").str[8:17] == both["CF_XDR_ZZJG"]).any()


def test_one_row_has_the_wrong_field_count(kinds: dict[str, list[Path]]) -> None:
    header, *rows = read_rows(kinds["inspection"][0])
    assert sum(len(r) != len(header) for r in rows) >= 1


def test_truth_is_written_apart_and_hidden_from_sources(province: SynthReport, frames: dict[str, pd.DataFrame]) -> None:
    truth = pd.read_csv(province.out_dir / "truth/entities.csv", dtype={"uscc": str})
    persons = pd.read_csv(province.out_dir / "truth/persons.csv", dtype={"id_number": str})
    assert list(truth.columns) == ["uscc", "latent_risk", "p_problem"]
    assert list(persons.columns) == ["id_number", "latent_risk"]
    assert len(truth) == province.entities == 3000 and len(persons) == province.persons
    assert truth["p_problem"].between(0, 1).all()
    assert np.corrcoef(truth["latent_risk"], truth["p_problem"])[0, 1] > 0.9
    assert set(truth["uscc"]) == set(frames["registration"]["统一社会信用代码"])
    sources = province.out_dir / "sources"
    assert not any("truth" in p.name for p in sources.iterdir())
    sample = [f"{v:.6f}" for v in truth["latent_risk"].head(50)]
    blob = "".join(decode(p)[0] for p in sources.glob("*.csv"))
    assert not any(s in blob for s in sample)
    assert "latent" not in blob.lower() and "risk" not in blob.lower()


def test_latent_risk_drives_inspection_problems(province: SynthReport, frames: dict[str, pd.DataFrame]) -> None:
    truth = pd.read_csv(province.out_dir / "truth/entities.csv", dtype={"uscc": str})
    ins = frames["inspection"].merge(truth, left_on="统一社会信用代码", right_on="uscc")
    problem = ~ins["检查结果"].isin(["未发现问题", "未发现企业存在不符合规定情形", "未发现开展本次抽查涉及的经营活动"])
    quintile = pd.qcut(ins["latent_risk"], 5, labels=False)
    rates = problem.groupby(quintile).mean()
    assert rates[4] > 3 * rates[0]
    ranks = ins["latent_risk"].rank()
    n1, n0 = problem.sum(), (~problem).sum()
    auc = (ranks[problem].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert 0.72 < auc < 0.88


def test_persons_repeat_names_and_hold_several_roles(frames: dict[str, pd.DataFrame]) -> None:
    people = frames["personnel"].drop_duplicates("证件号码")
    assert people["姓名"].duplicated().sum() > 20
    firms = frames["personnel"].groupby("证件号码")["统一社会信用代码"].nunique()
    assert (firms >= 2).sum() > 0.1 * len(firms)
    lr = frames["personnel"][
        (frames["personnel"]["职务"] == "法定代表人")
        & (frames["personnel"]["任职终止日期"].isin(["", "/", "无", "暂无", "null", "\n"]))
    ]
    led = lr.groupby("证件号码")["统一社会信用代码"].nunique()
    assert led.between(2, 4).sum() > 50
    assert set(frames["personnel"]["职务"]) >= {
        "法定代表人",
        "董事",
        "监事",
        "经理",
        "财务负责人",
        "股东",
        "实际控制人",
    }


def test_entities_look_like_heilongjiang(frames: dict[str, pd.DataFrame]) -> None:
    reg = frames["registration"]
    prefixes = reg["统一社会信用代码"].str[:2].value_counts(normalize=True)
    assert prefixes["91"] > 0.6 and prefixes["92"] > 0.1 and prefixes["93"] > 0.02
    assert reg["统一社会信用代码"].str[2:4].isin(["23", "35"]).all()
    assert reg["行业代码"].str.fullmatch(r"[A-T]\d{4}").all()
    assert (
        reg["登记状态"].isin(["存续", "在业", "吊销", "注销", "迁出", "存续（在营、开业、在册）", "吊销，未注销"]).all()
    )
    assert reg["登记状态"].isin(["存续（在营、开业、在册）", "吊销，未注销"]).any()  # the long spellings (defect 11)
    assert reg["登记状态"].isin(["吊销", "注销"]).any()
    assert reg["企业名称"].is_unique and reg["企业名称"].str.contains("有限公司").any()
    est = pd.to_datetime(reg["成立日期"], format="%Y年%m月%d日", errors="coerce").dropna()
    assert est.min().year <= 1997 and (est > pd.Timestamp(AS_OF) - pd.Timedelta(days=365)).any()
    assert (est <= pd.Timestamp(AS_OF)).all()


def test_too_small_or_too_early_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 10"):
        synthesise(tmp_path, 5, seed=1, as_of=AS_OF)
    with pytest.raises(ValueError, match="2021"):
        synthesise(tmp_path, 100, seed=1, as_of=date(2019, 1, 1))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("entities, seed", [(10, 2), (13, 1), (20, 7)])
def test_the_smallest_provinces_are_written_whole(tmp_path: Path, entities: int, seed: int) -> None:
    """Files with no rows at all (no serious-list entry among so few entities) are still written,
    with their headers: these sizes once failed on empty columns."""
    report = synthesise(tmp_path, entities, seed=seed, as_of=AS_OF)
    kinds = by_header(tmp_path / "sources")
    assert report.entities == entities and set(kinds) == set(HEADERS)
    for paths in kinds.values():
        for path in paths:
            assert report.files[f"sources/{path.name}"] == len(read_rows(path)) - 1
    assert report.files["sources/serious_illegal_dishonest.csv"] == 0
