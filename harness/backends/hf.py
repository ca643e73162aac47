"""The transformers backend: a local folder, hub id, GGUF file or built-in alias, decoded in batches.

Requests are grouped by sampling settings and sorted by prompt length. Each prompt is prefilled alone,
then up to batch_size rows are decoded together (hf_decode); each row's completion is yielded the moment
that row finishes, so the pipeline journals it before the rest of its batch is done, and the next
prompt takes the finished row's place at the next step (continuous batching), so no row idles while
prompts wait. Sampled requests draw from their own seeded generator (hf_sampling), so a sample does not
depend on which requests share its batch.

`options.deterministic` (default true on CPU, false on a GPU) makes greedy and seeded outputs
independent of how the requests are batched, sharded or resumed: each row attends over its own keys
only, and the backend checks at load time that the model's matrix products give a row the same bits
whatever the number of rows in the step (hf_invariance); where they agree only up to some row count it
decodes at most that many rows per step, and one row per forward pass where a real decode step differs.
`false` attends with one padded batch call instead: a row's bits then depend on its batch.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.utils import logging as transformers_logging

from harness.backends.base import BackendBase, BackendError, BackendSettingError
from harness.backends.hf_decode import Decoder, Row, row_loop_unsupported
from harness.backends.hf_generate import generate_batch
from harness.backends.hf_invariance import decode_step_matches, request_strict_blas, rows_invariant_up_to
from harness.backends.hf_rows import ROWWISE_ATTENTION
from harness.backends.hf_sampling import finished_text
from harness.backends.model_files import ensure_gguf_cache, read_cache_note, resolve_model
from harness.progress import library_progress_enabled
from harness.types import ChatMessage, Completion, FinishReason, ModelInfo, ModelSpec, Request, Sampling

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class _Prompt:
    request: Request
    ids: list[int]


class HFBackend(BackendBase):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.device = resolve_device(spec.device)  # first: a device this machine lacks is a config error
        self.deterministic = _deterministic_option(spec, self.device)
        if spec.dtype != "auto" and spec.dtype not in DTYPES:
            raise BackendSettingError(
                f"model {spec.name!r}: dtype {spec.dtype!r} is not supported by the hf backend; "
                f"use auto, {', '.join(DTYPES)}"
            )
        self.resolved = resolve_model(spec.path, spec.revision)
        self.extra: dict[str, Any] = {}
        self.model, self.tokenizer = self._load()
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.decode([self.eos_ids[0]])
        self.pad_id = int(self.tokenizer.pad_token_id)
        self.batch_size = _pick_batch_size(spec.batch_size, self.device, self.model)
        self.decoding = self._plan_decoding()
        # Continuous batching: a finished row's slot goes to the next prompt at once. False decodes static
        # batches (each runs until its last row ends), kept for benchmarks to compare against.
        self.refill = True

    def _load(self) -> tuple[Any, Any]:
        resolved, spec = self.resolved, self.spec
        if self.deterministic and self.device.type == "cpu":
            # Before anything touches MKL: it accepts this mode only before its first call.
            self.extra["mkl_cbwr"] = request_strict_blas()
        location, revision = resolved.location, spec.revision if resolved.kind == "hub" else None
        with _library_bars(library_progress_enabled()):
            if resolved.kind == "gguf":
                assert resolved.sha256 is not None
                cache = ensure_gguf_cache(Path(resolved.location), resolved.sha256)
                location = str(cache.folder)
            dtype: Any = DTYPES.get(spec.dtype, "auto")
            try:
                tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
                model: Any = AutoModelForCausalLM.from_pretrained(location, revision=revision, dtype=dtype)
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                raise BackendError(
                    f"model {spec.name!r}: transformers could not load {spec.path!r} ({resolved.kind}): "
                    f"{error}. Check the path or hub id and revision; hub ids need network access"
                ) from error
        model.to(self.device).eval()
        # Sampling is fully described by each Request; generation defaults shipped with a checkpoint
        # (temperature, repetition penalty, ...) must not leak into the protocol.
        base = model.generation_config
        model.generation_config = GenerationConfig(
            bos_token_id=base.bos_token_id, eos_token_id=base.eos_token_id, pad_token_id=base.pad_token_id
        )
        if resolved.kind == "gguf":
            note = read_cache_note(Path(location))
            quant = note.get("quantization", "unknown")
            self.extra["gguf_file"] = Path(resolved.location).name
            self.extra["quantization"] = f"{quant} dequantized to {_dtype_name(model.dtype)}"
        tokenizer.padding_side = "left"
        return model, tokenizer

    def _plan_decoding(self) -> DecodingPlan:
        """How batches are decoded, and (deterministic mode) how many rows may share a step."""
        unsupported = row_loop_unsupported(self.model)
        if unsupported is not None:
            cap = 1 if self.deterministic else None
            return DecodingPlan("generate", False, cap, self.deterministic, f"generate(): {unsupported}")
        if not self.deterministic:
            return DecodingPlan("rows", False, None, False, "padded batch attention, continuous batching")
        self.model.set_attn_implementation(ROWWISE_ATTENTION)
        rows = rows_invariant_up_to(self.model, self.batch_size)
        if rows > 1 and not decode_step_matches(self._probe_decoder, self._probe_rows(min(rows, 3))):
            rows = 1
        return DecodingPlan(
            "rows", True, rows, True, "per-row attention, per-row prefill, continuous batching"
        )

    def rows_per_step(self) -> int:
        """The most rows decoded together: batch_size, capped where more rows would change a row's bits."""
        cap = self.decoding.max_rows
        return self.batch_size if cap is None else min(self.batch_size, cap)

    def _probe_decoder(self) -> Decoder:
        return Decoder(self.model, Sampling(max_new_tokens=8), (), self._decode_many, rowwise=True)

    def _probe_rows(self, count: int) -> list[Row]:
        """Rows of random tokens, of different lengths, for the load-time decode-step check."""
        generator = torch.Generator().manual_seed(1)
        vocab = int(self.model.config.vocab_size)
        request = Request("probe", "probe", 0, (), Sampling(max_new_tokens=8), seed=0)
        return [
            Row(request, torch.randint(0, vocab, (3 + 4 * i,), generator=generator).tolist())
            for i in range(count)
        ]

    def info(self) -> ModelInfo:
        template = self.tokenizer.chat_template
        if template is not None and not isinstance(template, str):
            template = json.dumps(template, sort_keys=True)
        return ModelInfo(
            name=self.spec.name,
            backend="hf",
            path=self.spec.path,
            revision=self.resolved.fingerprint,
            dtype=_dtype_name(self.model.dtype),
            device=str(self.device),
            engine=f"transformers {transformers.__version__} / torch {torch.__version__}",
            batch_size=self.batch_size,
            chat_template_hash=hashlib.sha256(template.encode()).hexdigest()[:16] if template else None,
            extra={**self.extra, **self._determinism_record()},
        )

    def _determinism_record(self) -> dict[str, Any]:
        """What a row's output depends on besides its prompt, weights and sampling."""
        plan = self.decoding
        record: dict[str, Any] = {
            "deterministic": self.deterministic,
            "batch_invariant": plan.batch_invariant,
            "decoding": plan.how,
            "rows_per_step": self.rows_per_step(),
            "threads": torch.get_num_threads(),
        }
        if self.device.type == "cpu":
            record["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        depends = "weights, dtype, device and its kernels (engine versions, cpu_capability)"
        if not plan.batch_invariant:
            depends += ", and the other rows of its batch (batch_size, shards, where a run was resumed)"
        record["outputs_depend_on"] = depends
        return record

    def render(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Prompt token ids: the chat template when the tokenizer has one, else the contents joined."""
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                [{"role": m.role, "content": m.content} for m in messages],
                add_generation_prompt=True,
                tokenize=False,
            )
            ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            return ids
        plain: list[int] = self.tokenizer("\n\n".join(m.content for m in messages))["input_ids"]
        return plain

    def context_length(self) -> int | None:
        """The most positions the model attends to (its config's max_position_embeddings), if it says."""
        value = getattr(self.model.config, "max_position_embeddings", None)
        return value if isinstance(value, int) and value > 0 else None

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.render(messages))

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        groups: dict[tuple[Any, ...], list[_Prompt]] = {}
        for request in requests:
            s = request.sampling
            key: tuple[Any, ...] = (s.temperature if not s.greedy else 0.0, s.top_p, s.top_k, s.stop)
            if self.decoding.loop == "generate":  # the decode loop ends each row at its own max_new_tokens
                key += (s.max_new_tokens,)
            ids = self.render(request.messages)
            if not ids:
                raise BackendError(
                    f"task {request.task}, problem {request.problem_id}: the prompt renders to no tokens "
                    "(an empty prompt and a model without a chat template); check the task's data"
                )
            groups.setdefault(key, []).append(_Prompt(request, ids))
        rows = self.rows_per_step()
        for prompts in groups.values():
            prompts.sort(key=lambda p: len(p.ids), reverse=True)
            if self.decoding.loop == "generate":
                for start in range(0, len(prompts), rows):
                    batch = [(p.request, p.ids) for p in prompts[start : start + rows]]
                    yield from generate_batch(
                        self.model, batch, self.pad_id, self.eos_ids, self._decode_many, self.on_tokens
                    )
            else:
                yield from self._decode_group(prompts, rows)

    def _decode_group(self, prompts: Sequence[_Prompt], rows: int) -> Iterator[Completion]:
        """Up to `rows` prompts decoded together; each row's completion is yielded when that row ends, and
        (with `refill`) the next prompt takes its place at the next step."""
        decoder = Decoder(
            self.model, prompts[0].request.sampling, self.eos_ids, self._decode_many, self.decoding.rowwise
        )
        queue = deque(decoder.new_row(p.request, p.ids) for p in prompts)
        reporter = _TokenReporter(self.on_tokens)
        while queue or decoder.rows:
            if not decoder.rows:
                finished = decoder.admit([queue.popleft() for _ in range(min(rows, len(queue)))])
            else:
                finished = decoder.step(queue if self.refill else None)
            # Before handing rows over, so the progress bar never counts a finished row twice.
            reporter.rows_in_flight(decoder.rows, now=bool(finished))
            for row in finished:
                yield self._completion(row)

    def _completion(self, row: Row) -> Completion:
        r, stops = row.request, row.request.sampling.stop
        text, count, stopped = finished_text(
            row.tokens, row.stopped_at, self.eos_ids, stops, self._decode_many
        )
        reason: FinishReason = "stop" if stopped else "length"
        return Completion(r.task, r.problem_id, r.sample_index, text, count, reason, seconds=row.seconds)

    def _decode_many(self, rows: list[list[int]]) -> list[str]:
        decoded: list[str] = self.tokenizer.batch_decode(rows, skip_special_tokens=True)
        return decoded

    def close(self) -> None:
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


@dataclass(frozen=True)
class DecodingPlan:
    loop: str  # "rows" (hf_decode) or "generate" (transformers' generate(), for models the loop cannot run)
    rowwise: bool  # per-row attention (deterministic) rather than one padded batch call
    max_rows: int | None  # the most rows a step may hold without changing a row's bits (None: no limit)
    batch_invariant: bool  # a row's output does not depend on the other rows of its batch
    how: str  # for the model block


class _TokenReporter:
    """Sends the tokens of the rows in flight to a progress callback, at most every `every_s` seconds."""

    def __init__(self, report: Callable[[int], None] | None, every_s: float = 0.5) -> None:
        self.report = report
        self.every_s = every_s
        self._last = 0.0

    def rows_in_flight(self, rows: Sequence[Row], now: bool = False) -> None:
        clock = time.monotonic()
        if self.report is not None and (now or clock - self._last >= self.every_s):
            self._last = clock
            self.report(sum(len(row.tokens) for row in rows))


def _deterministic_option(spec: ModelSpec, device: torch.device) -> bool:
    """options.deterministic; unset, true on CPU (measured there: about 7% slower than padded attention)
    and false on a GPU, where per-row attention launches a kernel per row and nothing was measured."""
    unknown = sorted(set(spec.options) - {"deterministic"})
    if unknown:
        raise BackendSettingError(
            f"model.options.{unknown[0]}: not an option of the hf backend (known: deterministic)"
        )
    value = spec.options.get("deterministic", device.type == "cpu")
    if not isinstance(value, bool):
        raise BackendSettingError(f"model.options.deterministic: expected true or false, got {value!r}")
    return value


@contextmanager
def _library_bars(enabled: bool) -> Iterator[None]:
    """Turns transformers' own progress bars ("Loading weights", GGUF dequantizing) off for a block."""
    if enabled or not transformers_logging.is_progress_bar_enabled():
        yield
        return
    transformers_logging.disable_progress_bar()
    try:
        # The GGUF converter draws a plain tqdm bar that ignores the switch above.
        with redirect_stderr(io.StringIO()):
            yield
    finally:
        transformers_logging.enable_progress_bar()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as error:
        raise BackendSettingError(
            f"model.device: {device!r} is not understood; use auto, cpu, cuda or cuda:N"
        ) from error
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendSettingError(
                f"model.device: {device!r} was requested but torch sees no CUDA device "
                f"(torch {torch.__version__}); use device: cpu or install a CUDA build of torch"
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise BackendSettingError(
                f"model.device: {device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    elif chosen.type != "cpu":
        raise BackendSettingError(
            f"model.device: {device!r} is not supported by the hf backend; use auto, cpu or cuda[:N]"
        )
    return chosen


def _pick_batch_size(requested: int | str, device: torch.device, model: Any) -> int:
    if requested != "auto":
        if not isinstance(requested, int) or requested < 1:
            raise BackendError(f"batch_size {requested!r} must be a positive integer or 'auto'")
        return requested
    params = sum(p.numel() for p in model.parameters())
    if device.type == "cpu":
        # CPU decoding is compute-bound; past ~32 rows a small model gains little throughput.
        return 32 if params < 1_000_000_000 else 8
    return 128 if params < 2_000_000_000 else 64 if params < 15_000_000_000 else 16


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    found: list[int] = []
    configured = model.generation_config.eos_token_id
    for token in [*(configured if isinstance(configured, list) else [configured]), tokenizer.eos_token_id]:
        if token is not None and int(token) not in found:
            found.append(int(token))
    if not found:
        raise BackendError("the model defines no end-of-sequence token; set eos_token_id in its config")
    return found


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
