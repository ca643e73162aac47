"""Wall time of a run that generates and grades at once, against generation alone and grading alone.

    .venv/bin/python benchmarks/bench_overlap.py [--problems 100] [--concurrency 8] [--data DIR]

A stand-in for a remote GPU server runs on 127.0.0.1: an OpenAI-compatible endpoint that answers each
request with a canned completion (the official o1-mini LiveCodeBench submissions for release_v1, and for
AIME 2024 the reference answer in a box) after a fixed delay, at most `--concurrency` requests at a time,
so it costs no local CPU. The harness reaches it through the `openai` backend, as it would a vLLM server.

For each config (LiveCodeBench alone, then AIME 2024 + LiveCodeBench in one config):
  grading only     `harness run` on the same completions through the replay backend (nothing to wait for);
  delay            set so that generation alone takes what grading alone took (the worst case for running
                   them one after the other, and the one the overlap is for);
  generation only  the openai backend's generate() over every request, nothing journaled or graded;
  overlapped       `harness run` against the server into a fresh folder: generation, journal, grading.
Goal: overlapped <= 1.1 x max(generation only, grading only); one after the other would take their sum.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.backends.registry import create_backend
from harness.config import EvalConfig, load_config
from harness.pipeline import run
from harness.planning import plan_tasks
from harness.registry import discover
from harness.types import Request

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"
MODEL = "o1-mini-canned"


class CannedServer:
    """Answers /v1/chat/completions with the canned text for the prompt, after `delay` seconds, with at
    most `concurrency` requests being served at once (the others wait, as on a busy server)."""

    def __init__(self, answers: dict[str, str], concurrency: int) -> None:
        self.answers = answers
        self.delay = 0.0
        self.slots = threading.Semaphore(concurrency)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = server.answers[body["messages"][-1]["content"]]
                with server.slots:
                    time.sleep(server.delay)
                self._send(
                    {
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"completion_tokens": max(1, len(text) // 4)},
                    }
                )

            def _send(self, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


def canned_answers(data: Path, problems: int) -> dict[tuple[str, str], str]:
    """(task, problem id) -> the completion the server gives."""
    answers = {}
    for line in (data / "code_solutions" / "lcb_v5_o1_submissions_graded.jsonl").open():
        row = json.loads(line)
        if row["model"].startswith("o1-mini"):
            answers.setdefault(("livecodebench", row["question_id"]), f"```python\n{row['code']}\n```")
    for line in (data / "aime24.jsonl").open():
        row = json.loads(line)
        answers[("aime24", row["id"])] = f"The answer is $\\boxed{{{row['answer']}}}$."
    return answers


def write_config(folder: Path, data: Path, tasks: list[str], problems: int, model: str) -> Path:
    lcb = data / "livecodebench" / "lcb_release_v5_problems_no_private_tests.jsonl"
    entries = {
        "aime24": f"{{name: aime24, data: {data / 'aime24.jsonl'}, max_new_tokens: 4096}}",
        "livecodebench": f"{{name: livecodebench, data: {lcb}, release: release_v1, limit: {problems}}}",
    }
    path = folder / f"{'+'.join(tasks)}-{model.split(':')[0]}.yaml"
    path.write_text(
        f"model: {model}\ngeneration: {{temperature: 0.0, max_new_tokens: 2048}}\n"
        f"tasks: [{', '.join(entries[t] for t in tasks)}]\noutput: {folder / 'out'}\n"
    )
    return path


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.monotonic()
    yield box
    box.append(time.monotonic() - start)


def requests_of(config: EvalConfig) -> list[Request]:
    return [r for plan in plan_tasks(config, discover()) for r in plan.requests]


def measure(data: Path, tasks: list[str], problems: int, concurrency: int, canned: dict) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-overlap-") as tmp:
        folder = Path(tmp)
        # Grading only: the same completions replayed from a file.
        probe = load_config(
            write_config(folder, data, tasks, problems, "{name: x, backend: replay, path: x}")
        )
        requests = requests_of(probe)
        replay = folder / "canned.jsonl"
        with replay.open("w") as handle:
            for r in requests:
                row = {"task": r.task, "problem_id": r.problem_id, "sample_index": 0}
                handle.write(json.dumps({**row, "text": canned[(r.task, r.problem_id)]}) + "\n")
        (folder / "g").mkdir()
        replayed = load_config(
            write_config(folder / "g", data, tasks, problems, f"{{name: c, backend: replay, path: {replay}}}")
        )
        with timed() as grading:
            run(replayed, progress=False)
        by_prompt = {r.messages[-1].content: canned[(r.task, r.problem_id)] for r in requests}
        server = CannedServer(by_prompt, concurrency)
        try:
            # Generation alone should take what grading alone took: rounds of `concurrency` requests.
            rounds = -(-len(requests) // concurrency)
            server.delay = grading[0] / rounds
            options = f"{{base_url: '{server.base_url}', concurrency: {concurrency}}}"
            model = f"{{name: c, backend: openai, path: {MODEL}, options: {options}}}"
            (folder / "o").mkdir()
            served = load_config(write_config(folder / "o", data, tasks, problems, model))
            backend = create_backend(served.model)
            with timed() as generation:
                done = sum(1 for _ in backend.generate(requests_of(served)))
            assert done == len(requests)
            with timed() as overlapped:
                run(served, progress=False)
        finally:
            server.close()
    return {
        "samples": len(requests),
        "delay": server.delay,
        "generation": generation[0],
        "grading": grading[0],
        "overlapped": overlapped[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", type=int, default=100, help="LiveCodeBench release_v1 problems")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    canned = canned_answers(args.data, args.problems)
    print(f"{'config':<22} {'samples':>7} {'delay s':>8} {'gen only':>9} {'grade only':>10} "
          f"{'overlapped':>10} {'/ max':>6} {'/ sum':>6}")  # fmt: skip
    for tasks in (["livecodebench"], ["aime24", "livecodebench"]):
        m = measure(args.data, tasks, args.problems, args.concurrency, canned)
        larger, total = max(m["generation"], m["grading"]), m["generation"] + m["grading"]
        print(
            f"{' + '.join(tasks):<22} {m['samples']:>7} {m['delay']:>8.3f} {m['generation']:>8.1f}s "
            f"{m['grading']:>9.1f}s {m['overlapped']:>9.1f}s {m['overlapped'] / larger:>5.2f}x "
            f"{m['overlapped'] / total:>5.2f}x"
        )


if __name__ == "__main__":
    main()
