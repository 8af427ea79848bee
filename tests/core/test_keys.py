"""The API workers' cache of checked keys: what it keeps, and for how long."""

from __future__ import annotations

import pytest

from credit_engine import keys
from credit_engine.keys import KeyCache, Principal, Role

HOLDER = Principal(7, "bench", Role.REGULATOR, ("2301",))


def test_a_checked_key_is_trusted_for_the_cache_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(keys.time, "monotonic", lambda: now[0])
    cache = KeyCache(2.0)
    cache.put("ce_key", HOLDER)
    assert cache.get("ce_key") == HOLDER and cache.get("ce_other") is None
    now[0] += 1.9
    assert cache.get("ce_key") == HOLDER
    now[0] += 0.2
    assert cache.get("ce_key") is None


def test_no_cache_time_keeps_nothing() -> None:
    cache = KeyCache(0)
    cache.put("ce_key", HOLDER)
    assert cache.get("ce_key") is None


def test_the_cache_is_bounded_and_holds_only_digests() -> None:
    cache = KeyCache(60, size=3)
    for n in range(5):
        cache.put(f"ce_{n}", HOLDER)
    assert len(cache._held) <= 3 and cache.get("ce_4") == HOLDER
    assert not any(k.startswith("ce_") for k in cache._held)
