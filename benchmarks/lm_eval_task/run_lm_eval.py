"""Run aime_bench.yaml through lm-eval's `hf` backend and write what bench_lm_eval.py compares.

This runs inside the lm-eval virtualenv (benchmarks/.venv-lmeval), never the harness's, so it imports
nothing from `harness`. It is the Python-API form of

    lm_eval --model hf --model_args pretrained=<folder>,gguf_file=<file>,dtype=float32 \
        --tasks harness_aime_bench --include_path benchmarks/lm_eval_task --apply_chat_template \
        --batch_size 8 --log_samples --metadata '{"data_file": "<problems.jsonl>"}'

with two timers added around the model, which the CLI cannot give: the time inside `generate_until`
(prompt encoding, generate, decoding: the span the harness's generation_seconds covers) and the
time inside `model.generate` alone. Generated tokens are counted from the output ids (up to and
including the first EOS), the way the harness counts them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", required=True, help="path of the .gguf file")
    parser.add_argument("--data", required=True, help="problems JSONL written by bench_lm_eval.py")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import lm_eval
    import torch
    import transformers
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    gguf = Path(args.gguf)
    lm = HFLM(
        pretrained=str(gguf.parent),
        gguf_file=gguf.name,
        dtype="float32",
        device="cpu",
        batch_size=args.batch_size,
    )
    loaded_at = time.perf_counter()
    timer = _GenerationTimer(lm)
    task_dir = Path(__file__).resolve().parent
    manager = TaskManager(include_path=str(task_dir), metadata={"data_file": str(Path(args.data).resolve())})
    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=["harness_aime_bench"],
        task_manager=manager,
        apply_chat_template=True,
        log_samples=True,
        num_fewshot=0,
    )
    assert results is not None
    samples = [_sample(lm, row, timer) for row in results["samples"]["harness_aime_bench"]]
    report = {
        "versions": {
            "lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else _version("lm_eval"),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "torch_threads": torch.get_num_threads(),
        "load_seconds": round(loaded_at - STARTED, 3),
        "generate_until_seconds": round(timer.until_seconds, 3),
        "model_generate_seconds": round(timer.generate_seconds, 3),
        "seconds_in_process": round(time.perf_counter() - STARTED, 3),
        "samples": samples,
    }
    Path(args.out).write_text(json.dumps(report, indent=1))


class _GenerationTimer:
    """Wraps the model's generate paths on one HFLM instance to time them and keep the output ids."""

    def __init__(self, lm: Any) -> None:
        self.until_seconds = 0.0
        self.generate_seconds = 0.0
        self.generated: dict[tuple[int, ...], list[int]] = {}  # prompt ids -> generated ids (to EOS)
        config_eos = lm.model.generation_config.eos_token_id
        eos = config_eos if isinstance(config_eos, list) else [config_eos]
        self.eos_ids = {int(t) for t in [*eos, lm.eot_token_id] if t is not None}
        self._wrap(lm)

    def _wrap(self, lm: Any) -> None:
        until, generate = lm.generate_until, lm._model_generate

        def timed_until(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return until(*args, **kwargs)
            finally:
                self.until_seconds += time.perf_counter() - started

        def timed_generate(context: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            output = generate(context, *args, **kwargs)
            self.generate_seconds += time.perf_counter() - started
            self._keep(context, kwargs.get("attention_mask"), output)
            return output

        lm.generate_until, lm._model_generate = timed_until, timed_generate

    def _keep(self, context: Any, mask: Any, output: Any) -> None:
        width = context.shape[1]
        for row in range(context.shape[0]):
            ids = context[row] if mask is None else context[row][mask[row].bool()]
            new = output[row, width:].tolist()
            ends = [i + 1 for i, token in enumerate(new) if token in self.eos_ids]
            self.generated[tuple(ids.tolist())] = new[: ends[0]] if ends else new


def _sample(lm: Any, row: dict[str, Any], timer: _GenerationTimer) -> dict[str, Any]:
    context = _context(row["arguments"])
    context_ids = lm.tok_encode(context)
    generated = timer.generated.get(tuple(context_ids))
    return {
        "id": row["doc"]["id"],
        "context": context,
        "context_ids": context_ids,
        "response": row["resps"][0][0],
        "generated_ids": generated,
        "generated_tokens": None if generated is None else len(generated),
    }


def _context(arguments: Any) -> str:
    # The logged request arguments are a list of (context, gen_kwargs) in some lm-eval releases and
    # a {"gen_args_0": {"arg_0": context, ...}} mapping in others.
    if isinstance(arguments, dict):
        return str(arguments["gen_args_0"]["arg_0"])
    return str(arguments[0][0])


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
