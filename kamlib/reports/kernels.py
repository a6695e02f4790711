"""Warm kernels: execute report notebooks with papermill without a kernel start per report.

Starting Python, importing pandas / Altair / kamlib and starting a Jupyter kernel costs
seconds; executing a report notebook on warm data costs a fraction of that.  So the engine
keeps a small pool of kernels, one per worker thread (``jobs``, by default one per core),
and runs report after report in them:

- papermill still parameterises and executes every notebook (its injected-parameters cell,
  cell metadata, and error banner are unchanged) through a papermill engine registered
  under :data:`ENGINE_NAME` that connects to the warm kernel instead of starting one —
  the route papermill's maintainers point to for kernel reuse (nteract/papermill#326, #616);
- before each notebook the kernel is put back into a fresh state
  (:mod:`kamlib.reports.kernel_state`): namespace, history, execution counter, working
  directory, environment, warnings filters, pandas options;
- a kernel that timed out, died or misbehaved is killed and replaced; every kernel is also
  replaced after ``max_reports`` reports to bound memory growth;
- kernels talk to the engine over Unix sockets in a private directory (no TCP ports, no
  port races between parallel kernels: nteract/papermill#511);
- kernels run in their own session, so Ctrl-C reaches only the engine, which then kills
  them (:meth:`KernelPool.kill`); if the engine itself is killed, ipykernel's parent
  poller ends them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENGINE_NAME = "kamlib-warm-kernel"
DEFAULT_KERNEL = "python3"


@dataclass(frozen=True)
class CellFailure:
    """Why and where a notebook stopped.

    ``kind``: ``error`` (a cell raised), ``timeout`` (a cell ran past the timeout),
    ``kernel`` (the kernel died), ``internal`` (the engine could not run the notebook).
    ``cell_index`` is 0-based in the *executed* notebook (papermill's numbering: it counts
    the injected-parameters cell), ``None`` when no cell is to blame.
    """

    kind: str
    ename: str
    evalue: str
    cell_index: int | None = None
    execution_count: int | None = None
    traceback: str = ""


@dataclass
class Execution:
    """An executed notebook (with papermill's error banner when it failed) and its failure."""

    notebook: Any  # nbformat.NotebookNode | None
    failure: CellFailure | None


class WarmKernel:
    """One ipykernel kept running between reports; used by a single thread."""

    def __init__(
        self,
        *,
        slot: int,
        kernel_name: str,
        cwd: Path,
        runtime_dir: Path,
        startup_timeout: float,
        max_reports: int,
        stopping: threading.Event,
    ) -> None:
        self.slot = slot
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.runtime_dir = runtime_dir
        self.startup_timeout = startup_timeout
        self.max_reports = max_reports
        self._stopping = stopping
        self.km: Any = None
        self.kc: Any = None
        self.healthy = False
        self.reports_run = 0
        self.preload: tuple[str, ...] = ()
        self.starts = 0

    # -- life cycle -------------------------------------------------------------------------
    def ensure_started(self, preload: tuple[str, ...] = ()) -> None:
        """Start (or replace) the kernel if it is not usable; import ``preload`` modules."""
        self.preload = tuple(dict.fromkeys((*self.preload, *preload)))
        if self.km is not None and self.healthy and self.reports_run < self.max_reports:
            return
        self.shutdown()
        if self._stopping.is_set():
            raise KernelPoolStopped("The report run was interrupted.")
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.starts += 1
        km = AsyncKernelManager(
            kernel_name=self.kernel_name,
            transport="ipc",
            ip=str(self.runtime_dir / f"k{self.slot}-{self.starts}"),
        )
        self.km = km
        run_sync(km.start_kernel)(cwd=str(self.cwd))
        # One client for the kernel's life: a new client costs a kernel_info handshake with
        # sleeps (~0.2–1 s) each time.  Stale replies are harmless: nbclient matches msg ids.
        self.kc = km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self.kc.allow_stdin = False
        self.reports_run = 0
        self.healthy = True
        reply = self.run_code(_warm_up_code(self.preload))
        if reply != "ok":
            self.healthy = False
            raise KernelStartError(f"The report kernel did not start cleanly: {reply}")

    def run_code(self, code: str, timeout: float | None = None) -> str:
        """Run ``code`` silently in the kernel; return ``"ok"`` or the error text."""
        from jupyter_core.utils import run_sync

        kc = self.kc
        msg_id = kc.execute(code, silent=True, store_history=False)
        limit = timeout or self.startup_timeout
        while True:
            reply = run_sync(kc.get_shell_msg)(timeout=limit)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") == "ok":
            return "ok"
        return f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"

    def kill(self) -> None:
        """Kill the kernel process at once (safe to call from another thread)."""
        km = self.km
        self.healthy = False
        if km is None:
            return
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def shutdown(self) -> None:
        """Stop the kernel (immediately: its state is of no further use)."""
        km, self.km = self.km, None
        kc, self.kc = self.kc, None
        self.healthy = False
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is None:
            return
        from jupyter_core.utils import run_sync

        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - jupyter_client's shutdown failed: kill the process
            self._kill_manager(km)
        with contextlib.suppress(Exception):
            run_sync(km.cleanup_resources)()

    @staticmethod
    def _kill_manager(km: Any) -> None:
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)

    # -- execution --------------------------------------------------------------------------
    def execute(
        self,
        notebook_path: Path,
        output_path: Path,
        *,
        parameters: Mapping[str, Any],
        timeout: float | None,
        preload: tuple[str, ...] = (),
    ) -> Execution:
        """Parameterise and execute a notebook with papermill in this kernel.

        The executed notebook is written to ``output_path`` (with papermill's error banner
        when a cell failed or timed out) and returned with the failure, if any.
        """
        import nbformat
        import papermill
        from papermill.exceptions import PapermillExecutionError, strip_color

        _register_engine()
        self.ensure_started(preload)
        self.reports_run += 1
        try:
            nb = papermill.execute_notebook(
                str(notebook_path),
                str(output_path),
                parameters=dict(parameters),
                engine_name=ENGINE_NAME,
                kernel_name=self.kernel_name,
                request_save_on_cell_execute=False,
                progress_bar=False,
                log_output=False,
                start_timeout=self.startup_timeout,
                execution_timeout=timeout if timeout else None,
                warm_kernel=self,
            )
        except PapermillExecutionError as err:
            nb = nbformat.read(str(output_path), as_version=4)
            kind = {"CellTimeoutError": "timeout", "DeadKernelError": "kernel"}.get(
                err.ename, "error"
            )
            if kind != "error":
                self.healthy = False
            return Execution(
                nb,
                CellFailure(
                    kind=kind,
                    ename=str(err.ename),
                    evalue=strip_color(str(err.evalue)),
                    cell_index=err.cell_index,
                    execution_count=err.exec_count,
                    traceback=strip_color("\n".join(err.traceback or [])),
                ),
            )
        except BaseException:
            self.healthy = False
            raise
        return Execution(nb, None)


class KernelPoolStopped(RuntimeError):
    """The pool was killed (Ctrl-C / termination) while work was queued."""


class KernelStartError(RuntimeError):
    """A kernel did not start or warm up."""


class KernelPool:
    """``size`` worker threads, each owning one :class:`WarmKernel`.

    ``submit(fn, *args)`` runs ``fn(kernel, *args)`` on the next free worker and returns a
    ``Future``.  Kernels start lazily, on a worker's first task.
    """

    def __init__(
        self,
        size: int,
        *,
        kernel_name: str = DEFAULT_KERNEL,
        cwd: Path | None = None,
        startup_timeout: float = 60.0,
        max_reports: int = 200,
    ) -> None:
        if size < 1:
            raise ValueError(f"A kernel pool needs at least one kernel. Got {size} instead.")
        self.size = size
        self.kernel_name = kernel_name
        self.cwd = Path(cwd or os.getcwd())
        self.startup_timeout = startup_timeout
        self.max_reports = max_reports
        self._tasks: queue.Queue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None]
        self._tasks = queue.Queue()
        self._stopping = threading.Event()
        self._runtime = Path(tempfile.mkdtemp(prefix="kamlib-kernels-"))
        self._workers: list[threading.Thread] = []
        self.kernels: list[WarmKernel] = []
        self._lock = threading.Lock()
        self._closed = False

    def _grow(self) -> None:
        with self._lock:
            if self._closed or len(self._workers) >= self.size:
                return
            slot = len(self._workers)
            kernel = WarmKernel(
                slot=slot,
                kernel_name=self.kernel_name,
                cwd=self.cwd,
                runtime_dir=self._runtime,
                startup_timeout=self.startup_timeout,
                max_reports=self.max_reports,
                stopping=self._stopping,
            )
            worker = threading.Thread(
                target=self._work, args=(kernel,), name=f"kamlib-report-{slot}", daemon=True
            )
            self.kernels.append(kernel)
            self._workers.append(worker)
            worker.start()

    def submit(self, fn: Callable[..., Any], *args: Any, workers: int | None = None) -> Future[Any]:
        """Queue ``fn(kernel, *args)``; use up to ``workers`` threads (default: all)."""
        if self._closed or self._stopping.is_set():
            raise KernelPoolStopped("The kernel pool is closed.")
        future: Future[Any] = Future()
        self._tasks.put((future, fn, args))
        want = min(self.size, workers or self.size)
        while len(self._workers) < want:
            before = len(self._workers)
            self._grow()
            if len(self._workers) == before:
                break
        return future

    def _work(self, kernel: WarmKernel) -> None:
        try:
            while True:
                item = self._tasks.get()
                if item is None:
                    break
                future, fn, args = item
                if not future.set_running_or_notify_cancel():
                    continue
                if self._stopping.is_set():
                    future.set_exception(KernelPoolStopped("The report run was interrupted."))
                    continue
                try:
                    future.set_result(fn(kernel, *args))
                except BaseException as exc:  # noqa: BLE001 - re-raised by the future's caller
                    future.set_exception(exc)
        finally:
            kernel.shutdown()

    def kill(self) -> None:
        """Stop at once: drop queued work and kill every kernel (Ctrl-C, termination)."""
        self._stopping.set()
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for kernel in list(self.kernels):
            kernel.kill()
        self.close(wait=1.0)

    def close(self, wait: float | None = 30.0) -> None:
        """Shut the kernels down and end the worker threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._tasks.put(None)
        deadline = None if wait is None else time.monotonic() + wait
        for worker in workers:
            worker.join(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        shutil.rmtree(self._runtime, ignore_errors=True)


def _warm_up_code(preload: tuple[str, ...]) -> str:
    return (
        "import kamlib.reports.kernel_state as _kamlib_kernel_state\n"
        "_kamlib_kernel_state.remember()\n"
        f"_kamlib_kernel_state.restore(preload={list(preload)!r})\n"
    )


def _restore_code(preload: tuple[str, ...]) -> str:
    # one statement after the import: restore() clears the namespace holding the name
    return (
        "try:\n"
        "    import kamlib.reports.kernel_state as _kamlib_kernel_state\n"
        "except ImportError:\n"
        "    get_ipython().reset(new_session=True)\n"
        "else:\n"
        f"    _kamlib_kernel_state.restore(preload={list(preload)!r})\n"
    )


_registered = False
_register_lock = threading.Lock()


def _register_engine() -> None:
    """Register the warm-kernel papermill engine (once, on first use, not on import)."""
    global _registered
    with _register_lock:
        if _registered:
            return
        from papermill.engines import papermill_engines

        papermill_engines.register(ENGINE_NAME, _engine_class())
        _registered = True


def _engine_class() -> type:
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    # nbclient logs a timeout at ERROR level; kamlib reports it itself, so keep it off stderr
    # unless the application configures logging.
    logger = logging.getLogger("kamlib.reports.nbclient")
    logger.addHandler(logging.NullHandler())

    class WarmKernelClient(PapermillNotebookClient):
        """papermill's notebook client, on a kernel it does not own and does not stop."""

        def __init__(self, nb_man: Any, *, warm_kernel: WarmKernel, **kw: Any) -> None:
            super().__init__(nb_man, km=warm_kernel.km, **kw)
            self.warm_kernel = warm_kernel
            self.kc = warm_kernel.kc  # reuse the kernel's client: no handshake per report

        def execute(self, **kwargs: Any) -> Any:
            self.reset_execution_trackers()
            with self.setup_kernel(**kwargs):  # km given: kernel kept alive afterwards
                try:
                    self._restore_kernel_state()
                    self.papermill_execute_cells()
                    if self.warm_kernel.healthy:
                        info = self.wait_for_reply(self.kc.kernel_info())
                        if info is not None and "language_info" in info["content"]:
                            self.nb.metadata["language_info"] = info["content"]["language_info"]
                    self.set_widgets_metadata()
                finally:
                    self.kc = None  # the channels belong to the warm kernel, which keeps them
            return self.nb

        def _restore_kernel_state(self) -> None:
            msg_id = self.kc.execute(
                _restore_code(self.warm_kernel.preload), silent=True, store_history=False
            )
            reply = self.wait_for_reply(msg_id)
            if reply is None or reply["content"].get("status") != "ok":
                self.warm_kernel.healthy = False
                detail = "" if reply is None else reply["content"].get("evalue", "")
                raise KernelStartError(f"Could not reset the report kernel: {detail}")

        def papermill_execute_cells(self) -> None:
            # papermill's loop, plus: execution counts start at 1 in a reused kernel, and a
            # timeout or dead kernel becomes an error output, so papermill writes its
            # banner and raises PapermillExecutionError naming the cell, as for any error.
            for index, cell in enumerate(self.nb.cells):
                try:
                    self.nb_man.cell_start(cell, index)
                    self.execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
                except CellExecutionError as ex:
                    self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                    break
                except (CellTimeoutError, DeadKernelError) as ex:
                    self.warm_kernel.healthy = False
                    failed = self.nb.cells[index]
                    if isinstance(ex, CellTimeoutError):
                        ename = "CellTimeoutError"
                        evalue = (
                            f"The cell was still running after {self.timeout} s (the timeout); "
                            "kamlib stopped the report."
                        )
                    else:
                        ename = "DeadKernelError"
                        evalue = "The kernel died while running this cell (out of memory?)."
                    failed.execution_count = self.code_cells_executed
                    failed.outputs.append(
                        nbformat.v4.new_output(
                            "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
                        )
                    )
                    self.nb_man.cell_exception(failed, cell_index=index, exception=ex)
                    break
                finally:
                    self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)

    class WarmKernelEngine(NBClientEngine):
        """papermill engine that executes in a :class:`WarmKernel`."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            warm_kernel: WarmKernel | None = None,
            **kwargs: Any,
        ) -> Any:
            if warm_kernel is None:
                raise KernelStartError(f"The {ENGINE_NAME} engine needs a warm_kernel.")
            client = WarmKernelClient(
                nb_man,
                warm_kernel=warm_kernel,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                interrupt_on_timeout=False,
            )
            return client.execute()

    return WarmKernelEngine
