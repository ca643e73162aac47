"""Backend "openai": any server that speaks the OpenAI HTTP API (vLLM, SGLang, llama.cpp, Ollama, TGI).

One HTTP request per Request: each sample keeps its own seed, and a failed request costs one sample, not a
whole group. A thread pool keeps `concurrency` requests in flight; the server does the batching.

`timeout_s` is a deadline on each attempt as a whole (see http_deadline). A request that fails for good
(after its retries, or at once for a 4xx or another model's answer) calls off the others: requests in
flight are cut off, none is retried or sent after it, and what finished before is still yielded.
A sample's `seconds` is the time of its successful attempt alone: failed attempts and the backoff between
them are not generation, and counting them would understate the engine's tokens/s (the run's whole
wall time, retries included, is in the score file's cost.wall_seconds).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.backends.base import BackendBase, BackendError
from harness.backends.http_deadline import RequestGroup
from harness.backends.http_retry import (
    Cancelled,
    RetryPolicy,
    TransientError,
    redact_url,
    request_json,
    with_retries,
)
from harness.backends.served_model import ServedModels
from harness.types import ChatMessage, Completion, ModelInfo, ModelSpec, Request

OPTIONS = frozenset(
    {
        "base_url",
        "api",
        "api_key_env",
        "concurrency",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "backoff_max_s",
        "chat_template",
        "revision",
        "extra_body",
        "allow_model_mismatch",
    }
)
# owned_by values that name an engine; others ("me", "system", "library") say nothing useful.
KNOWN_ENGINES = ("vllm", "sglang", "llamacpp", "llama.cpp", "ollama", "tgi", "lmdeploy", "tensorrt")
_CHECK_TIMEOUT_S = 10.0


class OpenAICompatBackend(BackendBase):
    """Sends each Request as one chat (or completions) call to an OpenAI-compatible server."""

    def __init__(self, spec: ModelSpec):
        opts = dict(spec.options)
        unknown = sorted(set(opts) - OPTIONS)
        if unknown:
            raise BackendError(
                f"model.options.{unknown[0]}: not an option of the openai backend "
                f"(known: {', '.join(sorted(OPTIONS))})"
            )
        if not opts.get("base_url"):
            raise BackendError(
                "model.options.base_url is required for backend openai, e.g. http://127.0.0.1:8000/v1"
            )
        self.spec = spec
        self.base_url = _normalise_base_url(str(opts["base_url"]))
        self.api = str(opts.get("api", "chat"))
        if self.api not in ("chat", "completions"):
            raise BackendError(f"model.options.api: {self.api!r} is not one of: chat, completions")
        self.concurrency = _positive_int(opts, "concurrency", 8)
        self.timeout_s = _positive_number(opts, "timeout_s", 600.0)
        self.policy = RetryPolicy(
            max_retries=_positive_int(opts, "max_retries", 5, allow_zero=True),
            backoff_s=_positive_number(opts, "backoff_s", 1.0, allow_zero=True),
            backoff_max_s=_positive_number(opts, "backoff_max_s", 30.0, allow_zero=True),
        )
        self.extra_body: Mapping[str, Any] = dict(opts.get("extra_body") or {})
        self._headers = _auth_headers(opts.get("api_key_env"))
        self._template_source = _load_template(opts.get("chat_template"))
        self._template = _compile_template(self._template_source) if self._template_source else None
        self._revision = opts.get("revision")
        allow_mismatch = opts.get("allow_model_mismatch", False)
        if not isinstance(allow_mismatch, bool):
            raise BackendError(
                f"model.options.allow_model_mismatch: expected true or false, got {allow_mismatch!r}"
            )
        self._served_models = ServedModels(spec.path, allow_mismatch)
        self._served = self._check_server()

    # -- start-up check -------------------------------------------------------------------------------

    def _check_server(self) -> Mapping[str, Any]:
        """GET /models once: fail fast on a wrong URL or model name instead of after the first batch."""
        url = f"{self.base_url}/models"
        try:
            body, headers = request_json("GET", url, None, self._headers, _CHECK_TIMEOUT_S)
        except TransientError as err:
            raise BackendError(
                f"cannot reach {redact_url(url)}: {err}. What to do: start the server, or fix "
                "model.options.base_url (scheme, host, port, and the /v1 prefix)."
            ) from None
        entries = body.get("data") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise BackendError(f"{redact_url(url)} did not return a model list (got: {str(body)[:200]})")
        served = {str(e.get("id")): e for e in entries if isinstance(e, dict)}
        if self.spec.path not in served:
            names = ", ".join(sorted(served)) or "(none)"
            raise BackendError(
                f"model {self.spec.path!r} is not served by {redact_url(self.base_url)}; it serves: {names}. "
                "What to do: set model.path to one of those names."
            )
        return {"entry": served[self.spec.path], "server_header": headers.get("server")}

    # -- Backend interface ----------------------------------------------------------------------------

    def info(self) -> ModelInfo:
        owned_by = str(self._served["entry"].get("owned_by") or "")
        engine = next((e for e in KNOWN_ENGINES if e in owned_by.lower()), "openai-compatible")
        template_hash = None
        if self._template_source:
            template_hash = hashlib.sha256(self._template_source.encode()).hexdigest()[:16]
        return ModelInfo(
            name=self.spec.name,
            backend="openai",
            path=self.spec.path,
            revision=self._revision,
            dtype=self.spec.dtype if self.spec.dtype != "auto" else "server-defined",
            device="server",
            engine=engine,
            batch_size=self.concurrency,
            chat_template_hash=template_hash,
            extra={
                "base_url": redact_url(self.base_url),
                "api": self.api,
                "concurrency": self.concurrency,
                "owned_by": owned_by or None,
                "server_header": self._served["server_header"],
                # What the answers said produced them (None until the first answer, or if none said).
                "served_model": self._served_models.recorded(),
                **({"allow_model_mismatch": True} if self._served_models.allow_mismatch else {}),
                # Engine-specific request fields (e.g. repeat_penalty) change what is sampled.
                **({"extra_body": dict(self.extra_body)} if self.extra_body else {}),
            },
        )

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        """Yield completions as they finish; on a request that fails for good, yield what had finished
        and then raise BackendError, so everything done is journaled before the run stops."""
        group = RequestGroup()
        pool = cf.ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai")
        failure: BaseException | None = None
        try:
            futures = [pool.submit(self._complete, r, group) for r in requests]
            for fut in cf.as_completed(futures):
                if fut.cancelled():
                    continue
                err = fut.exception()
                if err is None:
                    yield fut.result()
                elif failure is None and not isinstance(err, Cancelled):
                    failure = err
                    group.cancel()  # the worker did this already for a BackendError; not for a crash
                    for other in futures:
                        other.cancel()
        finally:
            # Also when the consumer stops reading: cut off what is in flight, then wait for the workers,
            # so that no request of this call is sent or retried after it returns.
            group.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            if isinstance(failure, BackendError):
                raise failure
            raise BackendError(f"request to {redact_url(self.base_url)} failed: {failure!r}") from failure

    def close(self) -> None:
        """Nothing to release: the server outlives the backend, and each call used its own connection."""

    # -- one request ----------------------------------------------------------------------------------

    def _complete(self, request: Request, group: RequestGroup) -> Completion:
        url = f"{self.base_url}/{'chat/completions' if self.api == 'chat' else 'completions'}"
        body = self._body(request)

        def attempt() -> Completion:
            started = time.perf_counter()  # per attempt: backoff and failed attempts are not generation
            payload, _ = request_json("POST", url, body, self._headers, self.timeout_s, group)
            seconds = time.perf_counter() - started
            self._served_models.check(payload, redact_url(url))
            return self._parse(payload, request, seconds)

        try:
            return with_retries(attempt, self.policy, url, group.cancelled)
        except BackendError:
            group.cancel()  # at once, from this thread: the consumer may be busy journaling
            raise

    def _body(self, request: Request) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.spec.path,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_new_tokens,
            "seed": request.seed,
            "n": 1,
        }
        if s.top_k > 0:  # not an official field; sent only when it matters, as strict servers reject it
            body["top_k"] = s.top_k
        if s.stop:
            body["stop"] = list(s.stop)
        if self.api == "chat":
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            body["prompt"] = self._render_prompt(request.messages)
        body.update(self.extra_body)
        return body

    def _render_prompt(self, messages: Sequence[ChatMessage]) -> str:
        if self._template is not None:
            dicts = [{"role": m.role, "content": m.content} for m in messages]
            return str(self._template.render(messages=dicts, add_generation_prompt=True, bos_token=""))
        return render_plain(messages)

    def _parse(self, payload: Any, request: Request, seconds: float) -> Completion:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise TransientError(f"expected 1 choice, got: {str(payload)[:300]}")
        choice = choices[0]
        if self.api == "chat":
            message = choice.get("message")
            if not isinstance(message, dict):
                raise TransientError(f"choice has no message: {str(choice)[:300]}")
            text = message.get("content")
            # vLLM and SGLang put split-out reasoning under one of these two names depending on version.
            reasoning = message.get("reasoning_content") or message.get("reasoning")
        else:
            text, reasoning = choice.get("text"), None
        usage = payload.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if not isinstance(tokens, int) or (text is None and not reasoning):
            raise TransientError(f"response lacks text or usage.completion_tokens: {str(payload)[:300]}")
        return Completion(
            task=request.task,
            problem_id=request.problem_id,
            sample_index=request.sample_index,
            text=str(text or ""),
            output_tokens=tokens,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            seconds=seconds,
            reasoning=str(reasoning) if reasoning else None,
        )


def render_plain(messages: Sequence[ChatMessage]) -> str:
    """A prompt for the completions API without a chat template.

    A lone user message is sent as is (the usual few-shot or raw-prompt case for base models); a
    conversation becomes role-labelled blocks ending with an open assistant turn.
    """
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    blocks = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n\n".join([*blocks, "Assistant:"])


def _normalise_base_url(url: str) -> str:
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(
            f"model.options.base_url: {redact_url(url)!r} is not an http(s) URL; "
            "write it like http://127.0.0.1:8000/v1"
        )
    # A bare host:port means the usual /v1 prefix; any other path is taken as the user wrote it.
    return url + "/v1" if parts.path in ("", "/") else url


def _positive_int(opts: Mapping[str, Any], key: str, default: int, allow_zero: bool = False) -> int:
    value = opts.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        floor = "0 or more" if allow_zero else "1 or more"
        raise BackendError(f"model.options.{key}: expected a whole number {floor}, got {value!r}")
    return value


def _positive_number(opts: Mapping[str, Any], key: str, default: float, allow_zero: bool = False) -> float:
    value = opts.get(key, default)
    too_small = isinstance(value, int | float) and (value < 0 if allow_zero else value <= 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or too_small:
        floor = "0 or more" if allow_zero else "above 0"
        raise BackendError(f"model.options.{key}: expected a number of seconds {floor}, got {value!r}")
    return float(value)


def _auth_headers(api_key_env: Any) -> dict[str, str]:
    if not api_key_env:
        return {}
    key = os.environ.get(str(api_key_env))
    if not key:
        raise BackendError(
            f"model.options.api_key_env names the environment variable {api_key_env!r}, which is not set "
            "or empty. What to do: export it before running, or remove api_key_env for a server without keys."
        )
    return {"Authorization": f"Bearer {key}"}


def _load_template(value: Any) -> str | None:
    """The chat template for api=completions: a path to a Jinja file, or the template text itself."""
    if not value:
        return None
    text = str(value)
    if "{" not in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise BackendError(f"model.options.chat_template: file {text!r} does not exist")
        return path.read_text(encoding="utf-8")
    return text


def _compile_template(source: str) -> Any:
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise BackendError("model.options.chat_template needs jinja2: pip install jinja2") from None
    import jinja2

    try:
        return ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(source)
    except jinja2.TemplateSyntaxError as err:
        raise BackendError(f"model.options.chat_template: Jinja syntax error: {err}") from None
