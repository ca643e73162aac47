"""transformers' generate() on one left-padded batch: the hf backend's path for models its own decode loop
cannot run (sliding-window or capped attention, models outside transformers' attention interface).

A batch's completions come back together when its longest row ends; with one row per batch (the
deterministic setting) that is each row as soon as it finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

from harness.backends.hf_sampling import (
    CountNewTokens,
    Decode,
    PerRowSampler,
    StopOnStrings,
    finished_text,
)
from harness.types import Completion, Request


def generate_batch(
    model: Any,
    batch: Sequence[tuple[Request, list[int]]],
    pad_id: int,
    eos_ids: Sequence[int],
    decode: Decode,
    on_tokens: Callable[[int], None] | None,
) -> list[Completion]:
    sampling = batch[0][0].sampling
    started = time.perf_counter()
    input_ids, attention_mask = left_pad([ids for _, ids in batch], pad_id, model.device)
    width = input_ids.shape[1]
    processors = LogitsProcessorList()
    if not sampling.greedy:
        seeds = [request.seed for request, _ in batch]
        processors.append(
            PerRowSampler(seeds, sampling.temperature, sampling.top_k, sampling.top_p, model.device)
        )
    stopper = StopOnStrings(sampling.stop, width, decode)
    criteria = StoppingCriteriaList([stopper] if stopper.stops else [])
    if on_tokens is not None:
        criteria.append(CountNewTokens(sampling.max_new_tokens, eos_ids, on_tokens, stopper.stopped_at))
    config = GenerationConfig(
        max_new_tokens=sampling.max_new_tokens,
        do_sample=False,
        eos_token_id=list(eos_ids),
        pad_token_id=pad_id,
    )
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=criteria or None,
        )
    if on_tokens is not None:
        on_tokens(0)  # the whole batch is handed over now
    new_tokens = output[:, width:].tolist()
    seconds = (time.perf_counter() - started) / len(batch)
    completions = []
    for row, (request, _) in enumerate(batch):
        text, count, stopped = finished_text(
            new_tokens[row], stopper.stopped_at.get(row), eos_ids, sampling.stop, decode
        )
        completions.append(
            Completion(
                request.task,
                request.problem_id,
                request.sample_index,
                text,
                count,
                "stop" if stopped else "length",
                seconds=seconds,
            )
        )
    return completions


def left_pad(
    rows: Sequence[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)
