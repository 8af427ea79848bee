"""Small builders for hand-written source files in tests."""

from __future__ import annotations

import csv
import io
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


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path
