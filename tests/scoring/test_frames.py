"""The harness side of the runner protocol: frames are read whole, in linear time, within limits."""

from __future__ import annotations

import json
import os
import struct
import threading

import pytest

from harness.scoring.sandbox import FrameChannel, RunnerLost


class Pipe(FrameChannel):
    def __init__(self) -> None:
        self._res, self.writer = os.pipe()
        self._ctl = -1
        self._buffer = bytearray()


def feed(pipe: Pipe, data: bytes) -> threading.Thread:
    def write() -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(pipe.writer, view) :]
        except OSError:
            pass  # the reader gave up on an oversized frame and closed its end
        finally:
            os.close(pipe.writer)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def frame(meta: dict, blob: bytes) -> bytes:
    body = json.dumps(meta).encode()
    return struct.pack(">II", len(body), len(blob)) + body + blob


def test_a_30_mb_output_arrives_whole_with_the_next_frame_intact() -> None:
    pipe = Pipe()
    blob = b"\x01" * (30 << 20)
    writer = feed(pipe, frame({"status": "ok"}, blob) + frame({"event": "cleaned"}, b""))
    meta, got = pipe.receive(60)
    assert meta == {"status": "ok"} and got == blob
    assert pipe.receive(10) == ({"event": "cleaned"}, b"")
    writer.join()
    os.close(pipe._res)


def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    pipe = Pipe()
    pipe.max_blob = 1 << 20
    writer = feed(pipe, struct.pack(">II", 2, 1 << 30) + b"{}")
    with pytest.raises(RunnerLost, match="oversized frame"):
        pipe.receive(10)
    os.close(pipe._res)
    writer.join()


def test_a_runner_that_ends_mid_frame_is_lost() -> None:
    pipe = Pipe()
    writer = feed(pipe, frame({"status": "ok"}, b"12345")[:-2])
    with pytest.raises(RunnerLost, match="ended"):
        pipe.receive(10)
    writer.join()
    os.close(pipe._res)
