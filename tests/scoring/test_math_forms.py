"""Golden table for the Minerva and OlympiadBench graders: units, several answers, intervals, scientific
notation, percentages; each row names the verdict it must give."""

from __future__ import annotations

import pytest

from harness.scoring.math import score_math
from harness.scoring.math_forms import (
    MINERVA_GRADER,
    OLYMPIAD_GRADER,
    score_minerva,
    score_olympiad,
)
from harness.scoring.math_notation import canonical_derivatives, without_percent, without_unit
from harness.types import Completion, Problem, Scorer, Verdict

C, W = Verdict.CORRECT, Verdict.WRONG


def verdict(scorer: Scorer, gold: str, answer: str, **meta: object) -> Verdict:
    problem = Problem(id="p", prompt="?", answer=gold, meta=meta)
    completion = Completion("t", "p", 0, f"so the answer is $\\boxed{{{answer}}}$.", 9, "stop")
    return scorer(problem, completion).verdict


MINERVA_CASES = [
    # Scientific notation: golds are written 4.5e33, answers 4.5 \times 10^{33}.
    ("e-notation", "4.5e33", r"4.5 \times 10^{33}", C),
    ("e-notation-negative", "1.24e-8", r"1.24 \times 10^{-8}", C),
    ("power-of-ten-only", "1e-8", "10^{-8}", C),
    ("e-notation-both", "2.55e-10", "2.55e-10", C),
    ("tiny-differ-in-third-digit", "1.325e-27", r"1.32 \times 10^{-27}", W),
    ("tiny-factor-two", "1e-8", r"2 \times 10^{-8}", W),
    ("tiny-exact-fraction", "2.7778e-6", r"\frac{1}{360000}", C),
    ("rounded-gold-more-digits", "0.192", "0.1918", W),  # as the published graders: 1e-4 relative
    # Units: outside the gold, allowed after the answer; inside the gold letters are variables.
    ("unit-after-number", "36", r"36 \mathrm{mL}", C),
    ("unit-text-after-number", "1.6", r"1.6 \text{ cm}", C),
    ("mass-variable-kept", r"\frac{37}{4} m", r"\frac{37m}{4}", C),
    ("mass-variable-dropped", r"\frac{37}{4} m", r"\frac{37}{4}", W),
    ("speed-of-light-dropped", r"\frac{1}{\sqrt{2}}c", r"\frac{1}{\sqrt{2}}", W),
    ("time-variable-kept", r"\frac{1}{m} t", r"\frac{t}{m}", C),
    # Functions: natural log, hyperbolic functions, rearranged equations.
    ("unbased-log-is-ln", r"\ln 2 + i\pi / 3", r"\log(2)+i\frac{\pi}{3}", C),
    ("log-ten-is-not-ln", r"\ln 2", r"\log_{10} 2", W),
    ("sinh-via-exp", r"\frac{1}{2a}(\exp{a*t} - \exp{-a*t})", r"\frac{\sinh(at)}{a}", C),
    ("cosh-via-exp", r"\frac{1}{2}(\exp{a*t} + \exp{-a*t})", r"\cosh(at)", C),
    ("cosh-wrong-factor", r"\frac{1}{2}(\exp{a*t} + \exp{-a*t})", r"2\cosh(at)", W),
    ("equation-rearranged", r"I \frac{d \omega}{d t}+2 B \omega=T",
     r"\frac{d\omega}{dt} = -\frac{2B}{I}\omega + \frac{T}{I}", C),
    # Differential equations: derivatives in any notation, rearranged or multiplied through.
    ("ode-prime-vs-leibniz", r"x^{\prime}+\frac{r}{V} x-r c=0", r"\frac{dx}{dt} + \frac{r}{V} x = r c", C),
    ("ode-multiplied-through", r"\frac{d^{2} v_{o}}{d t^{2}}+\frac{v_{o}}{L C}=\frac{v_{i}}{L C}",
     r"L C \frac{d^2 v_o}{dt^2} + v_o(t) = v_i(t)", C),
    ("ode-divided-through", r"m \frac{d v}{d t}+b v=f", r"\frac{dv}{dt} = -\frac{b}{m} v + \frac{1}{m} f", C),
    ("ode-function-of-t", r"\frac{d x}{d t}=k x-a", r"\frac{dx}{dt} = kx(t) - a", C),
    ("ode-multiplied-by-unknown", r"\frac{d^{2} v_{o}}{d t^{2}}+\frac{v_{o}}{L C}=\frac{v_{i}}{L C}",
     r"v_o \frac{d^2 v_o}{dt^2} + \frac{v_o^2}{LC} = \frac{v_o v_i}{LC}", W),
    ("ode-wrong-coefficient", r"x^{\prime}+\frac{r}{V} x-r c=0", r"\frac{dx}{dt} + \frac{1}{V}x = rc", W),
    ("ode-extra-parameter", r"y^{\prime}+r y-r x(t)=0", r"y' = \frac{r}{V} (x(t) - y(t))", W),
    # A gold LaTeX cannot parse is compared as text, never as a fragment of itself.
    ("unparsable-gold-fragment", r"\frac{1}{3} E_{1}+\frac{2}{3} E_{2}", r"\frac{2}{3}", W),
    ("unparsable-gold-verbatim", r"\frac{1}{3} E_{1}+\frac{2}{3} E_{2}",
     r"\frac{1}{3}E_{1}+\frac{2}{3}E_{2}", C),
    ("inverse-trig", r"\arcsin(10/13)", r"\arcsin{\left(\frac{1}{1.3}\right)}", C),
]  # fmt: skip


@pytest.mark.parametrize(
    ("gold", "answer", "expected"), [pytest.param(*c[1:], id=c[0]) for c in MINERVA_CASES]
)
def test_minerva_golden(gold: str, answer: str, expected: Verdict) -> None:
    assert verdict(score_minerva, gold, answer) == expected


OLYMPIAD_CASES = [
    # Several answers: any order, joined by commas or words; all of them and nothing else.
    ("list-reordered", "-6,-8,-10", "-10, -8, -6", {}, C),
    ("list-joined-and", "5,1", r"1 \text{ and } 5", {}, C),
    ("list-missing-one", r"10^{100},10^{1 / 100}", "10^{100}", {}, W),
    ("list-extra-one", "1,3", "1, 3, 5", {}, W),
    ("list-wrong-member", r"\frac{1}{3}, 1, 9", r"\frac{1}{3}, 1, \frac{1}{3}", {}, W),
    ("pairs-reordered", "(3,2),(-3,2),(3,-2),(-3,-2)", "(3, 2), (3, -2), (-3, 2), (-3, -2)", {}, C),
    ("pairs-joined-and", "(2,32), (8,18)", r"(2, 32) \text{ and } (8, 18)", {}, C),
    ("functions-joined-or", "f(x)=x,f(x)=-x", r"f(x) = x \text{ or } f(x) = -x", {}, C),
    ("function-missing-one", "f(x)=x,f(x)=2-x", "f(x) = x", {}, W),
    ("named-values", r"a=2, a=-6-4 \sqrt{2}", r"2 \text{ and } -6 - 4\sqrt{2}", {}, C),
    # Intervals, and inequalities describing them.
    ("inequality-for-interval", r"(-\infty,-5)", "k < -5", {}, C),
    ("inequality-wrong-bound", r"(-\infty,-5)", r"k \le -5", {}, W),
    ("half-open-interval", "(0,4]", r"0 < t \leq 4", {}, C),
    ("open-vs-half-open", "(0,4]", "(0,4)", {}, W),
    ("union-of-intervals", r"(-\sqrt{11},-2)\cup (\sqrt{11},9)", r"(\sqrt{11},9) \cup (-\sqrt{11},-2)", {},
     C),
    ("union-missing-point", r"(-\infty, 0) \cup\{1\}", "(-\\infty, 0)", {}, W),
    ("not-a-fragment-of-the-set", r"(-\infty, 0) \cup\{1\}", "0", {}, W),
    # Units from the problem's unit field, percentages with or without the sign.
    ("declared-unit-minutes", "45", r"45 \text{ minutes}", {"unit": "minute"}, C),
    ("declared-unit-km-h", r"\frac{600}{7}", r"\frac{600}{7} \mathrm{~km/h}", {"unit": "km/h"}, C),
    ("declared-unit-area", "166", r"166 \text{ cm}^2", {"unit": "$cm^2$"}, C),
    ("declared-unit-wrong-number", "45", r"50 \text{ minutes}", {"unit": "minute"}, W),
    ("percent-gold-bare-answer", "17.5%", "17.5", {}, C),
    ("percent-gold-fraction-answer", "17.5%", "0.175", {}, C),
    ("percent-gold-hundredfold", "17.5%", "1750", {}, W),
    ("percent-unit-answer-with-sign", "4.2", r"4.2\%", {"unit": "%"}, C),
    ("variable-not-a-unit", "6m", "6", {}, W),
    ("name-unparsable-value-compared", r"m_{\max }=n^{2}-n-1", "n^2-n-1", {}, C),
    ("expression", r"\frac{1}{2 n+2}", r"\frac{1}{2(n+1)}", {}, C),
]  # fmt: skip


@pytest.mark.parametrize(
    ("gold", "answer", "meta", "expected"), [pytest.param(*c[1:], id=c[0]) for c in OLYMPIAD_CASES]
)
def test_olympiad_golden(gold: str, answer: str, meta: dict, expected: Verdict) -> None:
    assert verdict(score_olympiad, gold, answer, **meta) == expected


def test_math_grader_reads_golds_with_units_dropped_the_new_graders_do_not() -> None:
    # Why the new tasks have their own graders: MATH's reading strips the mass m from this gold.
    assert verdict(score_math, r"\frac{37}{4} m", r"\frac{37}{4}") == C
    assert verdict(score_minerva, r"\frac{37}{4} m", r"\frac{37}{4}") == W


def test_unanswered_and_truncated_keep_their_verdicts() -> None:
    problem = Problem(id="p", prompt="?", answer="2")
    truncated = Completion("t", "p", 0, "Let me think about 2", 4096, "length")
    assert score_olympiad(problem, truncated).verdict == Verdict.TRUNCATED
    assert score_minerva(problem, Completion("t", "p", 0, "no idea", 9, "stop")).verdict == Verdict.NO_ANSWER


@pytest.mark.parametrize(
    ("answer", "unit", "bare"),
    [
        (r"45 \text{ minutes}", "minute", "45"),
        ("45 minutes", "minute", "45"),
        (r"\frac{600}{7} \mathrm{~km/h}", "km/h", r"\frac{600}{7}"),
        ("166 cm^{2}", "$cm^2$", "166"),
        ("2m", "m", "2m"),  # a unit starts after a space, brace, backslash or tilde
        ("45", "minute", "45"),
    ],
)
def test_without_unit(answer: str, unit: str, bare: str) -> None:
    assert without_unit(answer, unit) == bare


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (r"y^{\prime}+r y-r x(t)=0", " D_{1y} +r y-r x=0"),
        (r"\frac{d^2 v_o}{dt^2} + v_o(t)", " D_{2vo}  + v_o"),
        (r"\dot{x}_{0} \sin (\omega t)", " D_{1x0}  \\sin (\\omega t)"),
        (r"m \ddot{\theta}(t) = f(t) \sin(t)", "m  D_{2theta}  = f \\sin(t)"),
        ("x'' + x' = 0", " D_{2x}  +  D_{1x}  = 0"),
    ],
)
def test_canonical_derivatives(text: str, canonical: str) -> None:
    assert canonical_derivatives(text) == canonical


def test_without_percent() -> None:
    assert [without_percent(a) for a in (r"17.5\%", "8 \\%", "62.5%", r"3\text{ percent}", "5")] == [
        "17.5",
        "8",
        "62.5",
        "3",
        "5",
    ]


def test_graders_are_named_versioned_and_record_their_readings() -> None:
    assert (MINERVA_GRADER.name, MINERVA_GRADER.version, MINERVA_GRADER.score) == (
        "minerva-answer",
        "1",
        score_minerva,
    )
    assert (OLYMPIAD_GRADER.name, OLYMPIAD_GRADER.version, OLYMPIAD_GRADER.score) == (
        "olympiad-answer",
        "1",
        score_olympiad,
    )
    assert MINERVA_GRADER.settings["unbased_log"] == "natural"
    assert "unbased_log" not in OLYMPIAD_GRADER.settings
    assert "math_verify" in OLYMPIAD_GRADER.settings and OLYMPIAD_GRADER.settings["interval_as_inequality"]
