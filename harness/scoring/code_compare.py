"""Pure pieces of code grading: pulling code out of a completion and comparing outputs.

The comparison rules follow LiveCodeBench's official grader unless a setting says otherwise; each rule
that can differ is a named choice recorded in the grader settings (see benchmarks/README.md).
"""

from __future__ import annotations

import codecs
import itertools
import json
import math
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from harness.scoring._literal_codec import DEFAULT_LIMITS, CodecError, Limits, decode

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


_NOT_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")
_TOKEN = re.compile(r"\S+")


def _stripped_lines(output: bytes) -> Iterator[str]:
    """LCB's `[line.strip() for line in text.strip().split("\n")]`, one line at a time.

    Runs of blank lines are skipped in C (a regex search and a count), and each line is decoded only
    when reached, so a hostile output (millions of newlines, one 30 MB line) costs time linear in its
    size and memory of about one line, never a list of millions of strings.
    """
    data = memoryview(output)
    size, pos, pending_blank, started = len(output), 0, 0, False
    while pos < size:
        found = _NOT_SPACE.search(output, pos)
        if found is None:
            return  # only ASCII whitespace left: trailing blank lines, which LCB strips
        newlines = output.count(b"\n", pos, found.start())
        if started:
            pending_blank += newlines
        end = output.find(b"\n", found.start())
        end = size if end < 0 else end
        start = output.rfind(b"\n", 0, found.start()) + 1
        line = codecs.utf_8_decode(data[start:end], "replace")[0].strip()
        pos = end + 1
        if not line:  # only Unicode whitespace (e.g. \x85): blank all the same
            if started:
                pending_blank += 1
            continue
        if started:
            yield from ("" for _ in range(pending_blank))
        pending_blank, started = 0, True
        yield line


def _decimals_equal(got: str, want: str) -> bool:
    """LCB's rule for a line that differs as text: every token a Decimal, and the two lists equal."""
    want_tokens = want.split()
    got_tokens = _TOKEN.finditer(got)
    try:
        for expected in want_tokens:
            token = next(got_tokens, None)
            if token is None or Decimal(token.group()) != Decimal(expected):
                return False
        return next(got_tokens, None) is None
    except (InvalidOperation, ValueError, ArithmeticError):
        return False


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


def _tolerant_equal(got: str, want: str) -> bool:
    want_tokens = want.split()
    got_tokens = _TOKEN.finditer(got)
    for expected in want_tokens:
        token = next(got_tokens, None)
        if token is None or len(token.group()) > 4300 or not _close(token.group(), expected):
            return False
    return next(got_tokens, None) is None


def _line_matches(got: str, want: str, float_compare: FloatCompare) -> bool:
    if got == want:
        return True
    if float_compare == "exact_decimal":
        return _decimals_equal(got, want)
    return _tolerant_equal(got, want)


def compare_stdio(
    output: bytes | str, expected: str, float_compare: FloatCompare = "exact_decimal"
) -> str | None:
    """None when `output` is accepted for `expected`, else a short reason naming the first difference.

    Reads at most one line more than `expected` has, so its cost is bounded by the expected output.
    """
    if isinstance(output, str):
        output = output.encode("utf-8", "surrogatepass")
    want = [line.strip() for line in expected.strip().split("\n")]
    count, first_difference = 0, None
    for got_line in itertools.chain(_stripped_lines(output), [None]):
        if got_line is None:
            if count:
                break
            got_line = ""  # an empty output is one empty line, as in LCB
        count += 1
        if count > len(want):
            return f"expected {len(want)} output lines, got more"
        if first_difference is None and not _line_matches(got_line, want[count - 1], float_compare):
            first_difference = f"line {count}: expected {want[count - 1][:80]!r}, got {got_line[:80]!r}"
    if count != len(want):
        return f"expected {len(want)} output lines, got {count}"
    return first_difference


def _parse_int(text: str) -> int:
    # int(str) refuses more than 4300 digits; a Decimal converts exactly and in linear time.
    return int(text) if len(text) <= 4000 else int(Decimal(text))


def compare_functional(value: bytes, expected_json: str, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """None when the returned value equals the JSON-decoded expected output, as LCB compares them.

    `value` is the candidate's return value in the literal codec: it is decoded here (bounded, data
    only) and compared with Python equality after turning a top-level tuple into a list, which is all
    the normalisation LiveCodeBench's grader does; nested tuples, sets and strings stay what they are.
    """
    try:
        got = decode(value, limits)
    except CodecError as exc:
        return f"the return value could not be read back as data: {exc}"
    want = json.loads(expected_json, parse_int=_parse_int)
    if type(got) is tuple:
        got = list(got)
    try:
        equal = bool(got == want)
    except (RecursionError, ValueError, TypeError) as exc:  # bounded by the codec's depth; never raised
        return f"the return value could not be compared ({type(exc).__name__})"
    if equal:
        return None
    return f"expected {expected_json[:80]}, got {safe_repr(got)}"


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"), dict: ("{", "}")
}  # fmt: skip


def safe_repr(value: Any, limit: int = 80) -> str:
    """A short description of a decoded value that costs little whatever its size or depth."""
    parts: list[str] = []
    _repr_into(value, parts, limit + 1, 0)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _repr_into(value: Any, parts: list[str], budget: int, depth: int) -> int:
    """Append a repr of `value` to `parts`, stopping once `budget` characters are spent."""
    if budget <= 0:
        return 0
    t = type(value)
    if t in _BRACKETS and depth < 20:
        opener, closer = _BRACKETS[t]
        parts.append(opener)
        budget -= len(opener)
        for i, item in enumerate(value.items() if t is dict else value):
            if budget <= 0:
                break
            if i:
                parts.append(", ")
                budget -= 2
            if t is dict:
                budget = _repr_into(item[0], parts, budget, depth + 1) - 2
                parts.append(": ")
                item = item[1]
            budget = _repr_into(item, parts, budget, depth + 1)
        parts.append(closer)
        return budget - len(closer)
    if t is int and value.bit_length() > 64:
        piece = f"<{value.bit_length()}-bit int>"
    elif t in (str, bytes, bytearray):
        piece = repr(value[:budget])
    elif t in (bool, int, float, complex) or value is None:
        piece = repr(value)
    else:
        piece = f"<{t.__name__}>"
    parts.append(piece)
    return budget - len(piece)
