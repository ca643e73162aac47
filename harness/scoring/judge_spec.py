"""What an assert-style test program takes from the solution, decided from the dataset, not the solution.

The judge runs a problem's test code with stand-ins for the names the solution defines (its
`remote_names`); every other name resolves in the judge (builtins, modules, the problem's own helper
code). That list must come from the problem, never from the candidate: a candidate that could say
"I define no `gcd`" would have the tests check `math.gcd` instead of its own code.
"""

from __future__ import annotations

import ast
import builtins
import symtable
import sys
from typing import Any


def free_names(program: str) -> set[str]:
    """Names `program` reads from module scope (in any function too) but never binds there."""
    table = symtable.symtable(program, "<tests>", "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    used: set[str] = set()
    stack = [table]
    while stack:
        scope = stack.pop()
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (scope.get_type() == "module" or symbol.is_global()):
                used.add(symbol.get_name())
        stack.extend(scope.get_children())
    return used - bound


def defined_names(code: str) -> set[str]:
    """Top-level functions, classes and variables of `code` (not its imports: the judge has modules)."""
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def spec(
    program: str, reference_code: str | None = None, context: str = "", entry_points: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The judge spec of a problem: `remote_names` and the `context` code the tests rely on.

    With a reference solution (MBPP), the remote names are the test's free names the reference
    defines; with `entry_points` (HumanEval), exactly those; otherwise see `derive_spec`.
    """
    if entry_points:
        remote = set(entry_points)
    elif reference_code is not None:
        remote = free_names(program) & defined_names(reference_code)
    else:
        return derive_spec(program, context)
    return {"remote_names": sorted(remote), "context": context}


def derive_spec(program: str, context: str = "") -> dict[str, Any]:
    """For a problem without a reference: every free name of the tests that is not a builtin or a module.

    Names of the LiveCodeBench prelude (`gcd`, `Counter`, ...) stay remote: they are looked up in the
    candidate's namespace, as they would have been when the tests ran there.
    """
    try:
        names = free_names(program)
    except SyntaxError:
        return {"remote_names": [], "context": context}
    known = set(dir(builtins)) | set(sys.stdlib_module_names)
    defined_in_context = defined_names(context) if context else set()
    return {"remote_names": sorted(names - known - defined_in_context), "context": context}
