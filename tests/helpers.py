"""Small builders for hand-written source files in tests."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import Path

from stdnum.cn import ric, uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(n: int, prefix: str = "91", region: str = "230102") -> str:
    """A valid USCC whose organisation code encodes ``n``."""
    body = f"{prefix}{region}MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def make_id(n: int, region: str = "230102", birth: str = "19950101") -> str:
    """A valid 18-digit resident ID (region and birth date known to python-stdnum)."""
    body = f"{region}{birth}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def record_at(monkeypatch, day: str) -> datetime:
    """Make ingest record what follows at noon (Beijing) on ``day``, which is 04:00 UTC."""
    import credit_engine.ingest

    moment = datetime.combine(date.fromisoformat(day), time(4))
    monkeypatch.setattr(credit_engine.ingest, "now_utc", lambda: moment)
    return moment


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


REG_HEADER = [
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
]
A, B, C = make_uscc(1), make_uscc(2), make_uscc(3)
REP_A, REP_B = make_id(11), make_id(12)


def reg_rows() -> list[list[str]]:
    return [
        [
            A,
            "哈尔滨甲商贸有限公司",
            "有限责任公司",
            "张三",
            REP_A,
            "100",
            "2015年7月10日",
            "f5211",
            "道里区",
            "道里分局",
            "存续",
            "2020-01-02",
            "零售",
            "230102000012345",
        ],
        [
            B.lower(),
            "哈尔滨乙食品有限公司",
            "有限责任公司",
            "李四",
            REP_B,
            "50.5",
            "20190709",
            "C1310",
            "南岗区",
            "南岗分局",
            "在业",
            "/",
            "食品",
            "230103000054321",
        ],
        [
            C,
            "哈尔滨丙科技有限公司",
            "有限责任公司",
            "王五",
            "",
            "10",
            "2017-7-7",
            "I6510",
            "香坊区",
            "香坊分局",
            "存续",
            "无",
            "软件",
            "",
        ],
    ]
