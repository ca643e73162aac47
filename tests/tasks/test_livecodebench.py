"""The LiveCodeBench task reads the shared rows, selects releases and errata, and decodes private tests."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest

from harness.tasks.livecodebench import ERRATA, LIVECODEBENCH, decode_private_tests, select, to_problem


def rows(shared_data: Path) -> list[dict]:
    path = shared_data / "livecodebench" / "lcb_release_v5_problems_no_private_tests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_become_problems_with_tests_and_func_names(shared_data: Path) -> None:
    problems = [to_problem(r, i) for i, r in enumerate(rows(shared_data))]
    by_id = {p.id: p for p in problems}
    assert len(problems) == 880
    leet = by_id["2777"]
    assert leet.meta["func_name"] == "distinctDifferenceArray"
    assert leet.tests and leet.tests[0]["testtype"] == "functional"
    assert "class Solution" in leet.prompt and "```python" in leet.prompt
    atcoder = by_id["abc301_a"]
    assert atcoder.tests and atcoder.tests[0] == {"input": "5\nTTAAT\n", "output": "T\n", "testtype": "stdin"}
    assert "standard input" in atcoder.prompt
    assert sum(1 for p in problems if p.tests) == 400  # public tests exist for release_v1 only


def test_select_release_dates_and_errata(shared_data: Path) -> None:
    problems = [to_problem(r, i) for i, r in enumerate(rows(shared_data))]
    keep_all = {"exclude_errata": False}
    assert len(select(problems, {**keep_all, "release": "release_v1"})) == 400
    assert len(select(problems, {**keep_all, "release": "release_v5"})) == 880
    # LCB's release_v2 has 511 problems, but two share its last contest day, so a date window keeps 512.
    assert len(select(problems, {**keep_all, "release": "release_v2"})) == 512
    v5 = select(problems, dict(LIVECODEBENCH.options))
    dropped = {p.id for p in problems} - {p.id for p in v5}
    assert "abc350_c" in dropped and "abc337_e" in dropped and len(dropped) == len(ERRATA)
    window = select(problems, {"release": "release_v5", "start_date": "2024-08-01", "end_date": "2024-08-31"})
    assert window and all("2024-08" in str(p.meta["contest_date"]) for p in window)
    with pytest.raises(ValueError, match="release_v9"):
        select(problems, {"release": "release_v9"})


def _encode(obj: object) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(obj))).decode()


def test_private_tests_decode_only_plain_data() -> None:
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_private_tests(_encode(json.dumps(tests)), "x") == tests
    assert decode_private_tests(None, "x") == []
    with pytest.raises(ValueError, match="problem evil"):
        decode_private_tests(_encode(Path("/etc")), "evil")  # a pickle that would build an object
