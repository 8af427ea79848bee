"""Vectorised identifier construction: USCC (GB 32100), organisation codes (GB 11714),
old 15-digit registration numbers (ISO 7064 MOD 11,10) and resident IDs (GB 11643).

Check digits are computed with numpy over whole columns because synthesis must scale to a
million entities; tests cross-check the results against python-stdnum.
"""

from __future__ import annotations

import zlib

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
# Code point -> character value tables, so whole character matrices are looked up at once.
_USCC_VALUE = np.full(128, -1, dtype=np.int64)
_USCC_VALUE[[ord(c) for c in USCC_ALPHABET]] = np.arange(len(USCC_ALPHABET))
_BASE36_VALUE = np.full(128, -1, dtype=np.int64)
_BASE36_VALUE[[ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"]] = np.arange(36)


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per purpose, so adding draws in one part leaves others unchanged."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high), in draw order (deterministic for a given rng)."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        draw = rng.integers(low, high, size=int((n - len(out)) * 1.1) + 16)
        merged = np.concatenate([out, draw])
        _, first = np.unique(merged, return_index=True)
        out = merged[np.sort(first)]
    return out[:n]


_DIGITS36 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def digits(values: np.ndarray, width: int, base: int = 10) -> np.ndarray:
    """Integers -> (n, width) matrix of their digits, most significant first."""
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % base


def text(values: np.ndarray, alphabet: np.ndarray = _DIGITS36) -> np.ndarray:
    """(n, k) character values -> object array of k-character strings."""
    k = values.shape[1]
    return np.ascontiguousarray(alphabet[values]).view(f"<U{k}").ravel().astype(object)


def _region_digits(regions: np.ndarray) -> np.ndarray:
    """6-digit region code strings -> (n, 6) digit matrix (parsing each distinct code once)."""
    uniq, inv = np.unique(regions.astype(str), return_inverse=True)
    return digits(uniq.astype(np.int64), 6)[inv.ravel()]


def org_codes(rng: np.random.Generator, n_numeric: int, n_ma: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct 9-character organisation codes: pre-2015 numeric ones and post-2015 `MA…` ones.

    Returns the codes and, for numeric codes, their integer body (-1 for `MA` codes), which
    seeds the matching old registration number.
    """
    numeric = unique_ints(rng, n_numeric, 10**7, 10**8)
    ma_ints = unique_ints(rng, n_ma, 0, 31**6)
    uscc_alpha = np.array([_BASE36_VALUE[ord(c)] for c in USCC_ALPHABET])
    ma_values = np.concatenate(
        [np.tile([_BASE36_VALUE[ord("M")], _BASE36_VALUE[ord("A")]], (n_ma, 1)), uscc_alpha[digits(ma_ints, 6, 31)]],
        axis=1,
    )
    bodies = np.concatenate([digits(numeric, 8), ma_values])
    codes = text(np.concatenate([bodies, org_check(bodies)[:, None]], axis=1))
    ints = np.concatenate([numeric, np.full(n_ma, -1, dtype=np.int64)])
    return codes, ints


def org_check(bodies: np.ndarray) -> np.ndarray:
    """GB 11714 check value (0-9, 33 for 'X') for (n, 8) base-36 character values."""
    check = 11 - (bodies * _ORG_WEIGHTS).sum(axis=1) % 11
    return np.where(check == 10, 33, np.where(check == 11, 0, check))


def uscc_check(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check character for an array of 17-character strings."""
    chars = np.asarray(first17, dtype="<U17").view("<U1").reshape(len(first17), 17)
    values = _USCC_VALUE[chars.view(np.uint32)]
    total = (values * _USCC_WEIGHTS).sum(axis=1)
    return np.array(list(USCC_ALPHABET), dtype=object)[(31 - total % 31) % 31]


def with_check(first17: np.ndarray) -> np.ndarray:
    """Append the GB 32100 check character."""
    return np.asarray(first17, dtype=object) + uscc_check(first17)


def old_registration_numbers(regions: np.ndarray, org_ints: np.ndarray) -> np.ndarray:
    """15-digit 工商注册号: region, an 8-digit sequence derived bijectively from the
    (distinct) organisation code body, and an ISO 7064 MOD 11,10 check digit."""
    seq = (np.asarray(org_ints, dtype=np.int64) * 7919 + 12345) % 10**8
    body = np.concatenate([_region_digits(regions), digits(seq, 8)], axis=1)
    p = np.full(len(seq), 10, dtype=np.int64)
    for k in range(14):
        s = (p + body[:, k]) % 10
        s[s == 0] = 10
        p = (s * 2) % 11
    return text(np.concatenate([body, ((11 - p) % 10)[:, None]], axis=1))


def resident_ids(regions: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-digit resident IDs from region codes, birth dates (datetime64[D]) and 3-digit sequence."""
    ymd = np.datetime_as_string(birth, unit="D")
    ymd_int = np.char.replace(ymd, "-", "").astype(np.int64)
    body = np.concatenate([_region_digits(regions), digits(ymd_int, 8), digits(seq, 3)], axis=1)
    check = (12 - (body * _RIC_WEIGHTS).sum(axis=1) % 11) % 11  # 10 means 'X'
    return text(np.concatenate([body, check[:, None]], axis=1), np.array(list("0123456789X")))


def mask_uscc(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`913306******ud4p7h` style: first and last six kept, letter case chosen at random."""
    out = np.array([c[:6] + "******" + c[-6:] for c in codes], dtype=object)
    lower = rng.random(len(out)) < 0.5
    out[lower] = np.array([c.lower() for c in out[lower]], dtype=object)
    return out


def mask_id_region(ids: np.ndarray) -> np.ndarray:
    """`330227************`: only the birthplace left."""
    return np.array([i[:6] + "*" * 12 for i in ids], dtype=object)


def mask_id_portal(ids: np.ndarray) -> np.ndarray:
    """`3423011964****3224`: the public-portal mask (birthplace and year, last four)."""
    return np.array([i[:10] + "****" + i[-4:] for i in ids], dtype=object)


def authority_codes(regions: np.ndarray) -> np.ndarray:
    """USCCs (prefix 11, government body) for regional authorities, derived from the region."""
    region_digits = _region_digits(regions)
    body = np.concatenate([np.zeros((len(regions), 2), dtype=np.int64), region_digits], axis=1)
    org = text(np.concatenate([body, org_check(body)[:, None]], axis=1))
    return with_check("11" + np.asarray(regions, dtype=object) + org)
