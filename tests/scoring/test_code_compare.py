"""Output comparison: LiveCodeBench's rules, and a bounded cost whatever a program prints or returns."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from harness.scoring._literal_codec import encode
from harness.scoring.code_compare import compare_functional, compare_stdio


def test_stdio_comparison_follows_lcb() -> None:
    assert compare_stdio("1 2\n3  \n\n\n", "1 2\n3") is None
    assert compare_stdio("\n\n1\n\n2\n\n", "1\n\n2") is None  # blank lines inside count, around do not
    assert compare_stdio("1\n\n\n2", "1\n2") == "expected 2 output lines, got more"
    assert compare_stdio("0.50\n", "0.5") is None  # equal as exact decimals
    assert compare_stdio("0.3333333\n", "0.333333333") is not None
    assert compare_stdio("0.3333333\n", "0.333333333", "tolerance") is None
    assert compare_stdio("1000001", "1000000", "tolerance") is not None  # integers stay exact
    assert compare_stdio("YES", "NO") == "line 1: expected 'NO', got 'YES'"
    assert compare_stdio("1\n2", "1") == "expected 1 output lines, got more"
    assert compare_stdio("1", "1\n2") == "expected 2 output lines, got 1"
    assert compare_stdio("", "") is None and compare_stdio(" \n\t\n", "") is None
    assert compare_stdio("\x851\n", "1") is None  # Unicode whitespace is stripped as str.strip() does
    assert compare_stdio("1 2 3", "1 2") is not None and compare_stdio("1", "1 2") is not None


def test_functional_comparison_is_lcb_equality() -> None:
    assert compare_functional(encode([1, [2, 3]]), "[1, [2, 3]]") is None
    assert compare_functional(encode((1, 2)), "[1, 2]") is None  # a top-level tuple reads as a list
    assert compare_functional(encode([(1, 2)]), "[[1, 2]]") is not None  # nested tuples do not (LCB)
    assert compare_functional(encode(2.0), "2") is None and compare_functional(encode(True), "1") is None
    assert compare_functional(encode({1, 2}), "[1, 2]") is not None
    assert compare_functional(encode([1, 2]), "[2, 1]") == "expected [2, 1], got [1, 2]"


def bounded(compare, *args):
    """The comparison's answer and the peak memory it allocated."""
    tracemalloc.start()
    try:
        answer = compare(*args)
        return answer, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MB = 1024 * 1024
POISONED_STDOUT = {
    "30 MB of \\x01 on one line": b"\x01" * (30 * MB),
    "'1 ' * 15M": b"1 " * (15 * MB // 2),
    "30M newlines inside the text": b"1" + b"\n" * (30 * MB) + b"42",
    "invalid UTF-8 and control characters": b"\xff\xfe\x00\x1b[2J" * 1000 + b"\n42",
    "one 20 MB number": b"9" * (20 * MB),
}


@pytest.mark.parametrize("name", list(POISONED_STDOUT))
def test_poisoned_stdout_is_a_wrong_answer_at_bounded_cost(name: str) -> None:
    output = POISONED_STDOUT[name]
    answer, peak = bounded(compare_stdio, output, "42\n")
    assert answer is not None and answer.startswith(("line 1", "expected 1 output lines"))
    # Linear in the output (which the runner caps at 32 MiB): one line decoded, never a list of them.
    assert peak < 3 * len(output) + MB, f"{name}: {peak / MB:.0f} MB for {len(output) / MB:.0f} MB of output"


def test_many_tokens_on_one_line_are_compared_lazily() -> None:
    output = b"1 " * (15 * MB // 2)
    answer, peak = bounded(compare_stdio, output, " ".join(["1"] * 3))
    assert answer is not None and peak < 3 * len(output)


def nested_bytes(levels: int) -> bytes:
    return b"l\x01\x00\x00\x00" * levels + b"N"


POISONED_VALUES = {
    "a list nested 3000 deep": (nested_bytes(3000), "[]", "deeper than 100"),
    "a 5000-digit integer": (encode(10**5000 + 1), "5", "expected 5, got <16610-bit int>"),
    "NaN": (encode(math.nan), "1.0", "expected 1.0, got nan"),
    "infinity": (encode([math.inf]), "[1]", "got [inf]"),
    "truncated data": (encode([1, 2, 3])[:-3], "[1, 2, 3]", "could not be read back"),
    "garbage": (b"\xff" * 100, "1", "unknown type tag"),
    "an unhashable set element": (b"S\x01\x00\x00\x00" + encode([1]), "[]", "not hashable"),
}


@pytest.mark.parametrize("name", list(POISONED_VALUES))
def test_poisoned_return_values_are_wrong_answers_not_crashes(name: str) -> None:
    data, expected, reason = POISONED_VALUES[name]
    answer = compare_functional(data, expected)
    assert answer is not None and reason in answer


def test_a_correct_huge_integer_still_passes() -> None:
    assert compare_functional(encode(10**5000), "1" + "0" * 5000) is None
