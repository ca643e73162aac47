"""The hf backend's generation loop: prefill each prompt alone, decode the rows together, and hand back
every row the moment it finishes (end of sequence, a stop string, or its own max_new_tokens).

A `Decoder` holds the rows in flight and their `RowCache`. `admit` prefills new rows and stacks them
onto the rows already there; `step` advances every row by one token, and each row that finishes hands
its slot to the next waiting row (prefilled alone, written into the slot: continuous batching) or
leaves the batch, so no forward pass is spent on a finished row and no row idles while work waits.
Rows of one Decoder share their sampling settings except max_new_tokens, which each row takes from its
own request.

Two ways to attend (`rowwise`):
- True: each row attends over its own columns with the call a single-row run makes (hf_rows). With
  matrix products that give a row the same bits whatever the number of rows (checked by
  hf_invariance), a row's tokens do not depend on which rows share its batch.
- False: one padded, masked attention call for all rows (transformers' sdpa); faster per step where
  many rows share a step, but a row's bits depend on its neighbours' lengths.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.backends.hf_rows import RowCache
from harness.backends.hf_sampling import Decode, StopStrings, sample_row
from harness.types import Request, Sampling


@dataclass
class Row:
    """One request in flight: its prompt, the tokens so far, and what finished it."""

    request: Request
    prompt: list[int]
    tokens: list[int] = field(default_factory=list)
    generator: torch.Generator | None = None  # seeded per request; None for greedy decoding
    seconds: float = 0.0  # prefill time plus its share of every decode step it took part in
    stopped_at: int | None = None  # token count when a stop string appeared
    done: bool = False


class Decoder:
    """Rows of one sampling setting decoded together over one KV cache."""

    def __init__(
        self,
        model: Any,
        sampling: Sampling,
        eos_ids: Sequence[int],
        decode: Decode,
        rowwise: bool,
    ) -> None:
        self.model = model
        self.sampling = sampling
        self.eos_ids = frozenset(eos_ids)
        self.stops = StopStrings(sampling.stop, decode)
        self.rowwise = rowwise
        self.device = model.device
        self.rows: list[Row] = []
        self.cache: RowCache | None = None
        self._cache_argument = cache_argument(model)

    def new_row(self, request: Request, prompt: list[int]) -> Row:
        generator = None
        if not self.sampling.greedy:
            generator = torch.Generator(device=self.device).manual_seed(int(request.seed))
        return Row(request, list(prompt), generator=generator)

    def admit(self, rows: Sequence[Row]) -> list[Row]:
        """Prefill each row alone and add the unfinished ones to the rows in flight; returns the rows
        that finished with their first token."""
        prefilled = [(row, self.prefill(row)) for row in rows]
        self.join([row for row, _ in prefilled if not row.done], [c for row, c in prefilled if not row.done])
        return [row for row in rows if row.done]

    def prefill(self, row: Row) -> RowCache:
        """Run the row's prompt alone and choose its first token; returns the row's own cache."""
        started = time.perf_counter()
        cache = RowCache(1)
        positions = torch.arange(len(row.prompt), device=self.device).unsqueeze(0)
        logits = self._forward(torch.tensor([row.prompt], device=self.device), positions, cache, None)
        self._take(row, logits[0])
        row.seconds += time.perf_counter() - started
        return cache

    def join(self, rows: Sequence[Row], caches: Sequence[RowCache]) -> None:
        """Add prefilled rows (one cache each, copied) to the rows in flight."""
        if rows:
            self.cache = RowCache.stack([self.cache, *caches] if self.cache is not None else caches)
            self.rows.extend(rows)

    def step(self, waiting: deque[Row] | None = None) -> list[Row]:
        """One token for every row in flight. Each row that finishes gives its slot to the next `waiting`
        row (prefilled alone; taken from the left of the queue), or leaves the batch when none waits.
        Returns the rows that finished, waiting rows done at their first token included."""
        started = time.perf_counter()
        logits = self.forward([row.tokens[-1] for row in self.rows])
        for row, row_logits in zip(self.rows, logits, strict=True):
            self._take(row, row_logits)
        share = (time.perf_counter() - started) / len(self.rows)
        for row in self.rows:
            row.seconds += share
        vacant = [slot for slot, row in enumerate(self.rows) if row.done]
        finished = [self.rows[slot] for slot in vacant]
        if vacant:
            finished += self._refill(vacant, waiting if waiting is not None else deque())
        return finished

    def _refill(self, vacant: list[int], waiting: deque[Row]) -> list[Row]:
        """Hand the finished rows' slots to waiting rows, drop the slots left over; returns the waiting
        rows that finished at their first token."""
        assert self.cache is not None
        done_at_once, longer = [], []
        for _ in range(len(vacant)):
            if not waiting:
                break
            row = waiting.popleft()
            cache = self.prefill(row)
            if row.done:
                done_at_once.append(row)
            elif self.cache.put(vacant[0], cache):
                self.rows[vacant.pop(0)] = row
            else:  # longer than the rows in flight: joins by stacking, which re-aligns every row
                longer.append((row, cache))
        if vacant:
            gone = set(vacant)
            kept = [slot for slot in range(len(self.rows)) if slot not in gone]
            self.rows = [self.rows[slot] for slot in kept]
            if kept:
                self.cache.keep(kept)
            else:
                self.cache = None
        if self.cache is not None:
            self.cache.compact()
        self.join([row for row, _ in longer], [cache for _, cache in longer])
        return done_at_once

    def forward(self, tokens: Sequence[int]) -> torch.Tensor:
        """Feed one token to each row in flight; returns next-token logits, [rows, vocab] float32."""
        assert self.cache is not None
        positions = [len(row.prompt) + len(row.tokens) - 1 for row in self.rows]
        ids = torch.tensor([[token] for token in tokens], device=self.device)
        position_ids = torch.tensor([[p] for p in positions], device=self.device)
        return self._forward(ids, position_ids, self.cache, self.cache.starts)

    def _forward(
        self, ids: torch.Tensor, positions: torch.Tensor, cache: RowCache, starts: list[int] | None
    ) -> torch.Tensor:
        kwargs: dict[str, Any] = {self._cache_argument: cache, "use_cache": True, "logits_to_keep": 1}
        if starts is not None:
            if self.rowwise:
                kwargs["row_starts"] = list(starts)
            else:
                kwargs["attention_mask"] = cache.padding_mask(ids.shape[1])
        with torch.inference_mode():
            output = self.model(input_ids=ids, position_ids=positions, **kwargs)
        return output.logits[:, -1, :].float()

    def _take(self, row: Row, logits: torch.Tensor) -> None:
        """Choose the row's next token and decide whether the row is done."""
        s = self.sampling
        if row.generator is None:
            token = int(torch.argmax(logits))
        else:
            token = sample_row(logits, row.generator, s.temperature, s.top_k, s.top_p)
        row.tokens.append(token)
        if token in self.eos_ids:
            row.done = True
        elif self.stops.stops and self.stops.found_in([row.tokens[-self.stops.window :]])[0]:
            row.stopped_at = len(row.tokens)
            row.done = True
        elif len(row.tokens) >= row.request.sampling.max_new_tokens:  # rows may differ in this one
            row.done = True


def cache_argument(model: Any) -> str:
    """The name under which this transformers version's forward() takes the KV cache."""
    parameters = inspect.signature(model.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def row_loop_unsupported(model: Any) -> str | None:
    """Why the decode loop cannot run this model (it then goes through generate()), or None."""
    config = model.config
    if not getattr(model, "_supports_attention_backend", False) or not getattr(
        model, "_supports_sdpa", False
    ):
        return f"{type(model).__name__} does not use transformers' attention interface with sdpa"
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None:
        other = sorted({t for t in layer_types if t != "full_attention"})
        if other:
            return f"its layers include {', '.join(other)}"
    elif getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return "it uses sliding-window attention"
    if getattr(config, "attn_logit_softcapping", None):
        return "it caps attention logits"
    return None
