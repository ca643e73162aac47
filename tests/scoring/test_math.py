"""Golden table for the math graders: each row names the extracted answer and verdict it must give."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.scoring.math import (
    AIME_GRADER,
    GSM8K_GRADER,
    MATH_GRADER,
    score_aime,
    score_gsm8k,
    score_math,
)
from harness.scoring.math_extract import extract_answer, strip_reasoning
from harness.types import Completion, FinishReason, Problem, Score, Scorer, Verdict

REPO = Path(__file__).resolve().parents[2]
C, W, N, T = Verdict.CORRECT, Verdict.WRONG, Verdict.NO_ANSWER, Verdict.TRUNCATED


def grade(
    scorer: Scorer, gold: str, text: str, finish: FinishReason = "stop", reasoning: str | None = None
) -> Score:
    problem = Problem(id="p1", prompt="?", answer=gold)
    completion = Completion("t", "p1", 3, text, output_tokens=50, finish_reason=finish, reasoning=reasoning)
    return scorer(problem, completion)


AIME_CASES = [
    ("boxed", "25", r"So the total is \boxed{25}.", "stop", "25", C),
    ("leading-zeros", "25", r"\boxed{025}", "stop", "25", C),
    ("last-box-wins", "25", r"First \boxed{7}, but correcting: \boxed{25}", "stop", "25", C),
    ("nested-box-innermost", "25", r"\boxed{\boxed{25}}", "stop", "25", C),
    ("empty-box-skipped", "25", r"\boxed{25} then \boxed{}", "stop", "25", C),
    ("cut-off-box-skipped", "25", r"\boxed{25} wait, actually \boxed{2", "length", "25", C),
    ("fbox", "116", r"\fbox{116}", "stop", "116", C),
    ("bare-boxed-token", "5", r"Hence $\boxed 5$.", "stop", "5", C),
    ("boxed-text", "116", r"\boxed{\text{116}}", "stop", "116", C),
    ("dollar-wrapped-box", "25", r"$\boxed{25}$.", "stop", "25", C),
    ("equation-rhs", "116", r"\boxed{m+n = 116}", "stop", "116", C),
    ("assignment-rhs", "7", r"\boxed{p = 7}", "stop", "7", C),
    ("phrase-equation", "116", "The final answer is $m+n=116$.", "stop", "116", C),
    ("phrase-bold", "204", "**Final Answer:** 204", "stop", "204", C),
    ("answer-colon-zeros", "33", "Answer: 033", "stop", "33", C),
    ("answer-next-line", "33", "Final answer:\n\n  33\n", "stop", "33", C),
    ("integer-float", "25", r"\boxed{25.0}", "stop", "25", C),
    ("thousands-not-one", "1", r"\boxed{1,000}", "stop", "1000", W),
    ("out-of-range", "0", r"\boxed{1000}", "stop", "1000", W),
    ("negative", "5", r"\boxed{-5}", "stop", "-5", W),
    ("fraction-is-wrong", "1", r"\boxed{\frac{1}{2}}", "stop", r"\frac{1}{2}", W),
    ("think-box-ignored", "25", r"<think>maybe \boxed{25}</think> I am not sure.", "stop", None, N),
    ("after-think", "25", r"<think>try \boxed{7}</think> So \boxed{25}", "stop", "25", C),
    ("lone-close-think", "25", r"it is 7?</think>The answer is 25.", "stop", "25", C),
    ("open-think-truncated", "25", r"<think>so far \boxed{25} but", "length", None, T),
    ("open-think-no-answer", "25", r"<think>so far \boxed{25} but", "stop", None, N),
    ("nothing-no-answer", "25", "I could not finish this problem.", "stop", None, N),
    ("nothing-truncated", "25", "Let me compute 2 + 2 and then", "length", None, T),
    ("length-but-boxed", "25", r"\boxed{25} and let me double check", "length", "25", C),
]


@pytest.mark.parametrize(
    ("gold", "text", "finish", "extracted", "verdict"),
    [pytest.param(*case[1:], id=case[0]) for case in AIME_CASES],
)
def test_aime_golden(gold: str, text: str, finish: FinishReason, extracted: str | None, verdict: Verdict):
    score = grade(score_aime, gold, text, finish)
    assert (score.extracted, score.verdict) == (extracted, verdict)
    assert (score.problem_id, score.sample_index) == ("p1", 3)


MATH_CASES = [
    ("fraction-vs-decimal", r"\frac{1}{2}", r"\boxed{0.5}", "stop", "0.5", C),
    ("dfrac-vs-frac12", r"\frac12", r"\boxed{\dfrac{1}{2}}", "stop", r"\dfrac{1}{2}", C),
    ("other-fraction", r"\frac{1}{2}", r"\boxed{\frac{1}{3}}", "stop", r"\frac{1}{3}", W),
    ("radical", r"2\sqrt{2}", r"\boxed{\sqrt{8}}", "stop", r"\sqrt{8}", C),
    ("wrong-radical", r"2\sqrt{2}", r"\boxed{2\sqrt{3}}", "stop", r"2\sqrt{3}", W),
    ("interval", "[1,2)", r"\boxed{[1, 2)}", "stop", "[1, 2)", C),
    ("interval-ends-differ", "[1,2)", r"\boxed{(1, 2)}", "stop", "(1, 2)", W),
    (
        "interval-left-right",
        r"(-\infty, 3]",
        r"\boxed{\left(-\infty, 3\right]}",
        "stop",
        r"\left(-\infty, 3\right]",
        C,
    ),
    ("set-order-free", r"\{1,2\}", r"\boxed{\{2, 1\}}", "stop", r"\{2, 1\}", C),
    ("tuple", "(3,4,5)", r"\boxed{(3, 4, 5)}", "stop", "(3, 4, 5)", C),
    ("tuple-order-matters", "(3,4,5)", r"\boxed{(5, 4, 3)}", "stop", "(5, 4, 3)", W),
    ("degrees", r"30^\circ", r"\boxed{30}", "stop", "30", C),
    ("text-answer", r"\text{Monday}", r"\boxed{\text{Monday}}", "stop", r"\text{Monday}", C),
    ("text-answer-wrong", r"\text{Monday}", r"\boxed{\text{Tuesday}}", "stop", r"\text{Tuesday}", W),
    ("thousands-latex-sep", r"10{,}000", r"\boxed{10000}", "stop", "10000", C),
    ("thousands-comma", "1000", r"\boxed{1,000}", "stop", "1,000", C),
    ("equation-answer", "5", r"\boxed{x = 5}", "stop", "x = 5", C),
    ("expanded-polynomial", "x^2+2x+1", r"\boxed{(x+1)^2}", "stop", "(x+1)^2", C),
    ("pi-not-decimal", r"\pi", r"\boxed{3.14}", "stop", "3.14", W),
    ("unit-stripped", "12", "The answer is: 12 cm.", "stop", "12 cm", C),
    (
        "phrase-dollar-fraction",
        "0.75",
        r"The final answer is $\frac{3}{4}$. I hope it is correct.",
        "stop",
        r"\frac{3}{4}",
        C,
    ),
    ("and-joined-list", "5,1", r"\boxed{1 \text{ and } 5}", "stop", r"1 \text{ and } 5", C),
    ("scientific-gold", "4.5e33", r"\boxed{4.5 \times 10^{33}}", "stop", r"4.5 \times 10^{33}", C),
    ("tiny-numbers-differ", "1e-8", r"\boxed{2 \times 10^{-8}}", "stop", r"2 \times 10^{-8}", W),
    ("tiny-digits-differ", "1.325e-27", r"\boxed{1.32 \times 10^{-27}}", "stop", r"1.32 \times 10^{-27}", W),
    (
        "matrix",
        r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}",
        r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}",
        "stop",
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        C,
    ),
    ("set-braces-in-box", r"\{3\}", r"\boxed{\{3\}} and more text", "stop", r"\{3\}", C),
    ("math-no-answer", "5", "The value cannot be determined from this.", "stop", None, N),
    ("math-truncated", "5", "We expand the product and get", "length", None, T),
]


@pytest.mark.parametrize(
    ("gold", "text", "finish", "extracted", "verdict"),
    [pytest.param(*case[1:], id=case[0]) for case in MATH_CASES],
)
def test_math_golden(gold: str, text: str, finish: FinishReason, extracted: str | None, verdict: Verdict):
    score = grade(score_math, gold, text, finish)
    assert (score.extracted, score.verdict) == (extracted, verdict)


GSM8K_CASES = [
    ("model-solution-last-number", "18", "13 * 2 = $<<13*2=26>>26\nA: 26", "stop", "26", W),
    ("hash-line", "1,234", "She has 1234 in total.\n#### 1234", "stop", "1234", C),
    ("hash-line-beats-last-number", "72", "#### 72\nThat took 3 steps.", "stop", "72", C),
    ("dollar-last-number", "18", "She makes $18 every day.", "stop", "18", C),
    ("trailing-comma-thousands", "1234", "It costs 1,234, which is a lot", "stop", "1,234", C),
    ("phrase-with-unit", "18", "The answer is 18 dollars.", "stop", "18 dollars", C),
    ("phrase-wrong-unit", "18", "The answer is 20 dollars.", "stop", "20 dollars", W),
    ("equation-number", "18", r"\boxed{x = 18}", "stop", "x = 18", C),
    ("two-numbers-go-to-math-verify", "18", r"\boxed{\frac{36}{2}}", "stop", r"\frac{36}{2}", C),
    ("boxed-first", "18", r"\boxed{18} after 20 minutes", "stop", "18", C),
    ("decimal-zeros", "18", "The answer is 18.00", "stop", "18.00", C),
    ("negative-number", "-5", "The change is -5", "stop", "-5", C),
    ("no-number", "18", "I am not sure how to do this.", "stop", None, N),
    ("truncated-but-number", "18", "First, 3 eggs", "length", "3", W),
]


@pytest.mark.parametrize(
    ("gold", "text", "finish", "extracted", "verdict"),
    [pytest.param(*case[1:], id=case[0]) for case in GSM8K_CASES],
)
def test_gsm8k_golden(gold: str, text: str, finish: FinishReason, extracted: str | None, verdict: Verdict):
    score = grade(score_gsm8k, gold, text, finish)
    assert (score.extracted, score.verdict) == (extracted, verdict)


def test_golden_table_is_large_enough():
    assert len(AIME_CASES) + len(MATH_CASES) + len(GSM8K_CASES) >= 60


def test_reasoning_field_means_text_is_graded_as_is():
    # The engine split reasoning out already; a box inside `reasoning` must not count.
    score = grade(score_aime, "25", "The answer is 25.", reasoning=r"maybe \boxed{3}")
    assert (score.extracted, score.verdict) == ("25", C)
    # With reasoning split out, a stray "<think>" in the text is not an unclosed block.
    score = grade(score_aime, "25", r"<think> \boxed{25}", reasoning="done")
    assert score.verdict is C


def test_strip_reasoning():
    assert strip_reasoning("<think>a</think>b<think>c</think> d") == " d"
    assert strip_reasoning("no think at all") == "no think at all"
    assert strip_reasoning("<think>never closed") is None
    assert strip_reasoning("<think>a</think> then <think>again") is None


def test_extract_answer_uses_fallback_only_when_nothing_else_found():
    calls: list[str] = []

    def fallback(text: str) -> str | None:
        calls.append(text)
        return "42"

    assert extract_answer(r"\boxed{7}", fallback) == "7"
    assert calls == []
    assert extract_answer("nothing here", fallback) == "42"
    assert calls == ["nothing here"]
    assert extract_answer("nothing here") is None


def test_score_math_works_off_the_main_thread():
    # Math-Verify's signal.alarm timeout cannot run in a worker thread; the scorer must not crash there.
    results: list[Score] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(grade(score_math, r"\frac{1}{2}", r"\boxed{\frac{2}{4}}"))
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert errors == []
    assert [score.verdict for score in results] == [C]


def test_aime_gold_that_is_not_an_integer_is_reported_with_the_problem_id():
    with pytest.raises(ValueError, match=r"'p1'.*not an integer"):
        grade(score_aime, r"\frac{1}{2}", r"\boxed{1}")


def test_missing_gold_is_reported():
    problem = Problem(id="p9", prompt="?", answer=None)
    completion = Completion("t", "p9", 0, r"\boxed{1}", 5, "stop")
    with pytest.raises(ValueError, match="'p9' has no reference answer"):
        score_math(problem, completion)


def test_graders_are_named_versioned_and_wired():
    graders = {grader.name: grader for grader in (AIME_GRADER, MATH_GRADER, GSM8K_GRADER)}
    assert len(graders) == 3
    assert all(grader.version for grader in graders.values())
    assert AIME_GRADER.score is score_aime
    assert MATH_GRADER.score is score_math
    assert GSM8K_GRADER.score is score_gsm8k
    assert "math_verify" in MATH_GRADER.settings


def test_importing_the_scorers_pulls_in_no_heavy_libraries():
    code = (
        "import sys, harness.scoring.math, harness.scoring.math_forms, harness.tasks.amc, "
        "harness.tasks.minerva_math, harness.tasks.olympiadbench; "
        "print(sorted(m for m in ('torch', 'transformers', 'math_verify', 'sympy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
