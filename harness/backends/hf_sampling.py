"""Per-row seeded sampling, per-row stop strings and live token counts.

transformers samples a whole batch from one global RNG, so a request's tokens would depend on which
other requests share its batch and in what order. Here every row has its own torch.Generator and draws
its token from its own distribution (`sample_row`), so a request's sample is a function of its seed and
its own logits only. The hf backend's decode loop calls `sample_row` directly; `PerRowSampler` wraps it
as a logits processor for the generate() path, returning logits that make greedy decoding pick exactly
the sampled token (generate() then runs with do_sample=False).
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


def sample_row(
    logits: torch.Tensor, generator: torch.Generator, temperature: float, top_k: int, top_p: float
) -> int:
    """One token drawn from a [vocab] row of logits with the row's own generator."""
    probs = filter_logits(logits.unsqueeze(0), temperature, top_k, top_p).softmax(dim=-1)[0]
    # Exponential race: argmax p_i / E_i with E_i ~ Exp(1) is an exact draw from p, and it uses a
    # fixed number of random numbers per step, so the row's stream never drifts.
    noise = torch.empty_like(probs).exponential_(generator=generator)
    return int(torch.argmax(probs / noise))


class StopStrings:
    """Finds a row's stop strings in the text of its last few tokens."""

    def __init__(self, stops: Sequence[str], decode: Decode) -> None:
        self.stops = tuple(s for s in stops if s)
        self.decode = decode
        # A stop string of n characters spans at most about n tokens; a few more cover tokens that
        # carry only part of a multi-byte character.
        self.window = max((len(s) for s in self.stops), default=0) + 4

    def found_in(self, tails: list[list[int]]) -> list[bool]:
        """For each token list (the window's worth of a row's newest tokens), whether a stop is in it."""
        if not self.stops:
            return [False] * len(tails)
        return [any(stop in text for stop in self.stops) for text in self.decode(tails)]


def finished_text(
    tokens: list[int], stopped_at: int | None, eos_ids: Sequence[int], stops: Sequence[str], decode: Decode
) -> tuple[str, int, bool]:
    """A row's text, its token count (up to and including its end-of-sequence token or the token that
    completed a stop string) and whether it stopped (rather than running into max_new_tokens)."""
    eos_at = next((i + 1 for i, token in enumerate(tokens) if token in eos_ids), None)
    ends = [n for n in (eos_at, stopped_at) if n is not None]
    count = min(ends) if ends else len(tokens)
    text = decode([tokens[:count]])[0]
    cuts = [text.find(stop) for stop in stops if stop and stop in text]
    if cuts:
        text = text[: min(cuts)]
    return text, count, bool(ends or cuts)


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
        chosen = torch.empty(len(self.generators), dtype=torch.long, device=scores.device)
        for row, generator in enumerate(self.generators):
            chosen[row] = sample_row(scores[row], generator, self.temperature, self.top_k, self.top_p)
        forced = torch.full_like(scores, float("-inf"))
        forced.scatter_(1, chosen.unsqueeze(1), 0.0)
        return forced  # type: ignore[return-value]


class StopOnStrings(StoppingCriteria):
    """Marks a row done once its new text contains a stop string; remembers the step it happened."""

    def __init__(self, stops: Sequence[str], prompt_width: int, decode: Decode) -> None:
        self.finder = StopStrings(stops, decode)
        self.stops = self.finder.stops
        self.prompt_width = prompt_width
        self.stopped_at: dict[int, int] = {}  # row -> number of new tokens when the stop appeared

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        rows = input_ids.shape[0]
        done = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1] - self.prompt_width
        if not self.stops or generated <= 0:
            return done  # type: ignore[return-value]
        start = max(self.prompt_width, input_ids.shape[1] - self.finder.window)
        found = self.finder.found_in(input_ids[:, start:].tolist())
        for row, hit in enumerate(found):
            if row in self.stopped_at:
                done[row] = True
            elif hit:
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
