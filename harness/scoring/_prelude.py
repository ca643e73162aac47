"""The imports LiveCodeBench prepends to every solution, so solutions may rely on them unimported.

Executed once per code runner (inside the sandbox) into the globals every solution and judge starts
from. No imports here: this file is also bound into the sandbox.
"""

PRELUDE_MODULES = (
    "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
    "statistics", "itertools", "functools", "operator", "io", "sys", "json",
)  # fmt: skip
PRELUDE = (
    "".join(f"from {m} import *\n" for m in PRELUDE_MODULES)
    + "from builtins import *\nfrom typing import *\n"
    + "".join(f"import {m}\n" for m in PRELUDE_MODULES)
    + "sys.setrecursionlimit(50000)\n"
)
