"""Pure pieces of code grading: pulling code out of a completion and comparing outputs.

The comparison rules follow LiveCodeBench's official grader unless a setting says otherwise; each rule
that can differ is a named choice recorded in the grader settings (see benchmarks/README.md).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FloatCompare = Literal["exact_decimal", "tolerance"]
FLOAT_TOLERANCE = 1e-6  # absolute-or-relative, the usual contest-judge checker

_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)


def strip_reasoning(text: str) -> str | None:
    """Text after the last `</think>`; None when a think block never closed (no answer yet)."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        return None
    return text


def extract_code(text: str) -> str | None:
    """The last fenced code block after the reasoning (any language tag), or None when there is none."""
    answer = strip_reasoning(text)
    if answer is None:
        return None
    fences = [m.start() for m in _FENCE.finditer(answer)]
    if len(fences) < 2:
        return None
    # Fences pair up from the start, so with an odd count the last one is an unclosed block.
    last_open = fences[len(fences) // 2 * 2 - 2]
    last_close = fences[len(fences) // 2 * 2 - 1]
    block = answer[last_open:last_close]
    code = block.split("\n", 1)[1] if "\n" in block else ""
    return code if code.strip() else None


def _lines(text: str) -> list[str]:
    # LCB strips the whole output and then every line, so leading spaces never matter either.
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except InvalidOperation:
        return None


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    integer = re.compile(r"[+-]?\d+")
    if integer.fullmatch(a) and integer.fullmatch(b):
        return int(a) == int(b)  # integers stay exact; tolerance is for real numbers only
    return math.isclose(x, y, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)


def _line_matches(got: str, want: str, float_compare: FloatCompare) -> bool:
    if got == want:
        return True
    if float_compare == "exact_decimal":
        got_numbers, want_numbers = _decimals(got), _decimals(want)
        return got_numbers is not None and got_numbers == want_numbers
    got_tokens, want_tokens = got.split(), want.split()
    return len(got_tokens) == len(want_tokens) and all(map(_close, got_tokens, want_tokens))


def compare_stdio(output: str, expected: str, float_compare: FloatCompare = "exact_decimal") -> str | None:
    """None when `output` is accepted for `expected`, else a short reason naming the first difference."""
    got, want = _lines(output), _lines(expected)
    if len(got) != len(want):
        return f"expected {len(want)} output lines, got {len(got)}"
    for number, (g, w) in enumerate(zip(got, want, strict=True), start=1):
        if not _line_matches(g, w, float_compare):
            return f"line {number}: expected {w[:80]!r}, got {g[:80]!r}"
    return None


def _normalise(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def compare_functional(output_json: str, expected_json: str) -> str | None:
    """None when the returned value (JSON from the runner) equals the JSON-decoded expected output."""
    try:
        got = json.loads(output_json)
    except json.JSONDecodeError:
        return "the return value could not be read back"
    want = _normalise(json.loads(expected_json))
    if _normalise(got) == want:
        return None
    return f"expected {expected_json[:80]}, got {output_json[:80]}"
