"""LiveCodeBench code generation (the `code_generation_lite` rows), graded as LCB does.

Releases are cumulative and differ only by how far their contest window reaches, so the task loads every
release file and `select` keeps the requested release's window (and an optional date window inside it).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from harness.scoring.code_grader import CODE_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

# Last contest date (inclusive) of each release. v1-v5 were read off the release_v5 rows in shared/data
# (400/511/612/713/880 problems); the v6 date is LCB's announced window end and is not checked here.
# Releases share boundary days (two v2/v3 problems are both dated 2024-05-25), so a date window can keep
# one problem more than LCB's file for that release; release_v1 uses the rows' in_release_v1 flag if set.
RELEASE_END = {
    "release_v1": "2024-03-02",
    "release_v2": "2024-05-25",
    "release_v3": "2024-08-04",
    "release_v4": "2024-09-28",
    "release_v5": "2025-01-04",
    "release_v6": "2025-04-06",
}

# Problems LiveCodeBench lists as broken in ERRATA.md (LiveCodeBench/LiveCodeBench @ 6ebcdda4):
# outputs with several accepted answers graded against one, interactive problems, and wrong tests.
# LeetCode entries are named by slug (question_title), AtCoder ones by question_id.
ERRATA = frozenset(
    {
        "abc311_c", "abc326_d", "abc327_b", "abc333_e", "abc343_e", "abc362_c",
        "find-words-containing-character", "find-the-peaks", "generate-binary-strings-without-adjacent-zeros",
        "abc337_e", "abc355_e",
        "abc350_c", "apply-operations-to-make-string-empty", "most-frequent-ids",
    }
)  # fmt: skip

STDIN_FORMAT = (
    "Read the input from standard input and write the answer to standard output; do not test on the "
    "sample inputs yourself. Give your program as one Python code block:\n```python\n# your code\n```"
)
STARTER_FORMAT = (
    "Complete the following starter code and give the whole solution as one Python code block:\n"
    "```python\n{starter}\n```"
)
PROMPT_TEMPLATE = (
    "Solve the programming problem below with a correct Python 3 program that passes all of its tests.\n\n"
    "{problem}"
)


class _NoObjectsUnpickler(pickle.Unpickler):
    """Reads pickles made only of strings, bytes, lists and dicts: any class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: test data must be plain values")


def decode_private_tests(blob: str | None, problem_id: str) -> list[dict[str, Any]]:
    """LCB stores private tests as base64 -> zlib -> pickle -> JSON text (or plain JSON in old rows)."""
    if not blob:
        return []
    try:
        return list(json.loads(blob))
    except (json.JSONDecodeError, TypeError):
        pass
    try:
        payload = _NoObjectsUnpickler(io.BytesIO(zlib.decompress(base64.b64decode(blob)))).load()
        if isinstance(payload, bytes):
            payload = payload.decode()
        tests = json.loads(payload) if isinstance(payload, str) else payload
    except Exception as err:
        raise ValueError(
            f"livecodebench problem {problem_id}: private_test_cases is not base64/zlib/pickle of JSON "
            f"plain data ({type(err).__name__}: {err}); re-download the dataset row"
        ) from None
    if not isinstance(tests, list):
        raise ValueError(
            f"livecodebench problem {problem_id}: private tests decode to {type(tests).__name__}"
        )
    return tests


def _json_field(row: Mapping[str, Any], name: str, default: Any) -> Any:
    value = row.get(name)
    if value is None or value == "":
        return default
    return json.loads(value) if isinstance(value, str) else value


def _statement(row: Mapping[str, Any]) -> str:
    starter = str(row.get("starter_code") or "").rstrip()
    fmt = STARTER_FORMAT.format(starter=starter) if starter else STDIN_FORMAT
    return f"{row['question_content'].strip()}\n\n{fmt}"


def to_problem(row: Mapping[str, Any], index: int) -> Problem:
    problem_id = str(row["question_id"])
    public = _json_field(row, "public_test_cases", [])
    tests = [*public, *decode_private_tests(row.get("private_test_cases"), problem_id)]
    metadata = _json_field(row, "metadata", {})
    func_name = metadata.get("func_name") or row.get("func_name_from_starter_code")
    meta = {
        "title": row.get("question_title"),
        "platform": row.get("platform"),
        "contest_id": row.get("contest_id"),
        "contest_date": str(row.get("contest_date") or ""),
        "difficulty": row.get("difficulty"),
        "func_name": func_name,
        "in_release_v1": row.get("in_release_v1"),
    }
    normalised = tuple(
        {"input": t["input"], "output": t["output"], "testtype": t.get("testtype", "stdin")} for t in tests
    )
    return Problem(id=problem_id, prompt=_statement(row), tests=normalised or None, meta=meta)


def _in_release(problem: Problem, release: str) -> bool:
    if release == "release_v1" and problem.meta.get("in_release_v1") is not None:
        return bool(problem.meta["in_release_v1"])  # the date alone cannot split 2024-03-02
    return str(problem.meta.get("contest_date", ""))[:10] <= RELEASE_END[release]


def select(problems: Sequence[Problem], options: Mapping[str, Any]) -> Sequence[Problem]:
    """Keep one release's problems, inside [start_date, end_date], without the errata unless asked."""
    release = options.get("release", "release_v5")
    if release not in RELEASE_END:
        raise ValueError(f"livecodebench option release={release!r}: use one of {', '.join(RELEASE_END)}")
    start, end = options.get("start_date"), options.get("end_date")
    kept = []
    for problem in problems:
        date = str(problem.meta.get("contest_date", ""))[:10]
        if not _in_release(problem, release) or (start and date < str(start)) or (end and date > str(end)):
            continue
        if options.get("exclude_errata", True) and (
            problem.id in ERRATA or problem.meta.get("title") in ERRATA
        ):
            continue
        kept.append(problem)
    return kept


LIVECODEBENCH = TaskSpec(
    name="livecodebench",
    version="1",
    description="LiveCodeBench code generation (LeetCode, AtCoder, Codeforces), pass@1 on hidden tests",
    source=DatasetSource(
        hub_id="livecodebench/code_generation_lite", split="train", data_files="test*.jsonl"
    ),
    to_problem=to_problem,
    prompt_template=PROMPT_TEMPLATE,
    grader=CODE_GRADER,
    defaults={"max_new_tokens": 4096},
    options={"release": "release_v5", "start_date": None, "end_date": None, "exclude_errata": True},
    select=select,
)

TASKS = [LIVECODEBENCH]
