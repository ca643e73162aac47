"""Finding the final answer in a model's text: pure string functions, no sympy.

The order is fixed and documented because it is part of the grader's behaviour (and so of its
version): reasoning is cut off first, then the last ``\\boxed{}``/``\\fbox{}``, then an explicit
"final answer" phrase, then whatever fallback the task supplies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

AnswerFallback = Callable[[str], "str | None"]


def strip_reasoning(text: str) -> str | None:
    """The part of `text` that is graded: everything after the last ``</think>``.

    Returns None when a ``<think>`` block is still open, because whatever follows it is reasoning
    that never reached an answer. A lone ``</think>`` (chat templates that put ``<think>`` in the
    prompt) still closes the reasoning.
    """
    _, sep, tail = text.rpartition(THINK_CLOSE)
    graded = tail if sep else text
    if THINK_OPEN in graded:
        return None
    return graded


_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
# `\boxed 5` boxes one token; models write multi-digit numbers that way and mean the whole number.
_BARE_BOX_TOKEN = re.compile(r"[ \t]+([^\s${}]+)")


def _balanced_group(text: str, open_at: int) -> str | None:
    """Content of the brace group whose `{` is at `open_at`, or None if it never closes."""
    depth = 0
    for i in range(open_at, len(text)):
        char = text[i]
        # \{ and \} are literal braces (set notation), not grouping.
        if char == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif char == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last non-empty ``\\boxed{...}``/``\\fbox{...}``/``\\boxed x``, stripped.

    Nested boxes resolve to the innermost, since it starts last. A box cut off by the token limit
    (no closing brace) is skipped rather than graded on a fragment.
    """
    for match in reversed(list(_BOX_COMMAND.finditer(text))):
        after = match.end()
        rest = text[after:]
        stripped = rest.lstrip(" \t")
        if stripped.startswith("{"):
            content = _balanced_group(text, after + len(rest) - len(stripped))
        else:
            bare = _BARE_BOX_TOKEN.match(rest)
            content = bare.group(1) if bare else None
        if content is not None and content.strip():
            return content.strip()
    return None


# "final answer is X", "the answer is: X", "Answer: X", "**Final Answer:** X", "Final answer:\n X".
_PHRASE = re.compile(
    r"\banswer\b(?:\*\*)?[ \t]*(?:\bis\b[ \t]*:?|:)[ \t]*(?:\*\*)?[ \t]*(?:\n\s*)?(?P<answer>[^\n]+)",
    re.IGNORECASE,
)
# A sentence that goes on after the answer ("... is 5. This is because ..."); a decimal point is
# never followed by whitespace, so this does not split 3.5.
_SENTENCE_END = re.compile(r"\.\s")
_MATH_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))


def clean_answer(answer: str) -> str:
    """Strip the decoration models put around a stated answer: bold, math delimiters, a period."""
    answer = _SENTENCE_END.split(answer, maxsplit=1)[0].strip()
    changed = True
    while changed:
        changed = False
        answer = answer.strip().rstrip(".").rstrip()
        for left, right in _MATH_WRAPPERS:
            if len(answer) > len(left) + len(right) and answer.startswith(left) and answer.endswith(right):
                answer = answer[len(left) : -len(right)]
                changed = True
        if answer.endswith("**") and "**" not in answer[:-2]:
            answer, changed = answer[:-2], True
    # "$5$ cm" keeps one pair of dollars in the middle; they carry no meaning once extracted.
    if answer.count("$") >= 2:
        answer = answer.replace("$", "")
    return answer.strip()


def answer_phrase(text: str) -> str | None:
    """The answer stated after the last "answer is"/"answer:" phrase, cleaned; None if none."""
    for match in reversed(list(_PHRASE.finditer(text))):
        answer = clean_answer(match.group("answer"))
        if answer:
            return answer
    return None


def extract_answer(text: str, fallback: AnswerFallback | None = None) -> str | None:
    """The final answer in `text` (reasoning already removed), whitespace-stripped, or None.

    Tries the last box, then an answer phrase, then `fallback(text)` (task-specific, e.g. the
    last number for GSM8K).
    """
    for finder in (last_boxed, answer_phrase, fallback):
        if finder is None:
            continue
        found = finder(text)
        if found is not None and found.strip():
            return found.strip()
    return None


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_GSM8K_MARK = re.compile(r"^\s*####\s*(?P<answer>\S[^\n]*)", re.MULTILINE)


def last_number(text: str) -> str | None:
    """The last number written in `text` (commas kept as written), or None."""
    numbers = _NUMBER.findall(text)
    if not numbers:
        return None
    return numbers[-1].rstrip(",")


def gsm8k_fallback(text: str) -> str | None:
    """GSM8K's own convention (a final ``#### N`` line), else the last number in the text."""
    marks = _GSM8K_MARK.findall(text)
    if marks:
        return clean_answer(marks[-1])
    return last_number(text)


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CURRENCY = re.compile(r"^(?:\\\$|\$)\s*")


def plain_number(answer: str) -> Decimal | None:
    """`answer` as an exact decimal when it is just a number ("1,234", "$18", "-3.50"), else None."""
    text = _CURRENCY.sub("", answer.strip()).rstrip(".").strip()
    text = text.replace("{,}", ",").replace("\\,", "").replace("\\!", "")
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above only admits valid decimals
        return None


_WRAPPER_COMMAND = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|boxed|fbox)\s*\{(?P<inner>.*)\}$", re.DOTALL)


def _unwrap(answer: str) -> str:
    previous = None
    while previous != answer:
        previous = answer
        answer = clean_answer(answer).strip("*").strip()
        wrapped = _WRAPPER_COMMAND.match(answer)
        if wrapped:
            answer = wrapped.group("inner")
    return answer


def aime_integer(answer: str) -> int | None:
    """`answer` read as an integer the way AIME answers are written, or None if it is not one.

    Accepts "025", "$116$", "\\text{116}", "m+n = 116" (right-hand side of the last "="),
    "1,000" (read as 1000, not 1) and "25.0". Anything else, including fractions, is None.
    """
    text = _unwrap(answer)
    if "=" in text:
        text = _unwrap(text.rsplit("=", 1)[1])
    number = plain_number(text)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)
