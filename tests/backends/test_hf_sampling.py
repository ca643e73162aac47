"""Per-row seeded sampling, stop strings and token counting for the hf backend, on plain tensors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from harness.backends.hf_sampling import (  # noqa: E402 (after the skip: torch is optional here)
    CountNewTokens,
    PerRowSampler,
    StopOnStrings,
    filter_logits,
)

INF = float("inf")


def decode(rows: list[list[int]]) -> list[str]:
    """Token i is the letter chr(97 + i): a tokenizer small enough to read the tests by."""
    return ["".join(chr(97 + token) for token in row) for row in rows]


def logits_of(*probabilities: float) -> torch.Tensor:
    return torch.tensor([probabilities]).log()


def test_filter_logits_applies_temperature_then_top_k_then_top_p() -> None:
    logits = torch.tensor([[4.0, 2.0, 1.0, 0.0]])
    assert torch.equal(filter_logits(logits, 2.0, 0, 1.0), logits / 2)
    assert torch.equal(filter_logits(logits, 1.0, 2, 1.0), torch.tensor([[4.0, 2.0, -INF, -INF]]))
    probs = logits_of(0.6, 0.3, 0.1)
    # Keep a token while the tokens ranked above it hold less than top_p of the mass.
    assert torch.isinf(filter_logits(probs, 1.0, 0, 0.7)).tolist() == [[False, False, True]]
    assert torch.isinf(filter_logits(probs, 1.0, 0, 0.5)).tolist() == [[False, True, True]]
    assert torch.isinf(filter_logits(probs, 1.0, 0, 1e-9)).tolist() == [[False, True, True]]  # top stays


def draw(sampler: PerRowSampler, logits: torch.Tensor, steps: int) -> list[list[int]]:
    rows: list[list[int]] = [[] for _ in range(logits.shape[0])]
    for _ in range(steps):
        forced = sampler(torch.zeros(logits.shape[0], 1, dtype=torch.long), logits.clone())
        assert ((forced == 0).sum(dim=1) == 1).all() and torch.isinf(forced).sum() == forced.numel() - len(
            rows
        )
        for row, token in enumerate(forced.argmax(dim=1).tolist()):
            rows[row].append(token)
    return rows


def test_a_rows_tokens_depend_on_its_seed_and_logits_only_not_on_its_batch() -> None:
    a, b = logits_of(0.25, 0.25, 0.25, 0.25), logits_of(0.1, 0.2, 0.3, 0.4)
    together = draw(PerRowSampler([11, 22], 1.0, 0, 1.0, "cpu"), torch.cat([a, b]), 40)
    alone = draw(PerRowSampler([22], 1.0, 0, 1.0, "cpu"), b, 40)
    swapped = draw(PerRowSampler([22, 11], 1.0, 0, 1.0, "cpu"), torch.cat([b, a]), 40)
    assert together[1] == alone[0] == swapped[0]
    assert together[0] == swapped[1]
    assert draw(PerRowSampler([23], 1.0, 0, 1.0, "cpu"), b, 40) != alone  # another seed, another sample


def test_draws_follow_the_filtered_distribution() -> None:
    [tokens] = draw(PerRowSampler([5], 1.0, 0, 1.0, "cpu"), logits_of(0.7, 0.2, 0.1), 3000)
    shares = [tokens.count(t) / len(tokens) for t in range(3)]
    assert shares == pytest.approx([0.7, 0.2, 0.1], abs=0.03)
    [top_k] = draw(PerRowSampler([5], 1.0, 1, 1.0, "cpu"), logits_of(0.4, 0.35, 0.25), 50)
    assert set(top_k) == {0}


def test_greedy_is_not_the_samplers_job() -> None:
    with pytest.raises(ValueError, match="temperature > 0"):
        PerRowSampler([1], 0.0, 0, 1.0, "cpu")


def test_stop_strings_end_each_row_where_its_own_text_contains_one() -> None:
    stop = StopOnStrings(["cd"], prompt_width=2, decode=decode)
    prompt = [[25, 25], [25, 25]]  # "zz": never counted, even if it held a stop string
    steps = [[2, 0], [3, 1], [0, 2]]  # row 0 writes "cd" at step 2; row 1 writes "abc"
    done = []
    for step in range(1, len(steps) + 1):
        ids = torch.tensor([p + [steps[s][r] for s in range(step)] for r, p in enumerate(prompt)])
        done.append(stop(ids, torch.zeros(2, 26)).tolist())
    assert done == [[False, False], [True, False], [True, False]]
    assert stop.stopped_at == {0: 2}
    never = StopOnStrings([""], prompt_width=0, decode=decode)
    assert never(torch.tensor([[2, 3]]), torch.zeros(1, 26)).tolist() == [False]


def test_token_counts_stop_at_each_rows_end_of_sequence_and_report_at_the_end() -> None:
    reports: list[int] = []
    count = CountNewTokens(max_new_tokens=3, eos_ids=[9], report=reports.append, every_s=0.0)
    last_tokens = [[1, 1], [9, 1], [0, 1]]  # row 0 ends at step 2 (its eos counts), then only pads
    for step, last in enumerate(last_tokens, start=1):
        keep_going = count(torch.tensor([[5] * step + [t] for t in last]), torch.zeros(2, 10))
        assert keep_going.tolist() == [False, False]  # it never stops a row itself
    assert reports == [2, 4, 5]
    quiet: list[int] = []
    slow = CountNewTokens(max_new_tokens=3, eos_ids=[9], report=quiet.append, every_s=3600.0)
    for step in range(1, 4):
        slow(torch.ones(1, step, dtype=torch.long), torch.zeros(1, 10))
    assert quiet == [3]  # throttled, but the last step always reports
