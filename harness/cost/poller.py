"""A background thread that calls one function at a fixed interval until stopped.

Energy meters poll for two reasons: a RAPL counter wraps around within minutes under load (it must
be read at least once per wrap), and GPUs without an energy counter only report instantaneous
power, which has to be sampled and integrated. The thread is a daemon, so a crashed run cannot hang
on it, and `stop` always runs one last poll in the caller's thread so the final reading is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Poller:
    def __init__(self, poll: Callable[[], None], interval_s: float, name: str) -> None:
        if interval_s <= 0:
            raise ValueError(f"{name}: poll interval must be positive, got {interval_s}")
        self._poll = poll
        self._interval = interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a poll never overlaps another, nor the final one
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.error: BaseException | None = None  # the first failure of a background poll, if any

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._lock:
                    self._poll()
            except Exception as error:  # reported by stop(); a meter must not kill the run
                self.error = error
                return

    def stop(self) -> None:
        """Stops the thread, then polls once more; re-raises a background poll's failure."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.error is not None:
            raise self.error
        with self._lock:
            self._poll()
