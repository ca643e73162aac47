"""Score files for the reporting tests: real files, written and validated by harness.results."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from harness.results import SampleRow, ScoreFile, provenance_now, score_file_name, write_score_file
from harness.scoring.metrics import compute_metrics, metrics_to_dict
from harness.types import Score, Verdict

PROTOCOL_A = {
    "hash": "aaaa1111aaaa1111",
    "task": {"name": "toy", "version": "1"},
    "data": {"content_hash": "c0ffee", "problem_count": 4, "options": {}},
    "prompt": {"template": "{problem}", "system_prompt": None},
    "sampling": {"temperature": 0.0, "top_p": 1.0, "n": 1, "max_new_tokens": 256},
    "grader": {"name": "exact", "version": "1", "settings": {}},
}
PROTOCOL_B = {
    **PROTOCOL_A,
    "hash": "bbbb2222bbbb2222",
    "sampling": {"temperature": 0.6, "top_p": 0.95, "n": 2, "max_new_tokens": 256},
}


def write_result(
    folder: Path,
    model: str,
    correct: list[list[bool]],
    protocol: dict = PROTOCOL_A,
    revision: str | None = "rev1",
    created_at: str = "2025-01-01T12:00:00Z",
    tokens_per_sample: int = 100,
    run_id: str = "run1",
    cut: Collection[tuple[int, int]] = (),
    cost: Mapping[str, Any] | None = None,
    task: str = "toy",
) -> Path:
    """A real score file for `model` where correct[p][i] says whether sample i of problem p is right;
    the (p, i) in `cut` hit max_new_tokens (256) and, when wrong, are judged truncated."""
    n = len(correct[0])
    ids = [f"p{i}" for i in range(len(correct))]
    rows = [
        SampleRow(pid, i, "text", None, "1" if ok else "2",
                  "correct" if ok else "truncated" if (p, i) in cut else "wrong", ok,
                  256 if (p, i) in cut else tokens_per_sample, "length" if (p, i) in cut else "stop",
                  None, 0.1)
        for p, (pid, row) in enumerate(zip(ids, correct, strict=True))
        for i, ok in enumerate(row)
    ]  # fmt: skip
    # The protocol's sizes follow the grid, as in a real run (the hash stays the fixture's).
    protocol = {**protocol, "data": {**protocol["data"], "problem_count": len(correct)},
                "sampling": {**protocol["sampling"], "n": n}}  # fmt: skip
    scores = [Score(r.problem_id, r.sample_index, Verdict(r.verdict), r.extracted) for r in rows]
    metrics = compute_metrics(scores, ids, n=n, bootstrap_resamples=500)
    name = score_file_name(model, task, run_id)
    record = ScoreFile(
        run_id=run_id,
        created_at=created_at,
        task={"name": task, "version": "1"},
        model={
            "name": model,
            "backend": "hf",
            "path": "/m",
            "revision": revision,
            "dtype": "float32",
            "device": "cpu",
            "engine": "transformers",
            "batch_size": 1,
            "chat_template_hash": None,
            "extra": {},
        },
        protocol=protocol,
        metrics=metrics_to_dict(metrics),
        counts=dict(metrics.verdict_counts),
        provenance=provenance_now(None),
        cost={
            "wall_seconds": 2.0,
            "generated_tokens": sum(r.output_tokens for r in rows),
            "tokens_per_second": 50.0,
            "generation_seconds": 2.0,
            **(cost or {}),
        },
        samples_file=name.removesuffix(".json") + ".samples.jsonl",
    )
    path = folder / name
    write_score_file(path, record, rows)
    return path


def write_sample_board(tmp_path: Path) -> Path:
    """Two models, two protocols of one task, an older and a second-revision file, and foreign files."""
    right, wrong = True, False
    write_result(tmp_path, "alpha", [[right], [right], [right], [wrong]], tokens_per_sample=100)
    write_result(tmp_path / "nested", "beta", [[right], [right], [right], [right]], tokens_per_sample=300)
    write_result(tmp_path, "alpha", [[right, wrong]] * 4, protocol=PROTOCOL_B, run_id="run2",
                 tokens_per_sample=200)  # fmt: skip
    # Same model and column as the first alpha file, but older and worse: must not be used.
    write_result(tmp_path, "alpha", [[wrong]] * 4, created_at="2024-06-01T00:00:00Z", run_id="old")
    # Another weight revision of alpha is another row, not merged into the first.
    write_result(tmp_path, "alpha", [[wrong]] * 4, revision="rev2", run_id="rev2run")
    (tmp_path / "package.json").write_text('{"name": "something else"}')
    (tmp_path / "broken.json").write_text('{"schema_version": 1, "run_id": "cut off')
    (tmp_path / ".journal").mkdir()
    (tmp_path / ".journal" / "run1.model.json").write_text('{"name": "alpha"}')
    return tmp_path
