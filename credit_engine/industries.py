"""Names of GB/T 4754-2017 industry codes (国民经济行业分类), shipped as data with the rules.

Registration data carries only the code (``F5212``, sometimes without the section letter or
with fewer digits); the public card shows the name beside it. The data holds every section and
division and the four-digit classes met so far, so a code is named at the most precise level
known: a class not yet in the file is still named by its division.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib.resources import files

_DATA = files("credit_engine.rules") / "data" / "industries" / "gbt4754-2017.toml"
_CODE = re.compile(r"^([A-T])?(\d{2,4})$")


@lru_cache(maxsize=1)
def _table() -> dict:
    with _DATA.open("rb") as handle:
        return tomllib.load(handle)


def industry_name(code: str | None) -> str | None:
    """The name of the most precise level of ``code`` the standard's table knows, or None."""
    found = _CODE.match((code or "").strip().upper())
    if not found:
        return None
    section, digits = found.groups()
    table = _table()
    if len(digits) == 4 and digits in table["classes"]:
        return table["classes"][digits]
    if digits[:2] in table["divisions"]:
        return table["divisions"][digits[:2]]
    return table["sections"].get(section) if section else None
