"""Module functions in other processes: pickled by reference, as C functions are.

Workers import the wasm module the way they import any module (here: a package whose
``__init__`` installs the hook, found through sys.path / PYTHONPATH) and share the per-user
compile cache, so only the first process compiles.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import guest_path


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


@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
def test_process_pool_executor(native: Any, method: str) -> None:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        assert list(pool.map(native.echo_i32, range(20))) == list(range(20))
        assert list(pool.map(native.echo_str, ["a", "héllo"])) == ["a", "héllo"]
        assert list(pool.map(native.sum17, *[[i] * 3 for i in range(17)])) == [136] * 3


def test_multiprocessing_pool(native: Any) -> None:
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(native.echo_u64, [0, 2**64 - 1]) == [0, 2**64 - 1]
        assert pool.starmap(native.spin, [(10,), (20,)]) == [native.spin(10), native.spin(20)]


@pytest.mark.usefixtures("compiled")
def test_a_time_limit_in_a_forked_worker(native: Any) -> None:
    """The watchdog thread does not survive fork(); the child starts its own."""
    assert _run_forever() == "timeout"          # the parent's watchdog is running
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_run_forever).get(timeout=60) == "timeout"


def _run_forever() -> str | None:
    """Run an endless call under a 50 ms limit; the LimitExceeded kind, if it stopped."""
    import wasmimport
    limited = wasmimport.load(guest_path("edges"), manifest={
        "limits": {"timeout": "50ms"}, "functions": {"forever": "() -> None"}})
    try:
        limited.forever()
    except wasmimport.LimitExceeded as exc:
        return exc.kind
    return None


def test_dask_distributed_local_cluster(native: Any) -> None:
    """A real Dask LocalCluster with worker processes (the `dask` test extra)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        futures = client.map(native.echo_i32, range(8))
        assert client.gather(futures) == list(range(8))
        text = client.submit(native.echo_str, "from a worker").result()
        assert text == "from a worker"
        # each worker process imported its own instance of the module
        pids = client.run(os.getpid)
        assert len(pids) == 2 and os.getpid() not in pids.values()
