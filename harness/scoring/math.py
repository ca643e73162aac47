"""Math graders: AIME integers, general answers via Math-Verify, GSM8K numbers.

Every scorer is a pure function of (Problem, Completion), so saved completions can be re-graded
without a model. Extraction lives in `math_extract`; this module decides verdicts.

Bump a grader's `version` whenever its behaviour changes: the version goes into the protocol
fingerprint, and scores from different versions must not be ranked side by side.
"""

from __future__ import annotations

import cmath
import math
import re
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from harness.scoring.math_extract import (
    AnswerFallback,
    aime_integer,
    extract_answer,
    gsm8k_fallback,
    plain_number,
    strip_reasoning,
)
from harness.types import Completion, Grader, Problem, Score, Verdict

__all__ = [
    "AIME_GRADER",
    "GSM8K_GRADER",
    "MATH_GRADER",
    "answers_equivalent",
    "extract_answer",
    "score_aime",
    "score_free_form",
    "score_gsm8k",
    "score_math",
    "strip_reasoning",
]

AIME_RANGE = range(0, 1000)
MATH_VERIFY_TIMEOUT_S = 5
TINY_SCALE = 1e-3  # below this, 6-decimal rounding keeps fewer than 3 significant digits
TINY_REL_TOL = 1e-4
_NUMBER_IN_TEXT = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?<!,)")


def _answer_text(completion: Completion) -> str | None:
    """The text to grade; None when an open <think> block means no answer was ever given."""
    if completion.reasoning is not None:
        return completion.text
    return strip_reasoning(completion.text)


def _unanswered(problem: Problem, completion: Completion, why: str) -> Score:
    # Running out of tokens is a different failure from answering in a form we cannot read, and
    # the two call for different fixes (a larger max_new_tokens vs. a better prompt).
    if completion.finish_reason == "length":
        verdict, detail = Verdict.TRUNCATED, f"hit the token limit ({completion.output_tokens}) {why}"
    else:
        verdict, detail = Verdict.NO_ANSWER, why
    return Score(problem.id, completion.sample_index, verdict, None, detail)


def _extract(completion: Completion, fallback: AnswerFallback | None) -> tuple[str | None, str]:
    text = _answer_text(completion)
    if text is None:
        return None, "inside an unclosed <think> block"
    extracted = extract_answer(text, fallback)
    return extracted, "with no boxed answer or 'final answer' phrase"


def _gold(problem: Problem, grader: str) -> str:
    if problem.answer is None or not problem.answer.strip():
        raise ValueError(
            f"problem {problem.id!r} has no reference answer, so {grader} cannot grade it; "
            "check the task's to_problem mapping for the answer field"
        )
    return problem.answer.strip()


def score_aime(problem: Problem, completion: Completion) -> Score:
    """Grade an AIME answer: an integer in 0..999, compared as an integer.

    Score.extracted is the canonical integer ("25" for "025") so majority voting counts equal
    answers together; a non-integer answer is kept as written and graded wrong.
    """
    gold_text = _gold(problem, "score_aime")
    gold = aime_integer(gold_text)
    if gold is None:
        raise ValueError(
            f"problem {problem.id!r}: AIME reference answer {gold_text!r} is not an integer; "
            "fix the dataset or grade this task with score_math"
        )
    extracted, why = _extract(completion, None)
    if extracted is None:
        return _unanswered(problem, completion, why)
    value = aime_integer(extracted)
    if value is None:
        return Score(problem.id, completion.sample_index, Verdict.WRONG, extracted, "not an integer")
    canonical = str(value)
    if value not in AIME_RANGE:
        detail = f"{value} is outside the AIME range 0..999"
        return Score(problem.id, completion.sample_index, Verdict.WRONG, canonical, detail)
    verdict = Verdict.CORRECT if value == gold else Verdict.WRONG
    return Score(problem.id, completion.sample_index, verdict, canonical, f"expected {gold}")


def math_verify_timeout_s() -> int | None:
    # Math-Verify times out with signal.alarm, which only the main thread may use; elsewhere it
    # would raise, so a threaded caller runs without the timeout instead of crashing.
    if threading.current_thread() is threading.main_thread():
        return MATH_VERIFY_TIMEOUT_S
    return None


def parse_answer(answer: str, timeout_s: int | None) -> list[Any]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    # Both sides are bare answers (no surrounding prose), so boxing them lets Math-Verify's own
    # LaTeX normalisation (\dfrac, \text{}, units, degrees, percent) apply to the whole string.
    return list(
        parse(
            "\\boxed{" + answer + "}",
            extraction_config=[LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()],
            parsing_timeout=timeout_s,  # None disables the signal-based timeout
        )
    )


@lru_cache(maxsize=4096)
def parse_gold(gold: str, timeout_s: int | None) -> tuple[Any, ...]:
    # Golds repeat across the n samples of a problem; parsing them once saves most of the time.
    return tuple(parse_answer(scientific_to_latex(gold), timeout_s))


def scientific_to_latex(answer: str) -> str:
    # Some datasets (Minerva) write golds as "4.5e33", which LaTeX parsing reads as 4.5*e*33.
    number = answer.strip().lower()
    if "e" in number:
        mantissa, _, exponent = number.partition("e")
        if plain_number(mantissa) is not None and exponent.lstrip("+-").isdigit():
            return f"{mantissa}\\times 10^{{{int(exponent)}}}"
    return answer


def compact(answer: str) -> str:
    return "".join(answer.split()).replace("$", "").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")


def answers_equivalent(gold: str, predicted: str) -> bool:
    """Whether `predicted` means the same as `gold` (both bare LaTeX answers), per Math-Verify."""
    if compact(gold) == compact(predicted):
        return True
    timeout_s = math_verify_timeout_s()
    gold_parsed: Sequence[Any] = parse_gold(gold, timeout_s)
    predicted_parsed = parse_answer(scientific_to_latex(predicted), timeout_s)
    return parsed_equivalent(gold_parsed, predicted_parsed, timeout_s)


def parsed_equivalent(
    gold_parsed: Sequence[Any], predicted_parsed: Sequence[Any], timeout_s: int | None, **options: Any
) -> bool:
    """Math-Verify's verdict on two parsed answers (`options` go to `verify`), with tiny numbers
    compared by relative tolerance."""
    from math_verify import verify

    if not gold_parsed or not predicted_parsed:
        return False
    if not verify(list(gold_parsed), list(predicted_parsed), timeout_seconds=timeout_s, **options):
        return False
    return not _tiny_numbers_differ(gold_parsed[0], predicted_parsed[0])


def _real_value(parsed: Any) -> float | None:
    try:
        if not getattr(parsed, "is_number", False):
            return None
        value = complex(parsed.evalf())
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        return None
    return value.real if value.imag == 0 and cmath.isfinite(value) else None


def _tiny_numbers_differ(gold: Any, predicted: Any) -> bool:
    """Whether two numbers below 1e-3 differ beyond a 1e-4 relative tolerance (see `tiny_numbers_equal`)."""
    return tiny_numbers_equal(gold, predicted) is False


def tiny_numbers_equal(gold: Any, predicted: Any) -> bool | None:
    """For two parsed real numbers below 1e-3, whether they agree within a 1e-4 relative tolerance;
    None when either is not a real number or either is larger.

    Math-Verify rounds floats to 6 decimal places and chops tiny differences, so 1e-8 and 2e-8,
    or 1.32e-27 and 1.325e-27, come out equal. Physics answers (Minerva) live at such scales; there
    we compare significant digits instead, with the relative tolerance the Qwen and Minerva graders use.
    """
    gold_value, predicted_value = _real_value(gold), _real_value(predicted)
    if gold_value is None or predicted_value is None:
        return None
    scale = max(abs(gold_value), abs(predicted_value))
    if scale == 0 or scale >= TINY_SCALE:
        return None
    return math.isclose(gold_value, predicted_value, rel_tol=TINY_REL_TOL)


def score_math(problem: Problem, completion: Completion) -> Score:
    """Grade a free-form answer (MATH-500, AMC) against a LaTeX reference."""
    return score_free_form(problem, completion, answers_equivalent, "score_math")


def score_free_form(
    problem: Problem,
    completion: Completion,
    equivalent: Callable[[str, str], bool],
    grader: str,
) -> Score:
    """Grade the boxed (or stated) answer with `equivalent(gold, extracted)`; the shared frame of the
    free-form graders, which differ only in what they count as the same answer."""
    gold = _gold(problem, grader)
    extracted, why = _extract(completion, None)
    if extracted is None:
        return _unanswered(problem, completion, why)
    verdict = Verdict.CORRECT if equivalent(gold, extracted) else Verdict.WRONG
    return Score(problem.id, completion.sample_index, verdict, extracted, f"expected {gold}")


def score_gsm8k(problem: Problem, completion: Completion) -> Score:
    """Grade a GSM8K answer: numbers compare exactly; anything else goes through Math-Verify.

    Falls back to GSM8K's ``#### N`` line and then to the last number in the text, since GSM8K
    models are usually prompted with few-shot examples that never box the answer.
    """
    gold = _gold(problem, "score_gsm8k")
    extracted, why = _extract(completion, gsm8k_fallback)
    if extracted is None:
        return _unanswered(problem, completion, why)
    gold_number, predicted_number = plain_number(gold), _sole_number(extracted)
    if gold_number is not None and predicted_number is not None:
        same = gold_number == predicted_number
    else:
        same = answers_equivalent(gold, extracted)
    verdict = Verdict.CORRECT if same else Verdict.WRONG
    return Score(problem.id, completion.sample_index, verdict, extracted, f"expected {gold}")


def _sole_number(answer: str) -> Decimal | None:
    # GSM8K answers are numbers, so "18 dollars" or "x = 18" mean 18; with two or more numbers
    # (\frac{36}{2}) we cannot tell which one is meant and leave it to Math-Verify.
    numbers = _NUMBER_IN_TEXT.findall(answer)
    if len(numbers) != 1:
        return plain_number(answer)
    return plain_number(numbers[0])


def _math_verify_version() -> str:
    try:
        return package_version("math-verify")
    except PackageNotFoundError:  # pragma: no cover - it is a declared dependency
        return "missing"


MATH_VERIFY_SETTINGS = {"math_verify": _math_verify_version(), "timeout_s": MATH_VERIFY_TIMEOUT_S}

AIME_GRADER = Grader(name="aime-integer", version="1", score=score_aime)
MATH_GRADER = Grader(name="math-verify", version="1", score=score_math, settings=MATH_VERIFY_SETTINGS)
GSM8K_GRADER = Grader(name="gsm8k-number", version="1", score=score_gsm8k, settings=MATH_VERIFY_SETTINGS)
