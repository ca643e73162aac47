"""Rewrites of answer notation that LaTeX parsing gets wrong: pure string functions, no sympy.

Used by the Minerva and OlympiadBench graders (`math_forms`) to put a gold and an answer in the same
notation before Math-Verify compares them: units and percent signs, the natural log, derivatives.
"""

from __future__ import annotations

import re
from functools import partial

# `\log` with no `_base` right after it.
_UNBASED_LOG = re.compile(r"\\log(?!\s*_)(?![a-zA-Z])")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*(?:\\%|%|percent)\s*\})\s*$")
# What is left of a unit once LaTeX decoration is gone: "\mathrm{~cm}^{2}" -> "cm2", "$cm^2$" -> "cm2".
_UNIT_DECORATION = re.compile(r"\\(?:text|mathrm|mbox|operatorname|,|;|!|\s)|[{}\s~$^]")

# A variable: one letter, or a Greek letter, with an optional subscript (x, v_{o}, v_o, \theta, x_0).
_VARIABLE = r"(?:\\[a-zA-Z]+|[a-zA-Z])(?:_\{[^{}]*\}|_[a-zA-Z0-9])?"
_OF_T = r"(?:\s*\(\s*[a-z]\s*\))?"  # an optional "(t)"
_SUBSCRIPT = r"(_\{[^{}]*\}|_[a-zA-Z0-9])?"  # after a dot: \dot{x}_{0} is the derivative of x at 0
_SECOND_DERIVATIVES = (
    re.compile(rf"\\frac\s*\{{\s*d\s*\^\s*\{{?\s*2\s*\}}?\s*({_VARIABLE}){_OF_T}\s*\}}\s*\{{\s*d\s*[a-z]\s*\^\s*\{{?\s*2\s*\}}?\s*\}}()"),
    re.compile(rf"\\ddot\s*\{{\s*({_VARIABLE})\s*\}}{_SUBSCRIPT}{_OF_T}"),
    re.compile(rf"({_VARIABLE})\s*(?:\^\s*\{{\s*\\prime\s*\\prime\s*\}}|'')(?!')(){_OF_T}"),
)  # fmt: skip
_FIRST_DERIVATIVES = (
    re.compile(rf"\\frac\s*\{{\s*d\s*({_VARIABLE}){_OF_T}\s*\}}\s*\{{\s*d\s*[a-z]\s*\}}()"),
    re.compile(rf"\\dot\s*\{{\s*({_VARIABLE})\s*\}}{_SUBSCRIPT}{_OF_T}"),
    re.compile(rf"({_VARIABLE})\s*(?:\^\s*\{{\s*\\prime\s*\}}|\^\s*\\prime|')(?!')(){_OF_T}"),
)  # fmt: skip
# A variable applied to the independent variable, x(t), written x; functions such as \sin(t) stay.
_APPLIED = re.compile(r"(\\[a-zA-Z]+|[a-zA-Z])((?:_\{[^{}]*\}|_[a-zA-Z0-9])?)\s*\(\s*t\s*\)")
_FUNCTIONS = frozenset(("sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "arcsin", "arccos",
                        "arctan", "exp", "ln", "log", "sqrt", "operatorname", "mathrm"))  # fmt: skip
_DERIVATIVE_HINT = re.compile(r"\\frac\s*\{\s*d|\\prime|'|\\dot|\\ddot")


def natural_log(answer: str) -> str:
    """`answer` with every unbased `\\log` written `\\ln`."""
    return _UNBASED_LOG.sub(r"\\ln", answer)


def without_percent(answer: str) -> str:
    """`answer` without a trailing percent sign ("17.5\\%" -> "17.5")."""
    return _PERCENT.sub("", answer).strip()


def has_percent(answer: str) -> bool:
    return bool(_PERCENT.search(answer))


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


def _derivative_symbol(order: int, match: re.Match[str]) -> str:
    # An opaque symbol per (order, variable), which LaTeX parsing reads as one name: D_{1vo} for v_o'.
    name = re.sub(r"[\\{}_\s]", "", match.group(1) + (match.group(2) or ""))
    return f" D_{{{order}{name}}} "


def _drop_argument(match: re.Match[str]) -> str:
    if match.group(1).lstrip("\\") in _FUNCTIONS:
        return match.group(0)
    return match.group(1) + match.group(2)


def has_derivative(answer: str) -> bool:
    return bool(_DERIVATIVE_HINT.search(answer))


def canonical_derivatives(answer: str) -> str:
    """`answer` with derivatives in one notation and x(t) written x.

    x', x^{\\prime}, \\dot{x}, \\frac{dx}{dt} and \\frac{d x(t)}{d t} all become the symbol D_{1x} (second
    derivatives D_{2x}), so that an equation written with one notation compares with another; LaTeX
    parsing otherwise reads x' as x**prime and dx as d*x or a symbol dx, depending on a space.
    """
    for order, patterns in ((2, _SECOND_DERIVATIVES), (1, _FIRST_DERIVATIVES)):
        for pattern in patterns:
            answer = pattern.sub(partial(_derivative_symbol, order), answer)
    return _APPLIED.sub(_drop_argument, answer)
