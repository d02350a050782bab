"""Module functions in other processes: pickled by reference, as C functions are.

Workers import the wasm module the way they import any module (here: a package whose
``__init__`` installs the hook, found through sys.path / PYTHONPATH) and share the per-user
compile cache, so only the first process compiles.  Every wait for another process has a
timeout: a worker that died or hung fails the test instead of hanging the run.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conftest import guest_path, has, refused

WAIT = 60.0         # seconds for any result from another process
T = TypeVar("T")
WRONG_THREAD = "only in the thread that imported it"


@pytest.fixture
def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``wpkg._native``: the edges guest inside a package that installs the hook."""
    package = tmp_path / "wpkg"
    package.mkdir()
    (package / "__init__.py").write_text("import wasmimport\nwasmimport.install()\n")
    for suffix in (".wasm", ".wasm.toml"):
        shutil.copy(guest_path("edges").with_suffix(suffix), package / f"_native{suffix}")
    monkeypatch.syspath_prepend(str(tmp_path))
    # worker processes find the package as they find any module
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(tmp_path), os.environ.get("PYTHONPATH")])))
    from wpkg import _native  # type: ignore[import-not-found]
    yield _native
    for name in [m for m in sys.modules if m == "wpkg" or m.startswith("wpkg.")]:
        del sys.modules[name]
    import wasmimport
    wasmimport.uninstall()


@contextmanager
def process_pool(method: str) -> Iterator[ProcessPoolExecutor]:
    """Two worker processes, killed rather than waited for when the test fails (a result
    that did not come in time): shutdown() would wait for a hung worker forever."""
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method))
    try:
        yield pool
    except BaseException:
        for process in list(pool._processes.values()):     # no public way to kill them
            process.kill()
        raise
    finally:
        pool.shutdown(cancel_futures=True)


def within(seconds: float, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` for a call with no timeout of its own: past ``seconds`` the test
    fails (TimeoutError) instead of hanging."""
    result: Future[T] = Future()

    def run() -> None:
        try:
            result.set_result(call(*args))
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the test
            result.set_exception(exc)
    threading.Thread(target=run, daemon=True).start()
    return result.result(timeout=seconds)


# Python 3.12+ warns at every fork() of a process with threads (the engine's and the
# watchdog's, see docs/sandbox.md); forking is what these tests check, so the warning is not
FORK_WARNING = "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"


@pytest.mark.filterwarnings(FORK_WARNING)
@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
def test_process_pool_executor(native: Any, method: str) -> None:
    with process_pool(method) as pool:
        assert list(pool.map(native.echo_i32, range(20), timeout=WAIT)) == list(range(20))
        assert list(pool.map(native.echo_str, ["a", "héllo"], timeout=WAIT)) == ["a", "héllo"]
        assert list(pool.map(native.sum17, *[[i] * 3 for i in range(17)],
                             timeout=WAIT)) == [136] * 3


def test_multiprocessing_pool(native: Any) -> None:
    # (a worker that dies loses its task: only a timeout ends the wait; exiting terminates)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map_async(native.echo_u64, [0, 2**64 - 1]).get(WAIT) == [0, 2**64 - 1]
        assert pool.starmap_async(native.spin, [(10,), (20,)]).get(WAIT) == [
            native.spin(10), native.spin(20)]


@pytest.mark.filterwarnings(FORK_WARNING)
@pytest.mark.usefixtures("compiled")
def test_a_time_limit_in_a_forked_worker(native: Any) -> None:
    """The watchdog thread does not survive fork(); the child starts its own.  A backend
    that cannot stop a call refuses the limit, in the child as in the parent."""
    bounded = has("limits-timeout")
    results = [_run_forever(bounded)]           # the parent's watchdog is running
    with multiprocessing.get_context("fork").Pool(1) as pool:
        results.append(pool.apply_async(_run_forever, (bounded,)).get(timeout=WAIT))
    for result in results:
        if bounded:
            assert result == "timeout"
        else:
            assert re.search(refused("limits-timeout"), result), result


def _run_forever(bounded: bool) -> str:
    """Run an endless call under a 50 ms limit: the LimitExceeded kind if it stopped, or
    the import error refusing the limit.  Not ``bounded``: never made, whatever loads."""
    import wasmimport
    try:
        limited = wasmimport.load(guest_path("edges"), manifest={
            "limits": {"timeout": "50ms"}, "functions": {"forever": "() -> None"}})
    except wasmimport.WasmImportError as exc:
        return str(exc)
    if not bounded:
        return "loaded"
    try:
        limited.forever()
    except wasmimport.LimitExceeded as exc:
        return str(exc.kind)
    return "returned"


def test_dask_distributed_local_cluster(native: Any) -> None:
    """A real Dask LocalCluster with worker processes (the `dask` test extra).

    A worker unpickles (imports) a task's function in its event loop's thread and runs the
    task in another: on a backend without "any-thread" the task fails, with the documented
    RuntimeError, reported like any task's error.  ``client.run`` calls in the former.
    """
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        futures = client.map(native.echo_i32, range(8))
        text = client.submit(native.echo_str, "from a worker")
        wait([*futures, text], timeout=WAIT)
        if has("any-thread"):
            assert [future.result(WAIT) for future in futures] == list(range(8))
            assert text.result(WAIT) == "from a worker"
        else:
            for future in [*futures, text]:
                with pytest.raises(RuntimeError, match=WRONG_THREAD):
                    future.result(WAIT)
        # each worker process imported its own instance of the module
        assert within(WAIT, client.run, native.echo_i32, 7) == dict.fromkeys(
            cluster.scheduler_info["workers"], 7)
        pids = within(WAIT, client.run, os.getpid)
        assert len(pids) == 2 and os.getpid() not in pids.values()
