"""A pure object's arithmetic in a process of its own (decision 0095).

Seconds of numpy and Python in a thread still hold the GIL against the event loop, and every
message the loop handles meanwhile waits for it: dispatch's positioning planner in a thread
took the alarm → work order p99 from 62 ms to 169 ms under the bench. `WorkerProcess` keeps one
copy of the object in a spawned child (installed once, not pickled per call) and calls its
methods there; only the arguments and the answer cross the pipe.

- A child that dies (OOM killer, a bug in native code) is replaced on the next call; the call
  that was running raises `WorkerLost`, so the caller decides (the positioning loop skips a
  pass).
- A child whose parent is gone (SIGKILL: the pipe's other end lives on in the child, so it
  would otherwise wait forever) exits within a second.
- The child starts from a thread: spawning writes the pickled object into the child's pipe,
  which blocks until the child has started Python and imported its modules (seconds on a busy
  machine). From the event loop that stalled dispatch past its consumer session: the broker
  gave its region to the other replica, and the chaos run's broker kill was never recovered.
- The child runs at a lower priority (nice 10): its arithmetic waits for the processes that
  answer alarms, heartbeats included."""

import asyncio
import functools
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

_installed: Any = None
NICENESS = 10


class WorkerLost(RuntimeError):
    """The child process died during the call; the next call starts a new one."""


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        threading.Event().wait(1.0)


def _install(target: Any, parent: int) -> None:
    global _installed
    _installed = target
    os.nice(NICENESS)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _call(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return getattr(_installed, method)(*args, **kwargs)


def _ready() -> int:
    return os.getpid()


class WorkerProcess:
    def __init__(self, target: Any) -> None:
        self._target = target
        self._executor: ProcessPoolExecutor | None = None

    async def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_install,
                initargs=(self._target, os.getpid()),
            )
            self._executor = executor
            try:  # the spawn, in a thread: see the module's docstring
                await asyncio.to_thread(lambda: executor.submit(_ready).result())
            except BrokenProcessPool as broken:
                self._stop(executor)
                raise WorkerLost("the worker process died as it started") from broken
        return self._executor

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """`target.method(*args, **kwargs)` in the child; the answer, or its exception."""
        executor = await self._start()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                executor, functools.partial(_call, method, args, kwargs)
            )
        except BrokenProcessPool as broken:
            self._stop(executor)
            raise WorkerLost(f"the worker process died during {method}") from broken

    def replace(self, target: Any) -> None:
        """A new object for the calls after this one (a new child installs it)."""
        self._target = target
        if self._executor is not None:
            self._stop(self._executor)

    def close(self) -> None:
        if self._executor is not None:
            self._stop(self._executor)

    def _stop(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
