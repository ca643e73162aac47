"""Dataset loader for aime_bench.yaml (runs inside the lm-eval virtualenv, not the harness's)."""

from __future__ import annotations

from typing import Any


def load_problems(data_file: str | None = None, **_task_metadata: Any) -> Any:
    # lm-eval passes every metadata key (task version, model args, ...) as keyword arguments;
    # only data_file matters here.
    if not data_file:
        raise ValueError(
            "harness_aime_bench needs metadata data_file=<problems.jsonl>; "
            "run it through benchmarks/bench_lm_eval.py, which writes that file"
        )
    import datasets

    return datasets.load_dataset("json", data_files={"test": data_file})
