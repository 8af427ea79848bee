"""What the public face needs from the core: tickets typed back by a person, corrected values in a
source's free text, and industry names from GB/T 4754."""

from __future__ import annotations

from credit_engine.industries import industry_name
from credit_engine.records import as_corrected
from credit_engine.workflows.cases import normalise_ticket


def test_a_ticket_as_a_person_types_it_back() -> None:
    assert normalise_ticket("  o20260630-1A2B3C4D5E6F ") == "O20260630-1a2b3c4d5e6f"
    assert normalise_ticket("020260630-1a2b3c4d5e6f") == "O20260630-1a2b3c4d5e6f"  # a zero for the O
    assert normalise_ticket("r20260630-1a2b 3c4d5e6f") == "R20260630-1a2b3c4d5e6f"
    assert normalise_ticket("") == ""


def test_a_correction_rewrites_the_old_values_in_the_source_text() -> None:
    corrected = {
        "fields": {
            "amount_yuan": ["24800.0", "2480.0"],
            "event_date": ["2025-03-01", "2025-03-11"],
            "document_no": ["哈市市监罚〔2025〕3号", "哈市市监罚〔2025〕30号"],
        }
    }
    text = "依据哈市市监罚〔2025〕3号，2025年3月1日决定罚款24800元（24,800.00元），另没收124800元"
    assert as_corrected(text, corrected) == (
        "依据哈市市监罚〔2025〕30号，2025年3月11日决定罚款2480元（2,480.00元），另没收124800元"
    )
    assert as_corrected("罚款24800元", {"fields": {"amount_yuan": ["24800.0", "2480.5"]}}) == "罚款2480.50元"
    assert as_corrected("罚款24800元", None) == "罚款24800元" and as_corrected(None, corrected) is None


def test_industry_codes_are_named_at_the_most_precise_level_known() -> None:
    assert industry_name("F5212") == "超级市场零售"
    assert industry_name("c1399") == "农副食品加工业"  # a class not in the table: its division
    assert industry_name("F52") == "零售业" and industry_name("5212") == "超级市场零售"
    assert industry_name("Z99") is None and industry_name("") is None and industry_name(None) is None


def test_a_corrected_amount_stored_with_a_float_remainder_is_rewritten_in_the_text() -> None:
    """5.98 万元 becomes 59800.00000000001 yuan in the store; the decision's text says 59800元."""
    from credit_engine.records import as_corrected

    corrected = {"fields": {"amount_yuan": ["59800.00000000001", "5980.0"]}}
    assert as_corrected("吊销食品经营许可证，罚款人民币59800元", corrected) == "吊销食品经营许可证，罚款人民币5980元"
