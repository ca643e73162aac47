"""Per-row seeded sampling, per-row stop strings and live token counts for transformers' generate().

transformers samples a whole batch from one global RNG, so a request's tokens would depend on which
other requests share its batch and in what order. `PerRowSampler` keeps one torch.Generator per row,
draws each row's token from that row's own distribution and generator, and returns logits that make
greedy decoding pick exactly that token; generate() then runs with do_sample=False. A request's
sample is therefore a function of its seed and its own logits only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import torch
from transformers import LogitsProcessor, StoppingCriteria

# token id lists -> strings (tokenizer.batch_decode with the options the backend uses)
Decode = Callable[[list[list[int]]], list[str]]


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """Temperature, then top-k, then top-p (nucleus) on a [rows, vocab] tensor; removed entries are -inf."""
    scores = logits.float() / temperature
    if 0 < top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = torch.sort(scores, dim=-1, descending=True)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        # Drop a token when the tokens ranked above it already reach top_p; the top token always stays.
        drop_sorted = (cumulative - ordered.softmax(dim=-1)) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    return scores


class PerRowSampler(LogitsProcessor):
    """Samples row i with generator i; the returned logits force the sampled token."""

    def __init__(
        self,
        seeds: Sequence[int],
        temperature: float,
        top_k: int,
        top_p: float,
        device: torch.device | str,
    ) -> None:
        if temperature <= 0:
            raise ValueError("PerRowSampler needs temperature > 0; use greedy decoding for 0")
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = filter_logits(scores, self.temperature, self.top_k, self.top_p).softmax(dim=-1)
        chosen = torch.empty(len(self.generators), dtype=torch.long, device=scores.device)
        for row, generator in enumerate(self.generators):
            # Exponential race: argmax p_i / E_i with E_i ~ Exp(1) is an exact draw from p, and it
            # uses a fixed number of random numbers per step, so the row's stream never drifts.
            noise = torch.empty_like(probs[row]).exponential_(generator=generator)
            chosen[row] = torch.argmax(probs[row] / noise)
        forced = torch.full_like(scores, float("-inf"))
        forced.scatter_(1, chosen.unsqueeze(1), 0.0)
        return forced  # type: ignore[return-value]


class StopOnStrings(StoppingCriteria):
    """Marks a row done once its new text contains a stop string; remembers the step it happened."""

    def __init__(self, stops: Sequence[str], prompt_width: int, decode: Decode) -> None:
        self.stops = tuple(s for s in stops if s)
        self.prompt_width = prompt_width
        self.decode = decode
        # A stop string of n characters spans at most about n tokens; a few more cover tokens that
        # carry only part of a multi-byte character.
        self.window = max((len(s) for s in self.stops), default=0) + 4
        self.stopped_at: dict[int, int] = {}  # row -> number of new tokens when the stop appeared

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        rows = input_ids.shape[0]
        done = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1] - self.prompt_width
        if not self.stops or generated <= 0:
            return done  # type: ignore[return-value]
        start = max(self.prompt_width, input_ids.shape[1] - self.window)
        tails = self.decode(input_ids[:, start:].tolist())
        for row, tail in enumerate(tails):
            if row in self.stopped_at:
                done[row] = True
            elif any(stop in tail for stop in self.stops):
                self.stopped_at[row] = generated
                done[row] = True
        return done  # type: ignore[return-value]


class CountNewTokens(StoppingCriteria):
    """Never stops a row; reports how many tokens the batch has produced so far, for progress bars.

    A row counts one token per step until it emits an end-of-sequence token or (when `stopped` is the
    StopOnStrings map of finished rows, checked before this) a stop string; after that generate() only
    pads it. Reports are sent at most every `every_s` seconds, plus one when generation ends.
    """

    def __init__(
        self,
        max_new_tokens: int,
        eos_ids: Sequence[int],
        report: Callable[[int], None],
        stopped: Mapping[int, int] | None = None,
        every_s: float = 0.5,
    ) -> None:
        self.max_new_tokens = max_new_tokens
        self.eos = torch.tensor(list(eos_ids))  # moved to the batch's device on the first step
        self.report = report
        self.stopped = stopped if stopped is not None else {}
        self.every_s = every_s
        self.steps = 0
        self.tokens = 0
        self.alive: torch.Tensor | None = None  # rows still generating; made on the first step's device
        self._last_report = time.monotonic()

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        rows, device = input_ids.shape[0], input_ids.device
        if self.alive is None:
            self.alive = torch.ones(rows, dtype=torch.bool, device=device)
            self.eos = self.eos.to(device)
        self.steps += 1
        self.tokens += int(self.alive.sum())
        self.alive &= ~torch.isin(input_ids[:, -1], self.eos)
        for row in self.stopped:
            self.alive[row] = False
        now = time.monotonic()
        finished = self.steps >= self.max_new_tokens or not bool(self.alive.any())
        if finished or now - self._last_report >= self.every_s:
            self._last_report = now
            self.report(self.tokens)
        return torch.zeros(rows, dtype=torch.bool, device=device)  # type: ignore[return-value]
