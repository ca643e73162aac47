"""Finding the final answer in a model's text: boxes, answer phrases, numbers and AIME integers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.scoring.math_extract import (
    aime_integer,
    answer_phrase,
    clean_answer,
    extract_answer,
    gsm8k_fallback,
    last_boxed,
    last_number,
    plain_number,
    strip_reasoning,
)


@pytest.mark.parametrize(
    ("text", "boxed"),
    [
        (r"\boxed{\boxed{5}}", "5"),  # nested: the innermost starts last
        (r"first \boxed{3}, then cut off \boxed{4", "3"),  # an unclosed box is not graded on a fragment
        (r"\boxed 12 apples", "12"),  # a bare box takes one token
        (r"\fbox{7}", "7"),
        (r"\boxedx{2}", None),  # another command, not a box
        (r"\boxed{\{1,2\}}", r"\{1,2\}"),  # escaped braces are set notation, not grouping
        (r"\boxed{2} and an empty \boxed{ }", "2"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        ("no box at all", None),
    ],
)
def test_last_boxed(text: str, boxed: str | None) -> None:
    assert last_boxed(text) == boxed


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("The final answer is $42$. Because the sum is even.", "42"),
        ("Answer: **3.5**", "3.5"),  # the decimal point does not end the sentence
        ("So the answer is: 7.", "7"),
        ("**Final Answer:** $\\frac{1}{2}$", "\\frac{1}{2}"),
        ("Final answer:\n  12", "12"),
        ("I have no idea", None),
    ],
)
def test_answer_phrase(text: str, answer: str | None) -> None:
    assert answer_phrase(text) == answer


def test_clean_answer_strips_decoration_but_not_content() -> None:
    assert clean_answer("$$x^2$$.") == "x^2"
    assert clean_answer("$5$ cm") == "5 cm"
    assert clean_answer("**\\(3\\)**") == "3"


def test_extraction_order_is_box_then_phrase_then_fallback() -> None:
    text = "The answer is 4. Check: \\boxed{5}. Last number 6"
    assert extract_answer(text, last_number) == "5"
    assert extract_answer("The answer is 4. Last number 6", last_number) == "4"
    assert extract_answer("Last number 6", last_number) == "6"
    assert extract_answer("nothing") is None
    assert strip_reasoning("<think>\\boxed{1}</think>\\boxed{2}") == "\\boxed{2}"


def test_numbers_and_the_gsm8k_mark() -> None:
    assert last_number("sum 1,234, then -0.5 and 7.") == "7"
    assert last_number("1,234,") == "1,234"
    assert last_number("no digits") is None
    assert gsm8k_fallback("work\n#### 1,234\nthen 5") == "1,234"  # the mark wins over a later number
    assert gsm8k_fallback("no mark: 3 then 4") == "4"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", Decimal("1234")),
        ("$18", Decimal(18)),
        ("\\$5", Decimal(5)),
        ("-3.50", Decimal("-3.50")),
        ("12.", Decimal(12)),
        ("1{,}000", Decimal(1000)),
        ("1,23", None),  # not a thousands separator
        ("3/4", None),
        ("abc", None),
    ],
)
def test_plain_number(text: str, value: Decimal | None) -> None:
    assert plain_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("025", 25),
        ("$116$", 116),
        ("\\text{116}", 116),
        ("\\boxed{7}", 7),
        ("m+n = 116", 116),
        ("1,000", 1000),
        ("25.0", 25),
        ("25.5", None),
        ("3/4", None),
        ("one hundred", None),
    ],
)
def test_aime_integer(text: str, value: int | None) -> None:
    assert aime_integer(text) == value
