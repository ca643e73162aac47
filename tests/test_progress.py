"""Progress bars: samples done, tokens per second including the batch in flight, scoring over items."""

from __future__ import annotations

import pytest

from harness.progress import generation_progress, scoring_progress


def test_generation_bar_counts_samples_and_tokens_including_the_batch_in_flight(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with generation_progress(3, "aime24", enabled=True) as bar:
        bar.tokens_in_flight(50)  # shown at once (a long batch must not look stuck)
        in_flight = capsys.readouterr().err
        bar.tokens_in_flight(0)  # the backend hands the samples over: their tokens now count as done
        bar.advance(40)
        bar.advance(60)
    final = capsys.readouterr().err.rstrip().split("\r")[-1]
    assert "aime24: generating" in in_flight and "50 tokens" in in_flight and "0/3" in in_flight
    assert "2/3" in final and "100 tokens" in final and "tok/s" in final


def test_a_disabled_bar_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with generation_progress(2, "t", enabled=False) as bar:
        bar.tokens_in_flight(5)
        bar.advance(5)
    assert list(scoring_progress(iter("ab"), "t", enabled=False)) == ["a", "b"]
    assert capsys.readouterr().err == ""


def test_scoring_progress_yields_every_item_in_order_with_a_known_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = (i * i for i in range(7))  # a generator: its length is only known by reading it
    assert list(scoring_progress(items, "math500", enabled=True)) == [0, 1, 4, 9, 16, 25, 36]
    final = capsys.readouterr().err.rstrip().split("\r")[-1]
    assert "math500: scoring" in final and "7/7" in final
