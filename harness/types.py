"""Records that cross module boundaries.

Every stage of the pipeline speaks in these frozen dataclasses. This module imports nothing from
`harness`, so any stage (and any task plugin) can depend on it without pulling in the others.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

# "prompt_too_long": nothing was generated, the prompt did not fit the model's context (harness.prompt_fit).
FinishReason = Literal["stop", "length", "prompt_too_long"]


class Verdict(str, Enum):
    """What happened to one sample. Math uses the first four; code tasks use the rest."""

    CORRECT = "correct"
    WRONG = "wrong"
    NO_ANSWER = "no_answer"
    TRUNCATED = "truncated"
    # Code tasks.
    PASSED = "passed"
    WRONG_ANSWER = "wrong_answer"
    TIMEOUT = "timeout"
    RUNTIME_ERROR = "runtime_error"
    MEMORY_LIMIT = "memory_limit"
    SYNTAX_ERROR = "syntax_error"
    NO_CODE = "no_code"
    INFRA_ERROR = "infra_error"
    # Any task: the prompt did not fit the model's context, so nothing was generated (counts as wrong).
    PROMPT_TOO_LONG = "prompt_too_long"

    @property
    def counts_as_correct(self) -> bool:
        """Whether a sample with this verdict counts as solved: the one definition that metrics, score
        checks and charts share (math says "correct", code says "passed"; everything else is not)."""
        return self in CORRECT_VERDICTS

    @classmethod
    def name_counts_as_correct(cls, name: str) -> bool:
        """The same for a verdict as written in a score file; a name this harness does not know is not."""
        try:
            return cls(name).counts_as_correct
        except ValueError:
            return False


# A tuple, not a set: membership then compares by value, so the verdict text read back from a score file
# ("passed") matches too (a str Enum member hashes by its name, not its value).
CORRECT_VERDICTS = (Verdict.CORRECT, Verdict.PASSED)


@dataclass(frozen=True)
class Problem:
    """One item of a task, as the task's `to_problem` builds it from a dataset row."""

    id: str
    prompt: str  # the problem statement, inserted into the task's template as {problem}
    answer: str | None = None  # reference answer (math); None for code problems
    tests: tuple[Mapping[str, Any], ...] | None = None  # test cases (code); None for math
    meta: Mapping[str, Any] = field(default_factory=dict)  # source, difficulty, date, ...


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Sampling:
    """Generation settings shared by every request of one task in one run."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0 disables top-k
    max_new_tokens: int = 1024
    n: int = 1  # samples per problem
    seed: int = 1234  # base seed; each (problem, sample) derives its own, see Request.seed
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass(frozen=True)
class Request:
    """One sample to generate: a problem's prompt and which of the n samples it is."""

    task: str
    problem_id: str
    sample_index: int
    messages: tuple[ChatMessage, ...]
    sampling: Sampling
    seed: int  # derived from (sampling.seed, task, problem_id, sample_index); batch-independent

    @property
    def key(self) -> SampleKey:
        return SampleKey(self.task, self.problem_id, self.sample_index)


@dataclass(frozen=True, order=True)
class SampleKey:
    task: str
    problem_id: str
    sample_index: int


@dataclass(frozen=True)
class Completion:
    """What a backend produced for one Request."""

    task: str
    problem_id: str
    sample_index: int
    text: str  # the answer text (for engines that split reasoning out, without it)
    output_tokens: int
    finish_reason: FinishReason
    seconds: float = 0.0  # time attributed to this sample (batch time / batch size for batched engines)
    reasoning: str | None = None  # reasoning returned separately by the engine, if any

    @property
    def key(self) -> SampleKey:
        return SampleKey(self.task, self.problem_id, self.sample_index)


@dataclass(frozen=True)
class Score:
    """A grader's judgement of one Completion. Pure function of (Problem, Completion)."""

    problem_id: str
    sample_index: int
    verdict: Verdict
    extracted: str | None  # the answer (math) or code (code tasks) the grader looked at
    detail: str | None = None  # short human-readable reason, e.g. the failing test
    # What generated code tried that looks like gaming the grader (code tasks; see scoring/tamper.py).
    # Evidence only: it never changes the verdict.
    tampering: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        return self.verdict in CORRECT_VERDICTS  # also right for verdict text read back from a file


Scorer = Callable[[Problem, Completion], Score]


@dataclass(frozen=True)
class DatasetSource:
    """Where a task's problems come from by default (the hub), and how to read the rows."""

    hub_id: str | None  # e.g. "HuggingFaceH4/aime_2024"; None for tasks that ship their data
    split: str = "test"
    config: str | None = None  # the dataset's config name ("main" for gsm8k)
    revision: str | None = None  # pinned commit or tag; None means the hub's default branch
    # A data file shipped with the task; a relative path is relative to the folder of the module that
    # builds this DatasetSource (its TASKS file), wherever that module is installed or run from.
    bundled_file: str | None = None
    data_files: str | None = None  # raw files inside the hub repo to read instead of its loading script
    # Set on construction (kept by dataclasses.replace): the folder relative bundled_file paths start from.
    declared_in: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.declared_in is None:
            object.__setattr__(self, "declared_in", _calling_module_folder())

    @property
    def bundled_path(self) -> Path | None:
        if self.bundled_file is None:
            return None
        path = Path(self.bundled_file)
        if path.is_absolute() or self.declared_in is None:
            return path
        return Path(self.declared_in) / path


def _calling_module_folder() -> str | None:
    """The folder of the first module up the stack that is not this one (dataclass __init__ runs with this
    module's globals); None for code without a file (a REPL), whose relative paths stay relative."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in (__name__, "dataclasses"):
        frame = frame.f_back  # type: ignore[assignment]
    module_file = frame.f_globals.get("__file__") if frame is not None else None
    return str(Path(module_file).resolve().parent) if isinstance(module_file, str) else None


FieldNames = str | tuple[str, ...]  # one field, or several of which the first present one is read


@dataclass(frozen=True)
class FieldSpec:
    """Which fields of a row make a Problem, for tasks whose rows need no code to read.

    Give it as a TaskSpec's `to_problem`: `to_problem=FieldSpec(id="unique_id", metadata=("level",))`.
    Text fields are stripped; an answer may be a string or a number; metadata fields that are absent or
    null are left out. Tasks whose rows need converting (parsing a solution, decoding tests) keep writing
    a `to_problem` function.
    """

    problem: FieldNames = "problem"
    answer: FieldNames | None = "answer"  # None for tasks without a reference answer
    id: FieldNames | None = "id"  # None numbers the problems by row (from 0)
    metadata: tuple[str, ...] = ()  # copied into Problem.meta under the same names

    def __call__(self, row: Mapping[str, Any], index: int) -> Problem:
        return Problem(
            id=str(index) if self.id is None else _scalar_text(row, self.id),
            prompt=_scalar_text(row, self.problem),
            answer=None if self.answer is None else _scalar_text(row, self.answer),
            meta={name: row[name] for name in self.metadata if row.get(name) is not None},
        )


def _first_present(row: Mapping[str, Any], names: FieldNames) -> str:
    candidates = (names,) if isinstance(names, str) else names
    for name in candidates:
        if row.get(name) is not None:
            return name
    raise KeyError(" or ".join(candidates))  # shown by the loader as: missing field 'question or problem'


def _scalar_text(row: Mapping[str, Any], names: FieldNames) -> str:
    name = _first_present(row, names)
    value = row[name]
    # A list or a mapping has no one text form (str() of a list is Python syntax, not the answer), and a
    # boolean is almost always a field mapped by mistake.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"field {name!r} is {type(value).__name__}, expected text or a number")
    text = str(value).strip()
    if not text:
        raise ValueError(f"field {name!r} is empty")
    return text


@dataclass(frozen=True)
class Grader:
    """A named, versioned scorer. The name and version go into the protocol fingerprint."""

    name: str
    version: str
    score: Scorer
    settings: Mapping[str, Any] = field(default_factory=dict)  # e.g. sandbox limits
    # Optional batch form of `score` for graders that run work in parallel (code execution). It must give
    # exactly the Scores `score` would, in the order of its input.
    score_many: Callable[[Sequence[tuple[Problem, Completion]]], Sequence[Score]] | None = None


@dataclass(frozen=True)
class TaskSpec:
    """Everything the engine needs to evaluate one task. This is the plugin contract.

    A plugin exposes TaskSpecs (or a list of them) through the entry-point group `harness.tasks`, or
    as `TASKS = [...]` in a .py file inside a task folder.
    """

    name: str
    version: str
    description: str
    source: DatasetSource
    # (row, row index) -> Problem: a FieldSpec for rows that only need fields picked, else a function.
    to_problem: Callable[[Mapping[str, Any], int], Problem]
    prompt_template: str  # user message; "{problem}" is replaced by Problem.prompt
    grader: Grader
    system_prompt: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)  # generation defaults, e.g. max_new_tokens
    problem_count: int | None = None  # known size of the default dataset, shown by `harness tasks`
    # Task-specific options a config may set (e.g. release, start_date), with their defaults. They are
    # passed to `select` and recorded in the protocol.
    options: Mapping[str, Any] = field(default_factory=dict)
    # Narrows the loaded problems by those options (release window, errata, ...). None keeps them all.
    select: Callable[[Sequence[Problem], Mapping[str, Any]], Sequence[Problem]] | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Identity of the model and engine that produced completions. Sits beside the protocol."""

    name: str
    backend: str
    path: str
    revision: str | None  # hub revision or sha256 of the weight file
    dtype: str
    device: str
    engine: str  # e.g. "transformers 4.57.0"
    batch_size: int | str
    chat_template_hash: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)  # quantization, parallelism, ...


@dataclass(frozen=True)
class ModelSpec:
    """The `model:` block of a config, validated. Backends are built from this."""

    name: str  # label in score files and the leaderboard
    backend: str  # hf, replay, openai, llamacpp, vllm
    path: str  # hub id, local folder, .gguf file, built-in alias, or a JSONL file (replay)
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int | Literal["auto"] = "auto"
    revision: str | None = None  # hub revision for hub ids
    options: Mapping[str, Any] = field(default_factory=dict)  # backend-specific settings
