"""Render the specs the cache misses, in worker processes when there are enough of them to pay for it.

Rendering is pure (spec bytes + config -> files and findings), so the specs are shared out to forked
workers chunk by chunk and their results come back in order: the tree, the findings and their positions
are the same as a run in one process. Only the reading of the specs and the writes stay in the parent
(generation.py, writer.py), so an interrupt still stops before anything is written.

The workers are plain forks, each with a pipe for chunk numbers and one for results, and share no lock
with the parent (a multiprocessing pool's terminate can wait forever on the task queue's lock when a
signal lands at the wrong moment). They are forked with SIGINT, SIGTERM and SIGHUP blocked, so none of
the parent's handlers ever runs in them: they ignore SIGINT, end on SIGTERM or SIGHUP, and end when the
parent closes their task pipe or dies. However the parent leaves (done, error, Ctrl-C, SIGTERM), it kills
and reaps every worker before it goes on.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections.abc import Generator, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from typing import Any

from mlgitops.report import interrupts, secrets
from mlgitops.report.findings import Finding, has_errors
from mlgitops.report.machine import usable_cpus
from mlgitops.spec.config import Config
from mlgitops.spec.model import Model, parse_model
from mlgitops.tree.layout import Tree, model_tree

POOL_MIN = 50  # specs per worker below which forking costs more than it saves (~100 specs on 2 CPUs, measured)
CHUNKS_PER_WORKER = 8  # small enough chunks that one slow worker does not finish long after the other

Rendered = tuple[str | None, Model | None, Tree, list[Finding]]  # name (None: an error stops it), model, files, findings
_Chunk = list[tuple[str, bytes]]
_Result = tuple[list[Rendered], set[bytes]]  # a chunk rendered, and the values its secret checks cleared
_HEADER = struct.Struct("!Q")  # a result's length, before its pickled bytes


def render(rel: str, raw: bytes, config: Config) -> Rendered:
    """One spec parsed, validated and rendered; name None when an error stops it."""
    model, found = parse_model(rel, raw, config)
    if model is None:
        return None, None, {}, found
    tree, found = model_tree(model, config)
    if has_errors(found):
        return None, None, {}, found
    return model.name, model, tree, found


def workers(count: int) -> int:
    """How many processes render count specs: 1 (this one) unless each of two or more CPUs gets POOL_MIN."""
    if count < 2 * POOL_MIN:  # one worker whatever the CPUs: no multiprocessing imported (~0.007 s)
        return 1
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(usable_cpus(), count // POOL_MIN))


def render_all(specs: list[tuple[str, bytes]], config: Config, pool: bool = True) -> list[Rendered]:
    """render() of each (path, bytes), in order; in workers when pool allows and there are enough specs.
    From workers, a result carries no Model (the parent parses one again if it asks: generation.Entry)."""
    jobs = workers(len(specs)) if pool else 1
    if jobs < 2:
        return [render(rel, raw, config) for rel, raw in specs]
    size = max(1, len(specs) // (jobs * CHUNKS_PER_WORKER))
    chunks = [specs[i:i + size] for i in range(0, len(specs), size)]
    results: list[list[Rendered]] = [[] for _ in chunks]
    with closing(_forked(chunks, config, jobs)) as arrived:  # closed at once, even by an interrupt
        for index, (rendered, clean) in arrived:
            results[index] = rendered
            secrets.add_found_clean(clean)  # what the workers' secret checks cleared, for the parent to keep
    return [one for chunk in results for one in chunk]


@dataclass
class _Worker:
    pid: int
    tasks: int  # the parent's end of the pipe that sends chunk numbers
    results: int  # the parent's end of the pipe that brings results back
    chunk: int | None = None  # the chunk it works on
    buffer: bytearray = field(default_factory=bytearray)  # a result arriving (a pipe gives ~64 KiB a read)


def _forked(chunks: list[_Chunk], config: Config, jobs: int) -> Generator[tuple[int, _Result], None, None]:
    """(chunk number, result) of every chunk, rendered by `jobs` forked workers; the workers are gone
    when this ends, however it ends."""
    pool: list[_Worker] = []
    try:
        for _ in range(jobs):
            _fork(chunks, config, pool)
        yield from _schedule(chunks, config, pool)
    finally:
        _stop(pool)


def _fork(chunks: list[_Chunk], config: Config, pool: list[_Worker]) -> None:
    """One more worker, in pool before any signal can interrupt this process again."""
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    try:
        with interrupts.deferred():  # the child must not run the parent's handlers, even for a moment
            pid = os.fork()
            if pid == 0:
                _child(chunks, config, task_r, result_w, [task_w, result_r, *_fds(pool)])
            pool.append(_Worker(pid, task_w, result_r))
    except BaseException:
        if not pool or pool[-1].tasks != task_w:  # the fork failed: these ends belong to no worker
            os.close(task_w)
            os.close(result_r)
        raise
    finally:
        os.close(task_r)
        os.close(result_w)


def _fds(pool: list[_Worker]) -> list[int]:
    return [fd for worker in pool for fd in (worker.tasks, worker.results)]


def _schedule(chunks: list[_Chunk], config: Config, pool: list[_Worker]) -> Iterator[tuple[int, _Result]]:
    """Hand each idle worker the next chunk; yield each result as it arrives. A worker that dies with a
    chunk in hand (killed from outside) leaves that chunk to this process."""
    pending = iter(range(len(chunks)))
    busy = {worker.results: worker for worker in pool if _assign(worker, pending)}
    while busy:
        interrupts.raise_if_received()
        ready, _, _ = select.select(list(busy), [], [])
        for fd in ready:
            worker = busy[fd]
            result = _receive(worker)
            if result is _NOT_YET:
                continue
            chunk = worker.chunk
            assert chunk is not None
            if result is _GONE:
                del busy[fd]
                result = _render_chunk(chunks[chunk], config)
            yield chunk, result
            if fd in busy and not _assign(worker, pending):
                del busy[fd]


_NOT_YET, _GONE = object(), object()


def _assign(worker: _Worker, pending: Iterator[int]) -> bool:
    worker.chunk = next(pending, None)
    if worker.chunk is None:
        return False
    with suppress(OSError):  # it died since its last result: its result pipe ends, its chunk is left to this process
        os.write(worker.tasks, _HEADER.pack(worker.chunk))
    return True


def _receive(worker: _Worker) -> Any:
    """The worker's whole result once it has arrived, _NOT_YET while it is on its way, _GONE if the worker died."""
    data = os.read(worker.results, 1 << 20)
    if not data:
        return _GONE
    worker.buffer += data
    if len(worker.buffer) < _HEADER.size:
        return _NOT_YET
    (length,) = _HEADER.unpack_from(worker.buffer)
    if len(worker.buffer) < _HEADER.size + length:
        return _NOT_YET
    with memoryview(worker.buffer) as view:  # released before the buffer shrinks
        result = pickle.loads(view[_HEADER.size:_HEADER.size + length])
    del worker.buffer[:_HEADER.size + length]
    if isinstance(result, BaseException):  # a bug in rendering: raised here, as in one process
        raise result
    return result


def _stop(pool: list[_Worker]) -> None:
    """Close every pipe, kill every worker (done ones have already exited) and reap them all."""
    for worker in pool:
        for fd in (worker.tasks, worker.results):
            with suppress(OSError):
                os.close(fd)
        with suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
    for worker in pool:
        with suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)


def _child(chunks: list[_Chunk], config: Config, tasks: int, results: int, others: list[int]) -> None:
    """A worker's life: render the chunks it is sent until its task pipe closes. Never returns."""
    code = 1
    try:
        interrupts.reset_in_child()  # Ctrl-C goes to the parent, which stops the workers
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for fd in others:
            os.close(fd)
        _serve(chunks, config, tasks, results)
        code = 0
    finally:
        os._exit(code)  # never the parent's cleanup (atexit, finally blocks) in a fork


def _serve(chunks: list[_Chunk], config: Config, tasks: int, results: int) -> None:
    sent = secrets.found_clean()  # the cleared values' digests the parent has (it had them before the fork)
    while header := _read_exactly(tasks, _HEADER.size):
        (chunk,) = _HEADER.unpack(header)
        try:
            rendered, clean = _render_chunk(chunks[chunk], config)
            result: object = (rendered, clean - sent)
            sent |= clean
        except Exception as exc:  # sent to the parent, which raises it
            result = exc
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(results, _HEADER.pack(len(payload)) + payload)


def _render_chunk(chunk: _Chunk, config: Config) -> tuple[list[Rendered], set[bytes]]:
    """A chunk's results without Models (the parent parses one again if it asks), and the values cleared."""
    out: list[Rendered] = []
    for rel, raw in chunk:
        name, _model, tree, found = render(rel, raw, config)
        out.append((name, None, tree, found))
    return out, secrets.found_clean()


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            return b""
        data += more
    return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
