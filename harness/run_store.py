"""The run store: every file of one run under OUTPUT/.journal/, named in this module and nowhere else.

For a run id R (planning.make_run_id) and an optional shard i of N:

    R[.shardIofN].jsonl        the journal: every completion, appended as it is generated (journal.py)
    R[.shardIofN].jsonl.lock   the lock that keeps a second run of the same journal out
    R[.shardIofN].wall.json    wall seconds every session spent generating into that journal
    R[.shardIofN].energy.json  the energy measurement of every session that generated into that journal
    R.model.json               the model block of the score file, saved while the model is loaded

Run, resume and merge all reach these files through a `RunStore`, so a rerun, a merge of shards, and a
rescore without the model find exactly what the generating sessions wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from harness.atomic import write_text_atomic
from harness.cost.readings import NOT_RECORDED, EnergyMeasurement, combine
from harness.journal import Journal, JournalError
from harness.sharding import Shard
from harness.types import ModelInfo

_SHARD_JOURNAL = re.compile(r"\.shard(\d+)of(\d+)\.jsonl")


@dataclass(frozen=True)
class ShardJournal:
    shard: Shard
    path: Path


class RunStore:
    """The files of one run (one run id) in one output folder."""

    def __init__(self, output: Path, run_id: str) -> None:
        self.folder = Path(output) / ".journal"
        self.run_id = run_id

    def journal_path(self, shard: Shard | None = None) -> Path:
        suffix = f".shard{shard.index}of{shard.count}" if shard else ""
        return self.folder / f"{self.run_id}{suffix}.jsonl"

    def journal(self, fingerprint: Mapping[str, Any], shard: Shard | None = None) -> Journal:
        return Journal(self.journal_path(shard), fingerprint)

    def lock(self, shard: Shard | None = None) -> JournalLock:
        return JournalLock(self.journal_path(shard))

    def lock_holder(self, shard: Shard | None = None) -> str | None:
        return lock_holder(self.journal_path(shard))

    def clock(self, shard: Shard | None = None, share: float = 1.0) -> GenerationClock:
        return GenerationClock(self.journal_path(shard), share=share)

    def generation_seconds(self, shard: Shard | None = None) -> float:
        return recorded_generation_seconds(self.journal_path(shard))

    # -- energy: one measurement per generating session, added up when the score file is written ----------

    def energy_path(self, shard: Shard | None = None) -> Path:
        return self.journal_path(shard).with_suffix(".energy.json")

    def add_energy(self, measurement: EnergyMeasurement, shard: Shard | None = None) -> None:
        """Record one session's measurement (called when a generating session ends, however it ends)."""
        path = self.energy_path(shard)
        sessions = [*self._energy_sessions(path), measurement.to_dict()]
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"sessions": sessions}, indent=1) + "\n")

    def energy(self, shards: Sequence[Shard | None] = (None,)) -> EnergyMeasurement:
        """Every recorded session of these journals, part by part; unknown when none was recorded."""
        sessions = [s for shard in shards for s in self._energy_sessions(self.energy_path(shard))]
        if not sessions:
            return EnergyMeasurement((NOT_RECORDED,), 0.0)
        try:
            return combine(EnergyMeasurement.from_dict(s) for s in sessions)
        except ValueError as err:
            raise JournalError(
                f"{self.folder}: an energy record of run {self.run_id} is damaged ({err})"
            ) from None

    @staticmethod
    def _energy_sessions(path: Path) -> list[dict[str, Any]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as err:
            raise JournalError(f"{path}: unreadable ({err}); delete it to report energy as unknown") from None
        sessions = data.get("sessions") if isinstance(data, dict) else None
        if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
            raise JournalError(f"{path}: not an energy record; delete it to report energy as unknown")
        return sessions

    # -- shards ---------------------------------------------------------------------------------------

    def shard_journals(self) -> list[ShardJournal]:
        """The shard journals of this run on disk, by shard index (any shard counts; see merge)."""
        found = []
        for path in self.folder.glob(f"{self.run_id}.shard*of*.jsonl"):
            match = _SHARD_JOURNAL.fullmatch(path.name.removeprefix(self.run_id))
            if match and int(match.group(2)) > int(match.group(1)):
                found.append(ShardJournal(Shard(int(match.group(1)), int(match.group(2))), path))
        return sorted(found, key=lambda s: (s.shard.count, s.shard.index))

    # -- the model block ------------------------------------------------------------------------------

    @property
    def model_info_path(self) -> Path:
        return self.folder / f"{self.run_id}.model.json"

    def save_model_info(self, info: ModelInfo) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.model_info_path, json.dumps(asdict(info), indent=2, default=str))

    def load_model_info(self) -> ModelInfo | None:
        """The saved model block, or None when absent or unreadable (then the model itself is asked)."""
        if not self.model_info_path.is_file():
            return None
        try:
            return ModelInfo(**json.loads(self.model_info_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            return None


# -- wall time of the sessions that generated a journal -------------------------------------------------
# A score file's cost.wall_seconds must count the generation that produced it, also when the file is
# written by a later session (resume, regrade, merge). Each generating session adds its wall time here.


def generation_wall_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name.removesuffix(".jsonl") + ".wall.json")


def recorded_generation_seconds(journal_path: Path) -> float:
    """Wall seconds every session so far spent generating into `journal_path` (0 when none is recorded)."""
    path = generation_wall_path(journal_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0.0
    except (OSError, ValueError) as err:
        raise JournalError(f"{path}: unreadable ({err}); delete it to count this run's time only") from None
    seconds = data.get("generation_wall_seconds") if isinstance(data, dict) else None
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise JournalError(f"{path}: no generation_wall_seconds; delete it to count this run's time only")
    return float(seconds)


# -- one run per journal file at a time ------------------------------------------------------------------
# Two runs of one config into one folder would both generate every sample and append duplicates. Each
# journal file (so each shard) gets a lock file beside it: an flock on it, which the kernel drops when the
# holder dies however it dies, plus a record of the holder (host, pid, start) so that a refusal can say
# who holds it. flock is only as good as the file system's locking: local disks and NFSv4 share it
# between all processes, some network or cluster file systems keep it per machine. Then the record is
# the second line of defence: a holder that never released its lock is named in a warning.


class JournalLockedError(JournalError):
    """Another live run holds the journal's lock."""


def lock_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".lock")


def _holder_text(record: Mapping[str, Any]) -> str:
    return (
        f"pid {record.get('pid', '?')} on host {record.get('host', '?')} since {record.get('started', '?')}"
    )


def _read_holder(handle: IO[str]) -> dict[str, Any] | None:
    handle.seek(0)
    text = handle.read().strip()
    try:
        record = json.loads(text) if text else None
    except ValueError:
        return {"host": "?", "pid": "?", "started": "? (unreadable lock record)"}
    return record if isinstance(record, dict) else None


def _process_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class JournalLock:
    """Held while a run works on one journal file; a second run of the same journal is refused."""

    def __init__(self, journal_path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.journal_path = Path(journal_path)
        self.path = lock_path(self.journal_path)
        self._warn = warn or (lambda text: print(f"warning: {text}", file=sys.stderr))
        self._handle: IO[str] | None = None

    def __enter__(self) -> JournalLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle) or {}
            handle.close()
            raise JournalLockedError(
                f"journal {self.journal_path} is in use by another run ({_holder_text(holder)}); two runs "
                "of one journal would generate the same samples twice. Wait for that run to finish (then "
                "rerun to pick up anything missing), or stop it"
            ) from None
        previous = _read_holder(handle)
        if previous and previous.get("host") != socket.gethostname():
            # flock was free, yet the record was never cleared: that run died, or this file system does
            # not share locks between machines and it is still going.
            self._warn(
                f"{self.path} names a run that did not release it ({_holder_text(previous)}); if that "
                "run is still going, stop one of the two: this file system may not share locks between "
                "machines"
            )
        handle.seek(0)
        handle.truncate()
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": _now()}
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):  # an empty record means "released cleanly"
            handle.seek(0)
            handle.truncate()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def lock_holder(journal_path: Path) -> str | None:
    """Who holds the journal's lock right now ("pid 12 on host a since ..."), or None when nobody does."""
    path = lock_path(journal_path)
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_text(_read_holder(handle) or {})
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- generation wall time, recorded as it accrues ---------------------------------------------------------


class GenerationClock:
    """Adds this session's wall time to the journal's record while it generates, every few seconds, so a
    session killed with SIGKILL (or a lost node) still counts, up to the last few seconds. Time counts from
    entering, model loading included, but is recorded only once the journal exists: a session that
    journaled nothing (its model failed to load, say) leaves no trace. A session that generates for
    several tasks at once records its `share` of the time in each task's journal."""

    def __init__(self, journal_path: Path, interval: float = 5.0, share: float = 1.0) -> None:
        self.journal_path = Path(journal_path)
        self.interval = interval
        self.share = share  # of the session's time, when one session generates for several journals
        self._base = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GenerationClock:
        self._base = recorded_generation_seconds(self.journal_path)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._tick, name="generation-clock", daemon=True)
        self._thread.start()
        return self

    @property
    def seconds(self) -> float:
        """This session's generation wall time so far."""
        return time.monotonic() - self._started

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):  # a failed update is retried; the final one reports
                self._record()

    def _record(self) -> None:
        if self.journal_path.exists():
            total = self._base + self.seconds * self.share
            write_text_atomic(
                generation_wall_path(self.journal_path),
                json.dumps({"generation_wall_seconds": total}) + "\n",
            )

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if exc_type is None:
            self._record()
            return
        with contextlib.suppress(OSError):  # never hide the error that ended the session
            self._record()
