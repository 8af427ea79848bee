"""USCC and resident-ID classification, masking and pseudonyms (RULES.md §6-7, DATA_CONTRACT 1-5)."""

from __future__ import annotations

from datetime import date
from importlib.resources import files

import pandas as pd
import pytest
from cryptography.fernet import InvalidToken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from credit_engine.identifiers import (
    USCC_ALPHABET,
    CodeKind,
    IdKind,
    Pseudonymiser,
    classify_code,
    classify_codes,
    classify_id,
    classify_ids,
    entity_type_of,
    mask_id,
    mask_ids,
    mask_ids_in_text,
    masked_matches,
    normalise_code,
    org_code_of,
    region_of,
    uscc_check_digit,
)

VALID_USCC = "91330203674737244W"
VALID_ID = "11010519491231002X"


def with_uscc_check(first17: str) -> str:
    return first17 + uscc_check_digit(first17)


def with_id_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


# ------------------------------------------------------------------------------------ USCC


@pytest.mark.parametrize(
    "raw",
    ["91330203674737244w", " 9133 0203 6747 3724 4w ", "91330203-674737244W", "９１３３０２０３６７４７３７２４４Ｗ"],
)
def test_lower_case_spaced_hyphenated_and_full_width_codes_are_valid(raw: str) -> None:
    check = classify_code(raw)
    assert (check.kind, check.value) == (CodeKind.USCC, VALID_USCC)
    assert check.usable_as_key


def test_pilot_code_failing_the_check_is_kept_and_flagged() -> None:
    check = classify_code("91350211M0000XUF46")
    expected = uscc.calc_check_digit("91350211M0000XUF4")
    assert check.kind is CodeKind.USCC_CHECK_FAILED
    assert check.reason == f"check digit is '6', expected '{expected}'"
    assert check.usable_as_key


def test_letter_prefixed_code_is_valid_although_stdnum_rejects_it() -> None:
    code = with_uscc_check("N2330203MA2H3K4L5")
    assert not uscc.is_valid(code)
    assert classify_code(code).kind is CodeKind.USCC
    assert entity_type_of(code) == "other"


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("310000400735611", CodeKind.REG_NO, "310000400735611"),
        ("67473724-4", CodeKind.ORG_CODE, "674737244"),
        ("674737244", CodeKind.ORG_CODE, "674737244"),
        ("MA2H3K4LX", CodeKind.ORG_CODE, "MA2H3K4LX"),
        ("913306******ud4p7h", CodeKind.MASKED, "913306******UD4P7H"),
        (None, CodeKind.EMPTY, ""),
        ("  ", CodeKind.EMPTY, ""),
        (float("nan"), CodeKind.EMPTY, ""),
    ],
)
def test_legacy_masked_and_empty_values(raw: str | None, kind: CodeKind, value: str) -> None:
    check = classify_code(raw)
    assert (check.kind, check.value) == (kind, value)
    assert not check.usable_as_key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("00000000000000000X", "placeholder: one repeated character"),
        ("123456789012345678", "placeholder: ascending digit run"),
        ("987654321098765432", "placeholder: descending digit run"),
        ("000000001234567890", "placeholder: first 8 characters are zero"),
        ("111111111111111", "placeholder: one repeated character"),
        ("12345678-9", "placeholder: ascending digit run"),
    ],
)
def test_placeholders(raw: str, reason: str) -> None:
    check = classify_code(raw)
    assert (check.kind, check.reason) == (CodeKind.PLACEHOLDER, reason)
    assert not check.usable_as_key


def test_sequential_placeholder_passes_the_check_digit_by_chance() -> None:
    assert uscc.is_valid("123456789012345678")
    assert classify_code("123456789012345678").kind is CodeKind.PLACEHOLDER


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("hello world!", "length 11"),
        ("91330203674737244I", "'I' at position 18"),
        ("91A30203674737244W", "position 3 must be a digit"),
        ("3100004007356X1", "not a 15-digit registration number"),
        ("9133**", "masked value of length 6"),
        ("913306******ud4p7#", "unexpected characters"),
    ],
)
def test_garbage_is_invalid_with_a_precise_reason(raw: str, reason_part: str) -> None:
    check = classify_code(raw)
    assert check.kind is CodeKind.INVALID
    assert reason_part in check.reason


def test_check_digit_and_parts() -> None:
    assert uscc_check_digit("91330203674737244") == "W"
    assert uscc_check_digit("n2330203ma2h3k4l5") == uscc.calc_check_digit("N2330203MA2H3K4L5")
    assert (org_code_of(VALID_USCC), region_of(VALID_USCC)) == ("674737244", "330203")
    with pytest.raises(ValueError, match="length 16"):
        uscc_check_digit("9133020367473724")
    with pytest.raises(ValueError, match="not a USCC"):
        region_of("310000400735611")


@pytest.mark.parametrize(
    ("prefix", "entity_type"),
    [
        ("91", "enterprise"),
        ("92", "individual_business"),
        ("93", "cooperative"),
        ("11", "government"),
        ("12", "public_institution"),
        ("51", "social_organisation"),
        ("53", "social_organisation"),
        ("Y1", "other"),
    ],
)
def test_entity_type(prefix: str, entity_type: str) -> None:
    assert entity_type_of(with_uscc_check(prefix + "330203674737244")) == entity_type


def _uscc_like() -> st.SearchStrategy[str]:
    alnum = st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9)
    region = st.text(alphabet="0123456789", min_size=6, max_size=6)
    prefix = st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2)
    body = st.builds(lambda p, r, a: p + r + a, prefix, region, alnum)
    valid = body.map(with_uscc_check)
    wrong = st.builds(lambda b, c: b + c, body, st.sampled_from(USCC_ALPHABET))
    noisy = st.builds(lambda v, s: v.lower() if s else f" {v[:6]}-{v[6:]} ", valid, st.booleans())
    samples = st.sampled_from(
        [
            "91350211M0000XUF46",
            "310000400735611",
            "674737244",
            "67473724-4",
            "00000000000000000X",
            "123456789012345678",
            "913306******ud4p7h",
            "９１３３０２０３６７４７３７２４４Ｗ",
            "",
            " ",
            "ß" * 9,
        ]
    )
    text = st.text(alphabet=st.sampled_from("0129AXIOaz*- \u3000Ｗ＊ß"), max_size=20)
    reg_no = st.text(alphabet="0123456789", min_size=15, max_size=15)
    org_code = st.builds(
        lambda b, c: b + c,
        st.text(alphabet=USCC_ALPHABET + "IOSVZ", min_size=8, max_size=8),
        st.sampled_from("0123456789XA"),
    )
    legacy = st.sampled_from(
        ["111111111111111", "123456789012345", "543210987654321", "AAAAAAAAX", "123456789", "987654321"]
    )
    return st.one_of(valid, wrong, noisy, samples, text, reg_no, org_code, legacy, st.none())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_uscc_like(), max_size=40))
def test_vectorised_codes_agree_with_scalar(values: list[str | None]) -> None:
    index = pd.Index(range(100, 100 + len(values)))
    frame = classify_codes(pd.Series(values, index=index, dtype=object))
    assert list(frame.columns) == ["kind", "value", "reason"]
    assert frame.index.equals(index)
    expected = [classify_code(v) for v in values]
    assert frame["kind"].tolist() == [c.kind.value for c in expected]
    assert frame["value"].tolist() == [c.value for c in expected]
    assert frame["reason"].tolist() == [c.reason for c in expected]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.none()), max_size=20))
def test_normalisation_is_idempotent(values: list[str | None]) -> None:
    for value in values:
        once = normalise_code(value)
        assert normalise_code(once) == once
        assert once == once.upper() and " " not in once and "-" not in once


# ----------------------------------------------------------------------------- resident IDs


def test_valid_id() -> None:
    check = classify_id(" 110105 19491231 002x ")
    assert (check.kind, check.value) == (IdKind.VALID, VALID_ID)
    assert (check.birth_date, check.male) == (date(1949, 12, 31), False)
    assert check.usable_as_key
    assert classify_id(with_id_check("11010519800101001")).male is True


@pytest.mark.parametrize("first17", ["99000019800101001", "11999919800101001", "11010320150101001"])
def test_unknown_region_with_correct_check_is_accepted_and_flagged(first17: str) -> None:
    # 990000 is not a region; 119999 makes stdnum raise KeyError; 110103 (崇文区) ended in 2010
    check = classify_id(with_id_check(first17))
    assert check.kind is IdKind.UNKNOWN_REGION
    assert check.usable_as_key
    assert f"region code {first17[:6]}" in check.reason
    assert check.birth_date == date(int(first17[6:10]), 1, 1)


def test_retired_region_is_valid_for_people_born_while_it_existed() -> None:
    assert classify_id(with_id_check("11010319800101001")).kind is IdKind.VALID


def test_old_15_digit_id_is_converted_and_shares_the_pseudonym() -> None:
    check = classify_id("110105491231002")
    assert (check.kind, check.value, check.birth_date) == (IdKind.OLD15, VALID_ID, date(1949, 12, 31))
    assert check.usable_as_key
    pseudonymiser = Pseudonymiser("test-secret")
    assert pseudonymiser.key("110105491231002") == pseudonymiser.key(VALID_ID)


def test_bad_check_digit() -> None:
    check = classify_id("110105194912310021")
    assert (check.kind, check.reason) == (IdKind.BAD_CHECK, "check digit is '1', expected 'X'")
    assert not check.usable_as_key


@pytest.mark.parametrize("raw", ["330227************", "3423011964****3224", "342301*********"])
def test_masked_ids(raw: str) -> None:
    check = classify_id(raw)
    assert (check.kind, check.value) == (IdKind.MASKED, raw)
    assert not check.usable_as_key


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("abc", "length 3"),
        ("11010519491331002X", "not a calendar date"),
        ("1101051949123100X2", "17 digits then a digit or X"),
        (with_id_check("11010520990101001"), "in the future"),
        (with_id_check("11111111111111111"), "before 1850"),
        ("11010549123100A", "must be all digits"),
        ("3423011964****32", "masked value of length 16"),
    ],
)
def test_invalid_ids(raw: str, reason_part: str) -> None:
    check = classify_id(raw)
    assert check.kind is IdKind.INVALID
    assert reason_part in check.reason
    assert check.birth_date is None and check.male is None


def test_empty_id() -> None:
    assert classify_id(None).kind is classify_id(" ").kind is IdKind.EMPTY


@pytest.mark.parametrize(
    "raw", [VALID_ID, "110105491231002", "110105194912310021", with_id_check("99000019800101001"), "11010519491331002X"]
)
def test_reasons_never_repeat_the_number(raw: str) -> None:
    check = classify_id(raw)
    assert raw not in check.reason and check.value not in check.reason


def _id_like() -> st.SearchStrategy[str]:
    region = st.sampled_from(["110105", "110103", "330227", "342301", "990000", "119999", "820000"])
    born = st.dates(date(1840, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
    seq = st.text(alphabet="0123456789", min_size=3, max_size=3)
    body = st.builds(lambda r, b, s: r + b + s, region, born, seq)
    valid = body.map(with_id_check)
    wrong = st.builds(lambda b, c: b + c, body, st.sampled_from("0123456789Xx"))
    old = st.builds(lambda r, b, s: r + b[2:] + s, region, born, seq)
    samples = st.sampled_from(["330227************", "3423011964****3224", "11010519491331002X", "", "x" * 18])
    text = st.text(alphabet=st.sampled_from("0189Xx* -＊"), max_size=19)
    return st.one_of(valid, wrong, old, samples, text, st.none())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_id_like(), max_size=40))
def test_vectorised_ids_agree_with_scalar(values: list[str | None]) -> None:
    index = pd.Index([f"r{i}" for i in range(len(values))])
    frame = classify_ids(pd.Series(values, index=index, dtype=object))
    assert frame.index.equals(index)
    expected = [classify_id(v) for v in values]
    assert frame["kind"].tolist() == [c.kind.value for c in expected]
    assert frame["value"].tolist() == [c.value for c in expected]
    assert frame["reason"].tolist() == [c.reason for c in expected]
    births = [None if pd.isna(b) else b.date() for b in frame["birth_date"]]
    assert births == [c.birth_date for c in expected]
    assert [None if pd.isna(m) else bool(m) for m in frame["male"]] == [c.male for c in expected]


def _stdnum_regions() -> list[str]:
    """Every 6-digit region code in python-stdnum's data."""
    regions, province = [], ""
    for line in (files("stdnum.cn") / "loc.dat").read_text(encoding="utf-8").splitlines():
        if line[:1].isdigit():
            province = line[:2]
        elif line.startswith("  ") and line.strip()[:4].isdigit():
            regions.append(province + line.strip()[:4])
    return regions


def test_vectorised_region_check_agrees_with_stdnum_for_every_region() -> None:
    ids = [with_id_check(f"{r}{y}0101001") for r in _stdnum_regions() for y in (1950, 1985, 1992, 2005, 2012, 2020)]
    frame = classify_ids(pd.Series(ids))
    assert frame["kind"].tolist() == [classify_id(v).kind.value for v in ids]
    assert {"valid", "unknown_region"} <= set(frame["kind"])


# --------------------------------------------------------------------------- masking, keys


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("342301196401013224", "3423011964****3224"),
        (VALID_ID.lower(), "1101051949****002X"),
        ("110105491231002", "11010549****002"),
        ("3423011964****3224", "3423011964****3224"),
        ("330227************", "330227************"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_mask_id(raw: str, masked: str) -> None:
    assert mask_id(raw) == masked


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("当事人身份证号码342301196405163224。", "当事人身份证号码3423011964****3224。"),
        ("当事人ID342301196405163224于", "当事人ID3423011964****3224于"),  # letters beside it
        ("342301196405163224abc", "3423011964****3224abc"),
        ("证件 342301 19640516 322X 号", "证件 3423011964****322X 号"),  # written in groups
        ("证件342301-19640516-3224", "证件3423011964****3224"),
        ("旧证230103640516322", "旧证23010364****322"),
        ("230103 640516 322", "23010364****322"),
        # not identity numbers: a USCC, a longer number, a date range and a telephone number stay
        ("N12301031234567895 与 91230103MA1BXXXX0Y", "N12301031234567895 与 91230103MA1BXXXX0Y"),
        ("账号6222021234567890123", "账号6222021234567890123"),
        ("2024-01-01 2025-01-01，电话0451-12345678", "2024-01-01 2025-01-01，电话0451-12345678"),
    ],
)
def test_identity_numbers_in_free_text_are_masked_however_they_are_written(text: str, shown: str) -> None:
    assert mask_ids_in_text(text) == shown


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="0123456789Xx* ", max_size=20), st.none()), max_size=30))
def test_masking_never_reveals_the_full_number(values: list[str | None]) -> None:
    masked = mask_ids(pd.Series(values, dtype=object))
    assert masked.tolist() == [mask_id(v) for v in values]
    for raw, shown in zip(values, masked):
        full = normalise_code(raw)
        if full and "*" not in full:
            assert shown != full and "*" in shown and len(shown) == len(full)


@pytest.mark.parametrize(
    ("masked", "full", "matches"),
    [
        ("3423011964****3224", "342301196401013224", True),
        ("3423011964****3224", "342301196401013225", False),
        ("3423011964****3224", "34230119640101322", False),
        ("913306******ud4p7h", "913306ABCDEFUD4P7H", True),
        ("913306******ud4p7h", "913306******UD4P7H", False),
        ("330227************", "330227197001011234", True),
    ],
)
def test_masked_matches(masked: str, full: str, matches: bool) -> None:
    assert masked_matches(masked, full) is matches


def test_pseudonyms_are_keyed_and_stable() -> None:
    first, second = Pseudonymiser("secret-one"), Pseudonymiser("secret-two")
    key = first.key(VALID_ID)
    assert len(key) == 32 and int(key, 16) >= 0
    assert key == first.key(VALID_ID.lower()) != second.key(VALID_ID)
    assert VALID_ID not in key
    with pytest.raises(ValueError, match="masked"):
        first.key("3423011964****3224")
    with pytest.raises(ValueError, match="empty"):
        Pseudonymiser("")


def test_vectorised_pseudonyms() -> None:
    pseudonymiser = Pseudonymiser("secret")
    values = pd.Series([VALID_ID, "110105491231002", "3423011964****3224", None], index=[5, 6, 7, 8])
    keys = pseudonymiser.keys(values)
    assert keys.index.tolist() == [5, 6, 7, 8]
    assert keys[5] == keys[6] == pseudonymiser.key(VALID_ID)
    assert keys[[7, 8]].isna().all()


def test_encryption_round_trip() -> None:
    pseudonymiser = Pseudonymiser("secret")
    token = pseudonymiser.encrypt(VALID_ID)
    assert VALID_ID not in token
    assert pseudonymiser.decrypt(token) == VALID_ID
    with pytest.raises(InvalidToken):
        Pseudonymiser("another secret").decrypt(token)


_SEPARATORS = (
    " ",
    "\u00a0",
    "\u3000",
    "\u200b",
    "\u2009",
    "\u202f",
    "\ufeff",
    ".",
    "/",
    "-",
    "－",
    "．",
    "／",
    "·",
    "—",
)
_X_SPELLINGS = ("X", "x", "Ｘ", "ｘ", "×")


@st.composite
def _written_ids(draw: st.DrawFn) -> tuple[str, str]:
    """A valid resident ID as people write it in free text: (the 17 digits, the text)."""
    region = draw(st.sampled_from(["110105", "230102", "342301", "440305", "330227", "510104", "650102"]))
    born = draw(st.dates(date(1900, 1, 1), date(2015, 12, 31)))
    body = f"{region}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    check = ric.calc_check_digit(body + "0")
    if check == "X":
        check = draw(st.sampled_from(_X_SPELLINGS))
    digits = body + ("" if draw(st.booleans()) else check)  # 17 digits whose check digit can be computed
    if draw(st.booleans()):
        digits = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in digits)  # full-width
    sep = draw(st.sampled_from(_SEPARATORS)) * draw(st.integers(1, 2))
    layout = draw(st.sampled_from(["plain", "6-8-4", "6-4-4-4", "every", "18-minus-one"]))
    cuts = {
        "plain": [],
        "6-8-4": [6, 14],
        "6-4-4-4": [6, 10, 14],
        "every": list(range(1, len(digits))),
        "18-minus-one": [17],
    }[layout]
    written = "".join(sep + c if i in cuts else c for i, c in enumerate(digits))
    glued = draw(st.sampled_from(["", "1", "9", "0"]))
    words = st.text(alphabet="当事人身份证号码住所测试街王五便利店公司：，。（）ID号abc", max_size=8)
    return body, draw(words) + glued + written + draw(words)


def _digits_only(text: str) -> str:
    folded = text.translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}).replace("×", "X").upper()
    return "".join(c for c in folded if c.isdigit() or c in "X*")


@settings(max_examples=500, deadline=None)
@given(_written_ids())
def test_an_identity_number_is_masked_however_it_is_spelled(written: tuple[str, str]) -> None:
    """Any valid or completable GB 11643 number with any of these separators is masked: the
    month and day of birth are hidden, the rest of the text stays."""
    body, text = written
    shown = mask_ids_in_text(text)
    assert body not in _digits_only(shown)
    assert body[:10] + "****" + body[14:17] in _digits_only(shown)
