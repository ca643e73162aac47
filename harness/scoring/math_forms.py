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
- Numbers below 1e-3 are equal when they agree to a relative 1e-4, either way: Math-Verify's 6-decimal
  rounding would call 1/360000 and 2.7778e-6 different (MATH's grader uses the tolerance only to
  reject, e.g. 1e-8 against 2e-8).
- Hyperbolic functions are compared through exponentials (`\\sinh(at)/a` = `(e^{at}-e^{-at})/(2a)`).
- For Minerva (university courses): an unbased `\\log` is the natural log, where Math-Verify reads base 10,
  and derivatives are compared whatever their notation (x', \\dot{x}, \\frac{dx}{dt}; x(t) is x), so that
  a differential equation written another way, or multiplied through, still matches.

Several answers (OlympiadBench's `is_multiple_answer`) are compared as sets by Math-Verify: "1 \\text{ and }
5" matches "5,1"; a missing or extra answer does not.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Any

from harness.scoring.math import (
    MATH_VERIFY_SETTINGS,
    TINY_REL_TOL,
    TINY_SCALE,
    compact,
    math_verify_timeout_s,
    parsed_equivalent,
    scientific_to_latex,
    score_free_form,
    tiny_numbers_equal,
)
from harness.scoring.math_notation import (
    canonical_derivatives,
    has_derivative,
    natural_log,
    without_percent,
    without_unit,
)
from harness.types import Completion, Grader, Problem, Score

# Math-Verify drops a unit only at the end of an answer, after a letter, a brace or a degree sign.
_MAY_END_IN_UNIT = re.compile(r"[a-zA-Z}\u00b0]\s*$")
_RELATION = re.compile(r"<|>|\\[lg]eq?(?![a-z])|\\[lg]eqslant")
# How LaTeX parsing names canonical_derivatives' symbols: D_{2vo} becomes d_{2vo}.
_DERIVATIVE_SYMBOL = re.compile(r"d_\{?\d([a-z0-9]+)\}?")
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
    parsed = tuple(parse(boxed, extraction_config=[config], parsing_timeout=timeout_s))
    if not _has_expression(parsed) and answer.count("=") == 1:
        # "name = value" whose name LaTeX cannot read ("m_{\max }=n^{2}-n-1"): the value is the answer.
        return _parse_anchored(answer.split("=")[1], drop_units, timeout_s)
    return parsed


def _has_expression(parsed: tuple[Any, ...]) -> bool:
    return any(not isinstance(item, str) for item in parsed)


@lru_cache(maxsize=4096)
def _parse_gold_literally(gold: str, timeout_s: int | None) -> tuple[Any, ...]:
    return _parse_anchored(gold, False, timeout_s)


def _readings(gold: str, predicted: str, unit: str | None, derivatives: bool) -> list[tuple[str, str]]:
    """The (gold, prediction) pairs worth comparing: as written, without the declared unit, with percent
    signs dropped from both sides, and with derivatives in one notation."""
    predictions = [predicted]
    if unit and (bare := without_unit(predicted, unit)) != predicted:
        predictions.append(bare)
    pairs = [(gold, p) for p in predictions]
    pairs += [(without_percent(gold), without_percent(p)) for p in predictions]
    if derivatives and (has_derivative(gold) or has_derivative(predicted)):
        # Written as parsed, x' is x**prime: only the canonical notation compares derivatives at all,
        # and comparing the raw forms costs Math-Verify's timeout on equations.
        pairs = [(canonical_derivatives(g), canonical_derivatives(p)) for g, p in pairs]
    return list(dict.fromkeys(pairs))


def _through_exponentials(parsed: tuple[Any, ...]) -> tuple[Any, ...]:
    import sympy

    return tuple(
        item.rewrite(sympy.exp) if isinstance(item, sympy.Expr) and not isinstance(item, sympy.Set) else item
        for item in parsed
    )


def _has_hyperbolic(*texts: str) -> bool:
    return any(name in text for text in texts for name in _HYPERBOLIC)


def forms_equivalent(gold: str, predicted: str, *, unit: str | None = None, science: bool = False) -> bool:
    """Whether `predicted` means the same as `gold` under the readings in the module notes; `science`
    adds Minerva's: unbased log is ln, derivatives in any notation."""
    if science:
        gold, predicted = natural_log(gold), natural_log(predicted)
    timeout_s = math_verify_timeout_s()
    for gold_text, predicted_text in _readings(gold, predicted, unit, derivatives=science):
        if compact(gold_text) == compact(predicted_text):
            return True
        gold_parsed = _parse_gold_literally(gold_text, timeout_s)
        literal = _parse_anchored(predicted_text, False, timeout_s)
        readings = [literal]
        if _MAY_END_IN_UNIT.search(predicted_text):
            without_units = _parse_anchored(predicted_text, True, timeout_s)
            if not _same_reading(literal, without_units):
                readings.append(without_units)
        for predicted_parsed in readings:
            if _parsed_forms_equal(gold_parsed, predicted_parsed, gold_text, predicted_text, timeout_s):
                return True
    return False


def _same_reading(first: tuple[Any, ...], second: tuple[Any, ...]) -> bool:
    return [str(item) for item in first[:1]] == [str(item) for item in second[:1]]


def _parsed_forms_equal(
    gold: tuple[Any, ...],
    predicted: tuple[Any, ...],
    gold_text: str,
    predicted_text: str,
    timeout_s: int | None,
) -> bool:
    if gold and predicted and (tiny := tiny_numbers_equal(gold[0], predicted[0])) is not None:
        return tiny  # below 1e-3 Math-Verify's 6-decimal rounding cannot tell, either way
    # Comparing a set with a relation only adds matches, so it replaces the plain comparison when the
    # prediction states one.
    relation = bool(_RELATION.search(predicted_text))
    if parsed_equivalent(gold, predicted, timeout_s, allow_set_relation_comp=relation):
        return True
    if _has_hyperbolic(gold_text, predicted_text) and _exponentials_equal(gold, predicted, timeout_s):
        return True
    return _differential_equations_scaled(gold, predicted)


def _by_name(expression: Any) -> Any:
    # The two sides are parsed with different symbol assumptions (real or not); a symbol is its name.
    import sympy

    return expression.xreplace({symbol: sympy.Symbol(symbol.name) for symbol in expression.free_symbols})


def _differential_equations_scaled(gold: tuple[Any, ...], predicted: tuple[Any, ...]) -> bool:
    """Whether two differential equations (derivatives written D_{1x} by `canonical_derivatives`) differ
    only by a factor made of constants: `LC v_o'' + v_o = v_i` against `v_o'' + v_o/(LC) = v_i/(LC)`.

    The factor may hold no Add and none of the differentiated variables, so multiplying through by an
    unknown (which adds solutions) does not count.
    """
    import sympy

    if not (
        gold
        and predicted
        and isinstance(gold[0], sympy.Equality)
        and isinstance(predicted[0], sympy.Equality)
    ):
        return False
    matches = [_DERIVATIVE_SYMBOL.fullmatch(symbol.name) for symbol in gold[0].free_symbols]
    derivatives = {match.group(0) for match in matches if match}
    if not derivatives:
        return False
    # Neither a derivative nor a differentiated variable (d_{2vo} differentiates v_o) may be in the factor.
    forbidden = {_plain_name(name) for name in derivatives} | {match.group(1) for match in matches if match}
    try:
        gold_side, difference = (_by_name(e.lhs - e.rhs) for e in (gold[0], predicted[0]))
        if difference == 0:
            return False
        factor = sympy.simplify(gold_side / difference)
    except Exception:  # sympy raises assorted errors on exotic expressions; then they differ
        return False
    names = {_plain_name(symbol.name) for symbol in factor.free_symbols}
    return factor != 0 and not factor.has(sympy.Add) and not names & forbidden


def _plain_name(name: str) -> str:
    return re.sub(r"[_{}\\]", "", name)


def _exponentials_equal(gold: tuple[Any, ...], predicted: tuple[Any, ...], timeout_s: int | None) -> bool:
    try:
        gold, predicted = _through_exponentials(gold), _through_exponentials(predicted)
    except Exception:  # sympy's rewrite raises assorted errors on exotic expressions; then they differ
        return False
    return parsed_equivalent(gold, predicted, timeout_s)


def score_minerva(problem: Problem, completion: Completion) -> Score:
    """Grade a Minerva Math answer (see the module notes; unbased `\\log` is ln)."""
    return score_free_form(problem, completion, partial(forms_equivalent, science=True), "score_minerva")


def score_olympiad(problem: Problem, completion: Completion) -> Score:
    """Grade an OlympiadBench answer, with the unit the problem's `unit` field names."""
    unit = problem.meta.get("unit")
    equivalent = partial(forms_equivalent, unit=unit if isinstance(unit, str) else None)
    return score_free_form(problem, completion, equivalent, "score_olympiad")


_READINGS = {
    "gold": "literal (no unit words dropped), anchored (no fragment fallback)",
    "prediction": "literal, then with units dropped",
    "unreadable_name": "'name = value' compared by its value",
    "tiny_numbers": f"below {TINY_SCALE:g}: relative {TINY_REL_TOL:g}, both ways",
    "percent_sign": "optional",
    "hyperbolic": "compared through exp",
    "interval_as_inequality": True,
    "several_answers": "unordered set, all required",
}
MINERVA_GRADER = Grader(
    name="minerva-answer",
    version="1",
    score=score_minerva,
    settings={
        **MATH_VERIFY_SETTINGS,
        **_READINGS,
        "unbased_log": "natural",
        "derivatives": "any notation; equations equal up to a factor of constants",
    },
)
OLYMPIAD_GRADER = Grader(
    name="olympiad-answer",
    version="1",
    score=score_olympiad,
    settings={
        **MATH_VERIFY_SETTINGS,
        **_READINGS,
        "unit": "the problem's unit field may follow the number",
    },
)
