"""The live analysis in worker processes: a small fixed pool of processes, each running the
:class:`~analysis.live.LiveAnalyzer` of the live sets assigned to it.

Why processes: the analysis reruns the offline pipeline every second of stream (mostly Python), so in the server's
process it held the interpreter away from the event loop, and a C++ ``abort()`` in it would end the server. Here:

- **The server never waits on a worker.** Each worker slot has one thread that starts the process (lazily, for
  the first set; ``forkserver``, so no process that runs the event loop and threads is forked, and a restart is
  cheap), sends it one request at a time and hands the answer back to the event loop. Ingest, acknowledgements
  and the display's angles (:class:`~analysis.live.LiveAngles`, on the loop) do not depend on it.
- **A worker that dies** (``abort()``, SIGKILL, out of memory) or does not answer within ``WORKER_TIMEOUT_S``
  is logged in one line and started again; its sets' analyses rebuild from their files (a worker that does not
  know a set rebuilds it from the file up to the request's last chunk). The set whose request was being
  analysed is told (:class:`WorkerDied`); after ``MAX_DEATHS`` its live analysis stops (the recording goes on),
  so one set that kills its worker cannot keep restarting it.
- Workers run at a lower priority (``WORKER_NICENESS``) than the server and ignore Ctrl-C (the server stops them).

This module is what a worker imports (preloaded by the fork server): the standard library and ``analysis/`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hinge.analysis.errors import RecordingError
from hinge.analysis.live import AngleCalibration, LiveAnalyzer, angle_calibrations
from hinge.analysis.metrics import Rep, Thresholds
from hinge.analysis.pipeline import AnalysisOptions, AnalysisResult
from hinge.analysis.recording import Chunk, Recording
from hinge.analysis.recording_format import read_recording

log = logging.getLogger("hinge.server")

ANALYSIS_WORKERS = 2          # processes; each holds the analyses of the sets assigned to it
WORKER_TIMEOUT_S = 120.0      # a request unanswered this long: the worker is taken as hung, killed and restarted
MAX_DEATHS = 2                # a set's live analysis stops after its worker died this many times analysing it
WORKER_NICENESS = 10          # the analysis yields the CPU to the server's event loop
STOP_WAIT_S = 5.0             # a worker asked to stop gets this long before it is killed
PROCESS_NAME = "hinge-analysis"


def live_options(thresholds: Mapping[str, float]) -> AnalysisOptions:
    """The analysis options of a live set (the server's display uses them too)."""
    return AnalysisOptions(thresholds=Thresholds(**thresholds))


@dataclass(frozen=True)
class Written:
    """A chunk as written to the set's file; ``file_bytes`` is the file's size after it and ``sensors`` the set's
    sensors at that moment."""

    chunk: Chunk
    file_bytes: int
    sensors: tuple[str, ...]


@dataclass(frozen=True)
class Analyse:
    """Push ``batch`` (chunks in the order written) and analyse once; with ``replay``, rebuild from the file up to
    the batch's single chunk first (the set fell behind). With ``confirm`` (and no batch): nothing came after a
    burst, confirm its waiting reps (:meth:`LiveAnalyzer.confirm`)."""

    key: int
    path: Path
    thresholds: Mapping[str, float]
    batch: list[Written]
    replay: bool = False
    confirm: bool = False


@dataclass(frozen=True)
class Finish:
    """The set has ended: the reps still pending (rebuilt from the file up to ``upto`` if the worker lost it)."""

    key: int
    path: Path
    thresholds: Mapping[str, float]
    upto: Written


@dataclass(frozen=True)
class Forget:
    """The set is closed: drop its analysis (no answer)."""

    key: int


@dataclass(frozen=True)
class Analysed:
    """A worker's answer: the new reps (all of them when ``rebuilt``), the calibrations of a new analysis
    (empty when none ran since the last answer), and whether reps wait for a confirmation that a quiet stream
    never brings (:attr:`LiveAnalyzer.confirmable`: ask again with ``Analyse.confirm``)."""

    reps: list[Rep]
    rebuilt: bool
    calibrations: dict[str, AngleCalibration]
    confirmable: bool = False


@dataclass(frozen=True)
class Failed:
    """A worker's answer: the analysis of this set raised (a bug); the worker forgot the set."""

    error: str
    trace: str


class WorkerDied(RuntimeError):
    """The worker died (or hung) while analysing this request."""


# ------------------------------------------------------------------------------------------- the worker process


class _SetAnalyzer:
    """(worker process) The analyzer of one set, rebuilt from its file when its sensors change, when it falls
    behind, or when this worker has not seen the set before."""

    def __init__(self, path: Path, thresholds: Mapping[str, float]) -> None:
        self.path = path
        self.options = live_options(thresholds)
        self.analyzer: LiveAnalyzer | None = None
        self.sensors: tuple[str, ...] = ()
        self.answered: AnalysisResult | None = None   # the analysis whose calibrations were sent last

    def analyse(self, batch: list[Written], *, replay: bool, confirm: bool = False) -> Analysed:
        if confirm:  # a worker restarted since has no burst to confirm: the next batch rebuilds the set
            return self._answer(self.analyzer.confirm() if self.analyzer is not None else [], False)
        rebuilt = False
        for index, item in enumerate(batch):
            if self.analyzer is None or item.sensors != self.sensors or (replay and index == 0):
                rebuilt = True
                self._rebuild(item)  # the file holds this batch's earlier chunks too
                continue
            self.analyzer.push(item.chunk)
        assert self.analyzer is not None, "built for the batch's first chunk"
        reps = self.analyzer.update()
        return self._answer(self.analyzer.reps if rebuilt else reps, rebuilt)

    def finish(self, upto: Written) -> Analysed:
        rebuilt = self.analyzer is None
        if self.analyzer is None:
            self._rebuild(upto)
        assert self.analyzer is not None, "rebuilt"
        reps = self.analyzer.update(final=True)
        return self._answer(self.analyzer.reps if rebuilt else reps, rebuilt)

    def _answer(self, reps: list[Rep], rebuilt: bool) -> Analysed:
        result = self.analyzer.result if self.analyzer is not None else None
        fresh = result is not None and (rebuilt or result is not self.answered)
        self.answered = result
        return Analysed(list(reps), rebuilt, angle_calibrations(result) if fresh and result is not None else {},
                        self.analyzer is not None and self.analyzer.confirmable)

    def _rebuild(self, upto: Written) -> None:
        """A new analyzer for ``upto.sensors``, fed from the file up to ``upto`` (inclusive)."""
        self.sensors = upto.sensors
        with open(self.path, "rb") as handle:
            content = handle.read(upto.file_bytes)
        try:
            recording = read_recording(content)
        except RecordingError:  # a header and no samples yet
            self.analyzer = LiveAnalyzer(options=self.options, show_angles=False)
            return
        self.analyzer = LiveAnalyzer(options=self.options, metadata=recording.metadata, show_angles=False)
        wanted = {n: s for n, s in recording.sensors.items() if n in self.sensors}
        if wanted:
            self.analyzer.catch_up(Recording(wanted, recording.metadata))


def serve(requests: Connection, answers: Connection) -> None:
    """(worker process) Answer requests one at a time until the server closes the pipe or sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the terminal's whole group: the server decides
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as comm:  # named in ps and top (Linux)
        comm.write(PROCESS_NAME)
    sets: dict[int, _SetAnalyzer] = {}
    while True:
        try:
            request = requests.recv()
        except EOFError:  # the server is gone
            return
        if request is None:
            return
        if isinstance(request, Forget):
            sets.pop(request.key, None)
            continue
        analysis = sets.setdefault(request.key, _SetAnalyzer(request.path, request.thresholds))
        try:
            answer: Analysed | Failed = (analysis.analyse(request.batch, replay=request.replay, confirm=request.confirm)
                                         if isinstance(request, Analyse) else analysis.finish(request.upto))
        except Exception as error:  # a bug in the analysis stops this set's display, never the worker
            sets.pop(request.key, None)
            answer = Failed(f"{type(error).__name__}: {error}", traceback.format_exc())
        answers.send(answer)


# -------------------------------------------------------------------------------------------- the server side


@dataclass
class _Job:
    request: Analyse | Finish | Forget
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future | None = None        # None: no answer wanted

    def settle(self, answer: Analysed | Failed | None = None, error: BaseException | None = None) -> None:
        """(slot thread) Hand the answer (or the error) to the waiting coroutine, if it still waits."""
        if self.future is None or self.loop is None:
            return

        def settle_on_loop(future: asyncio.Future = self.future) -> None:
            if not future.done():
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(answer)

        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            self.loop.call_soon_threadsafe(settle_on_loop)


@dataclass
class _Slot:
    """One worker process and the thread that owns it (server side)."""

    index: int
    timeout_s: float
    sets: int = 0
    outbox: queue.SimpleQueue[_Job | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None
    process: Any = None
    stopping: bool = False

    def submit(self, job: _Job) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name=f"{PROCESS_NAME}-{self.index}", daemon=True)
            self.thread.start()
        self.outbox.put(job)

    def _run(self) -> None:
        """(slot thread) Send each job to the worker, wait for its answer; start or restart the worker as needed."""
        connection: _Duplex | None = None
        try:
            while (job := self.outbox.get()) is not None:
                if connection is not None and not self.process.is_alive():  # died between two requests
                    self._died(None, connection)
                    connection = None
                if connection is None:
                    if job.future is None:  # a worker that is not running has nothing to forget
                        continue
                    try:
                        connection = self._start()
                    except OSError as error:  # no process could be made: this request fails, the next one retries
                        log.error("live analysis worker %d could not start: %s", self.index, error)
                        job.settle(error=WorkerDied(str(error)))
                        continue
                hung = False
                try:
                    connection.send(job.request)
                    if job.future is None:
                        continue
                    if not connection.poll(self.timeout_s):
                        hung = True
                        self.process.kill()  # the recv below meets the end of the pipe
                    answer = connection.recv()
                except (OSError, EOFError):
                    if self.stopping:
                        job.settle(error=WorkerDied("the server is stopping"))
                        continue
                    self._died(job, connection, hung=hung)
                    connection = None
                    continue
                job.settle(answer)
        finally:
            self._stop(connection)

    def _start(self) -> _Duplex:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # the worker's imports happen once, in the fork server
        requests_out, requests_in = context.Pipe(duplex=False)
        answers_out, answers_in = context.Pipe(duplex=False)
        process = context.Process(target=serve, args=(requests_out, answers_in), name=f"{PROCESS_NAME}-{self.index}",
                                  daemon=True)
        process.start()
        requests_out.close()
        answers_in.close()
        self.process = process
        return _Duplex(requests_in, answers_out)

    def _died(self, job: _Job | None, connection: _Duplex, *, hung: bool = False) -> None:
        """(slot thread) One line, then the next request starts a new worker; ``job`` was being analysed."""
        process, self.process = self.process, None
        connection.close()
        process.join(STOP_WAIT_S)
        if process.exitcode is None:  # its pipe closed, yet it runs on
            process.kill()
            process.join()
        how = f"no answer in {self.timeout_s:g} s: killed" if hung else _exit(process.exitcode)
        log.warning("live analysis worker %d stopped (%s); restarting it: its %d live sets' analyses rebuild from "
                    "their files", self.index, how, self.sets)
        process.close()
        if job is not None:
            job.settle(error=WorkerDied(how))

    def _stop(self, connection: _Duplex | None) -> None:
        """(slot thread) Ask the worker to stop, then insist."""
        if self.process is None:
            return
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.send(None)
        self.process.join(STOP_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        if connection is not None:
            connection.close()
        self.process.close()
        self.process = None


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class _Duplex:
    """The slot's two pipe ends as one connection: requests out, answers in."""

    def __init__(self, out: Connection, back: Connection) -> None:
        self.out, self.back = out, back

    def send(self, obj: Any) -> None:
        self.out.send(obj)

    def poll(self, timeout: float) -> bool:
        return self.back.poll(timeout)

    def recv(self) -> Any:
        return self.back.recv()

    def close(self) -> None:
        self.out.close()
        self.back.close()


class AnalysisWorkers:
    """The server's pool of analysis workers (see module notes); one per :class:`~server.live.LiveHub`."""

    def __init__(self, count: int = ANALYSIS_WORKERS, *, timeout_s: float = WORKER_TIMEOUT_S) -> None:
        self._slots = [_Slot(index, timeout_s) for index in range(count)]
        self._keys = itertools.count()

    def assign(self) -> tuple[int, int]:
        """A key for a new set and the worker slot it goes to (the one with the fewest sets)."""
        slot = min(self._slots, key=lambda s: s.sets)
        slot.sets += 1
        return next(self._keys), slot.index

    def release(self, key: int, slot: int) -> None:
        """The set is closed: its worker forgets it."""
        self._slots[slot].sets -= 1
        if self._slots[slot].thread is not None:
            self._slots[slot].submit(_Job(Forget(key)))

    async def ask(self, slot: int, request: Analyse | Finish) -> Analysed | Failed:
        """The worker's answer to ``request``; raises :class:`WorkerDied` if the worker died analysing it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Analysed | Failed] = loop.create_future()
        self._slots[slot].submit(_Job(request, loop, future))
        return await future

    async def close(self) -> None:
        """Stop every worker (the server is stopping); waits in a thread, not on the loop."""
        for slot in self._slots:
            if slot.thread is not None:
                slot.stopping = True
                slot.outbox.put(None)
        for slot in self._slots:
            if slot.thread is None:
                continue
            await asyncio.to_thread(slot.thread.join, STOP_WAIT_S)
            process = slot.process
            if slot.thread.is_alive() and process is not None:  # busy with a long analysis, or hung
                with contextlib.suppress(ValueError):  # already closed by its thread
                    process.kill()
            await asyncio.to_thread(slot.thread.join)
            slot.thread = None
