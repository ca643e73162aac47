"""Prompts longer than the model's context, found before generating.

A prompt that does not fit leaves the model nothing to answer with: engines either fail on it (llama.cpp
refuses the request and the run stops) or generate from a cut or overflowing context ("def def def ...")
that is then graded as an ordinary wrong or truncated answer. Its samples get their own verdict,
`prompt_too_long`, without being generated. They stay in the denominator and count as not correct, so a
score stays comparable with other models' on the same problems; the verdict counts say how many there
were, and the run lists them when it starts.

A backend takes part through two optional methods: `context_length() -> int | None` (the most tokens the
loaded model can attend to; None when it cannot know, as behind a remote server that does not say) and
`prompt_tokens(messages) -> int` (the request's prompt as the engine will see it, chat template
included). A backend without them is not checked, and the model block says so.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.types import Completion, FinishReason, ModelInfo, Request, Score, Verdict

PROMPT_TOO_LONG: FinishReason = "prompt_too_long"  # the finish reason journaled for such a sample


@dataclass(frozen=True)
class PromptFit:
    context_tokens: int | None  # None: not checked
    too_long: dict[tuple[str, str], int] = field(default_factory=dict)  # (task, problem id) -> tokens
    note: str = ""  # what the model block records

    def fits(self, request: Request) -> bool:
        return (request.task, request.problem_id) not in self.too_long


def check_prompts(backend: Any, requests: Sequence[Request], backend_name: str) -> PromptFit:
    """Counts each problem's prompt once (its n samples share it) against the model's context."""
    context_length = getattr(backend, "context_length", None)
    count = getattr(backend, "prompt_tokens", None)
    context = context_length() if callable(context_length) and callable(count) else None
    if context is None:
        return PromptFit(
            None, note=f"not checked: the {backend_name} backend does not report the context length"
        )
    too_long: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str]] = set()
    for request in requests:
        key = (request.task, request.problem_id)
        if key in seen:
            continue
        seen.add(key)
        tokens = int(count(request.messages))  # type: ignore[misc]
        if tokens >= context:  # not even one token left to generate
            too_long[key] = tokens
    return PromptFit(context, too_long, note=f"checked against a context of {context} tokens")


def warn_about(fit: PromptFit, task: str) -> None:
    if not fit.too_long:
        return
    shown = ", ".join(f"{pid} ({tokens} tokens)" for (_, pid), tokens in sorted(fit.too_long.items())[:10])
    more = f" and {len(fit.too_long) - 10} more" if len(fit.too_long) > 10 else ""
    print(
        f"warning: task {task}: {len(fit.too_long)} problem(s) have a prompt that does not fit the model's "
        f"context of {fit.context_tokens} tokens: {shown}{more}. Their samples are not generated; they get "
        "the verdict prompt_too_long and count as not correct",
        file=sys.stderr,
    )


def too_long_completion(request: Request) -> Completion:
    """What the journal holds for a sample whose prompt did not fit: nothing generated."""
    return Completion(request.task, request.problem_id, request.sample_index, "", 0, PROMPT_TOO_LONG)


def too_long_score(completion: Completion, context_tokens: Any) -> Score:
    # context_tokens is None when the completion was replayed from a run that made the check.
    context = f" of {context_tokens} tokens" if isinstance(context_tokens, int) else ""
    detail = f"the prompt does not fit the model's context{context}; nothing was generated"
    return Score(completion.problem_id, completion.sample_index, Verdict.PROMPT_TOO_LONG, None, detail)


def with_prompt_check(info: ModelInfo, fit: PromptFit) -> ModelInfo:
    """The model block records whether prompts were checked against the context, and against what."""
    extra = {**info.extra, "context_tokens": fit.context_tokens, "prompt_length_check": fit.note}
    return replace(info, extra=extra)
