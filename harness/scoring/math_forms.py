"""Graders for answer forms beyond MATH's: science answers (Minerva Math) and olympiad ones (OlympiadBench).

They differ from MATH's grader (`answers_equivalent`) in how the two sides are read:

- The gold is read literally. Math-Verify's unit normalisation drops a trailing "m", "s", "c" or "t" after
  a number, which in these golds are variables: Minerva's `\\frac{37}{4} m` is a spring constant in terms
  of a mass m, OlympiadBench's `6m` a count in terms of m; read MATH's way, a bare 6 would match. Units
  never sit inside these golds (Minerva keeps them outside the box, OlympiadBench in a `unit` field).
- Only what is wrapped as the answer is parsed (no fallback to the first formula found inside it), so
  a gold or answer LaTeX cannot read (`\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}`) is compared as text rather
  than as the fragment `2/3`.
- The prediction is read both literally and with units dropped, so "36 \\mathrm{mL}" matches 36.
- A percentage may be written with or without its sign ("17.5" for "17.5%", "4.2\\%" for 4.2 when the
  unit field says %); the problem's declared unit may follow the number ("45 \\text{ minutes}"); an
  interval may be written as the inequality that describes it ("x < -5" for "(-\\infty,-5)").
- Hyperbolic functions are compared through exponentials (`\\sinh(at)/a` = `(e^{at}-e^{-at})/(2a)`), and,
  for Minerva (university courses), an unbased `\\log` is the natural log, where Math-Verify reads base 10.

Several answers (OlympiadBench's `is_multiple_answer`) are compared as sets by Math-Verify: "1 \\text{ and }
5" matches "5,1"; a missing or extra answer does not.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Any

from harness.scoring.math import (
    MATH_VERIFY_SETTINGS,
    compact,
    math_verify_timeout_s,
    parsed_equivalent,
    scientific_to_latex,
    score_free_form,
)
from harness.types import Completion, Grader, Problem, Score

# `\log` with no `_base` right after it.
_UNBASED_LOG = re.compile(r"\\log(?!\s*_)(?![a-zA-Z])")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*(?:\\%|%|percent)\s*\})\s*$")
_RELATION = re.compile(r"<|>|\\[lg]eq?(?![a-z])|\\[lg]eqslant")
# What is left of a unit once LaTeX decoration is gone: "\mathrm{~cm}^{2}" -> "cm2", "$cm^2$" -> "cm2".
_UNIT_DECORATION = re.compile(r"\\(?:text|mathrm|mbox|operatorname|,|;|!|\s)|[{}\s~$^]")
_HYPERBOLIC = ("sinh", "cosh", "tanh", "coth", "sech", "csch")


def _parse_anchored(answer: str, drop_units: bool, timeout_s: int | None) -> tuple[Any, ...]:
    from latex2sympy2_extended.math_normalization import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse

    normalization = NormalizationConfig(
        basic_latex=True, units=drop_units, malformed_operators=True, nits=True, boxed="all"
    )
    config = LatexExtractionConfig(
        boxed_match_priority=0, try_extract_without_anchor=False, normalization_config=normalization
    )
    boxed = "\\boxed{" + scientific_to_latex(answer) + "}"
    return tuple(parse(boxed, extraction_config=[config], parsing_timeout=timeout_s))


@lru_cache(maxsize=4096)
def _parse_gold_literally(gold: str, timeout_s: int | None) -> tuple[Any, ...]:
    return _parse_anchored(gold, False, timeout_s)


def without_percent(answer: str) -> str:
    """`answer` without a trailing percent sign ("17.5\\%" -> "17.5")."""
    return _PERCENT.sub("", answer).strip()


def _unit_key(text: str) -> str:
    return _UNIT_DECORATION.sub("", text).lower()


def without_unit(answer: str, unit: str) -> str:
    """`answer` without a trailing `unit`, however it is typeset ("45 \\text{ minutes}" -> "45")."""
    key = _unit_key(unit)
    if not key:
        return answer
    wanted = {key, key + "s", key + "es"}
    for start in range(1, len(answer)):
        # A unit starts after the number: at a space, a brace, a backslash or a tilde.
        if answer[start - 1] not in " }~,$" and answer[start] not in "\\ ~{":
            continue
        if _unit_key(answer[start:]) in wanted:
            return answer[:start].rstrip(" ~,\\")
    return answer


def _readings(gold: str, predicted: str, unit: str | None) -> list[tuple[str, str]]:
    """The (gold, prediction) pairs worth comparing: as written, without the declared unit, and with
    percent signs dropped from both sides."""
    predictions = [predicted]
    if unit and (bare := without_unit(predicted, unit)) != predicted:
        predictions.append(bare)
    pairs = [(gold, p) for p in predictions]
    pairs += [(without_percent(gold), without_percent(p)) for p in predictions]
    return list(dict.fromkeys(pairs))


def _through_exponentials(parsed: tuple[Any, ...]) -> tuple[Any, ...]:
    import sympy

    return tuple(
        item.rewrite(sympy.exp) if isinstance(item, sympy.Expr) and not isinstance(item, sympy.Set) else item
        for item in parsed
    )


def _has_hyperbolic(*texts: str) -> bool:
    return any(name in text for text in texts for name in _HYPERBOLIC)


def forms_equivalent(
    gold: str, predicted: str, *, unit: str | None = None, natural_log: bool = False
) -> bool:
    """Whether `predicted` means the same as `gold` under the readings in the module notes."""
    if natural_log:
        gold, predicted = _UNBASED_LOG.sub(r"\\ln", gold), _UNBASED_LOG.sub(r"\\ln", predicted)
    timeout_s = math_verify_timeout_s()
    for gold_text, predicted_text in _readings(gold, predicted, unit):
        if compact(gold_text) == compact(predicted_text):
            return True
        gold_parsed = _parse_gold_literally(gold_text, timeout_s)
        for drop_units in (False, True):
            predicted_parsed = _parse_anchored(predicted_text, drop_units, timeout_s)
            if parsed_equivalent(gold_parsed, predicted_parsed, timeout_s):
                return True
            if _RELATION.search(predicted_text) and parsed_equivalent(
                gold_parsed, predicted_parsed, timeout_s, allow_set_relation_comp=True
            ):
                return True
            if _has_hyperbolic(gold_text, predicted_text) and _exponentials_equal(
                gold_parsed, predicted_parsed, timeout_s
            ):
                return True
    return False


def _exponentials_equal(gold: tuple[Any, ...], predicted: tuple[Any, ...], timeout_s: int | None) -> bool:
    try:
        gold, predicted = _through_exponentials(gold), _through_exponentials(predicted)
    except Exception:  # sympy's rewrite raises assorted errors on exotic expressions; then they differ
        return False
    return parsed_equivalent(gold, predicted, timeout_s)


def score_minerva(problem: Problem, completion: Completion) -> Score:
    """Grade a Minerva Math answer (see the module notes; unbased `\\log` is ln)."""
    return score_free_form(problem, completion, partial(forms_equivalent, natural_log=True), "score_minerva")


def score_olympiad(problem: Problem, completion: Completion) -> Score:
    """Grade an OlympiadBench answer, with the unit the problem's `unit` field names."""
    unit = problem.meta.get("unit")
    equivalent = partial(forms_equivalent, unit=unit if isinstance(unit, str) else None)
    return score_free_form(problem, completion, equivalent, "score_olympiad")


_READINGS = {
    "gold": "literal (no unit words dropped), anchored (no fragment fallback)",
    "prediction": "literal, then with units dropped",
    "percent_sign": "optional",
    "hyperbolic": "compared through exp",
}
MINERVA_GRADER = Grader(
    name="minerva-answer",
    version="1",
    score=score_minerva,
    settings={**MATH_VERIFY_SETTINGS, **_READINGS, "unbased_log": "natural"},
)
OLYMPIAD_GRADER = Grader(
    name="olympiad-answer",
    version="1",
    score=score_olympiad,
    settings={
        **MATH_VERIFY_SETTINGS,
        **_READINGS,
        "unit": "the problem's unit field may follow the number",
        "interval_as_inequality": True,
        "several_answers": "unordered set, all required",
    },
)
