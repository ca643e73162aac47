"""The transformers backend: batched generate() on a local folder, hub id, GGUF file or built-in alias.

Requests are grouped by sampling settings, sorted by prompt length and run in left-padded batches;
each batch's completions are yielded as soon as it finishes. Sampled requests draw from their own
seeded generator (see hf_sampling), so a sample does not depend on which requests share its batch.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessorList,
    StoppingCriteriaList,
)

from harness.backends.base import BackendBase, BackendError, BackendSettingError
from harness.backends.hf_sampling import CountNewTokens, PerRowSampler, StopOnStrings
from harness.backends.model_files import ensure_gguf_cache, read_cache_note, resolve_model
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
        # Called during a batch with the tokens it has produced so far (the pipeline's progress bar).
        self.on_tokens: Callable[[int], None] | None = None

    def _load(self) -> tuple[Any, Any]:
        resolved, spec = self.resolved, self.spec
        location, revision = resolved.location, spec.revision if resolved.kind == "hub" else None
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
            self.extra = {
                "gguf_file": Path(resolved.location).name,
                "quantization": f"{quant} dequantized to {_dtype_name(model.dtype)}",
            }
        tokenizer.padding_side = "left"
        return model, tokenizer

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
            extra=dict(self.extra),
        )

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
            key = (s.temperature if not s.greedy else 0.0, s.top_p, s.top_k, s.max_new_tokens, s.stop)
            groups.setdefault(key, []).append(_Prompt(request, self.render(request.messages)))
        for prompts in groups.values():
            prompts.sort(key=lambda p: len(p.ids), reverse=True)
            for start in range(0, len(prompts), self.batch_size):
                yield from self._run_batch(prompts[start : start + self.batch_size])

    def _run_batch(self, batch: Sequence[_Prompt]) -> list[Completion]:
        sampling = batch[0].request.sampling
        started = time.perf_counter()
        input_ids, attention_mask = _left_pad([p.ids for p in batch], self.pad_id, self.device)
        width = input_ids.shape[1]
        processors = LogitsProcessorList()
        if not sampling.greedy:
            seeds = [p.request.seed for p in batch]
            processors.append(
                PerRowSampler(seeds, sampling.temperature, sampling.top_k, sampling.top_p, self.device)
            )
        stopper = StopOnStrings(sampling.stop, width, self._decode_many)
        criteria = StoppingCriteriaList([stopper] if stopper.stops else [])
        if self.on_tokens is not None:
            criteria.append(
                CountNewTokens(sampling.max_new_tokens, self.eos_ids, self.on_tokens, stopper.stopped_at)
            )
        config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=False,
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
        )
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=criteria or None,
            )
        new_tokens = output[:, width:].tolist()
        seconds = (time.perf_counter() - started) / len(batch)
        completions = []
        for row, prompt in enumerate(batch):
            text, count, reason = self._finish_row(new_tokens[row], stopper.stopped_at.get(row), sampling)
            r = prompt.request
            completions.append(
                Completion(r.task, r.problem_id, r.sample_index, text, count, reason, seconds=seconds)
            )
        return completions

    def _finish_row(
        self, tokens: list[int], stopped_at: int | None, sampling: Sampling
    ) -> tuple[str, int, FinishReason]:
        eos_at = next((i + 1 for i, token in enumerate(tokens) if token in self.eos_ids), None)
        ends = [n for n in (eos_at, stopped_at) if n is not None]
        count = min(ends) if ends else len(tokens)
        text = self._decode_many([tokens[:count]])[0]
        cuts = [text.find(stop) for stop in sampling.stop if stop and stop in text]
        if cuts:
            text = text[: min(cuts)]
        reason: FinishReason = "stop" if ends or cuts else "length"
        return text, count, reason

    def _decode_many(self, rows: list[list[int]]) -> list[str]:
        decoded: list[str] = self.tokenizer.batch_decode(rows, skip_special_tokens=True)
        return decoded

    def close(self) -> None:
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


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


def _left_pad(
    rows: Sequence[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
