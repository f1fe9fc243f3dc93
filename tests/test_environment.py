"""What a run records of the machine and libraries it ran on."""

import json
import os
import subprocess
import sys

from acefit.environment import environment, environment_line


def test_environment_names_the_blas_kernel_and_the_libraries():
    env = environment()
    assert env["cores"] == os.cpu_count() and env["cpu"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    import numpy
    assert env["packages"]["numpy"] == numpy.__version__
    assert env["blas"], "numpy's BLAS not found"
    for lib in env["blas"]:
        assert lib["architecture"] and lib["version"] and lib["num_threads"] >= 1
    line = environment_line(env)
    assert line.startswith(f"{env['cpu']} ({env['cores']} cores), ")
    assert f"{env['blas'][0]['architecture']} kernel" in line and "numpy " in line
    json.dumps(env)  # report.json takes it as it is


def test_environment_sees_the_thread_count_the_process_runs_with():
    code = ("import json; from acefit.environment import environment; "
            "print(json.dumps(environment()['blas']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, check=True)
    blas = json.loads(run.stdout)
    openblas = [b for b in blas if b["internal_api"] == "openblas"]
    assert all(b["num_threads"] == 1 for b in openblas)
    assert environment_line({"cpu": "x", "cores": 1, "blas": [], "packages": {}}) \
        .startswith("x (1 cores), unknown BLAS")


def test_each_blas_is_named_by_the_package_that_brought_it():
    """numpy's and scipy's wheels each ship an OpenBLAS, often of two versions: the report
    line says whose is whose (it listed two versions with no owner)."""
    from acefit.environment import _blas_owner

    assert _blas_owner("/v/site-packages/numpy.libs/libscipy_openblas64_-32a4.so") == "numpy"
    assert _blas_owner("/v/site-packages/scipy.libs/libscipy_openblas-6cdc.so") == "scipy"
    assert _blas_owner("/usr/lib/x86_64-linux-gnu/libopenblas.so.0") is None
    lib = {"internal_api": "openblas", "version": "0.3.30", "architecture": "Haswell",
           "num_threads": 2}
    line = environment_line({"cpu": "x", "cores": 2, "packages": {},
                             "blas": [{"used_by": "scipy", **lib}, {"used_by": None, **lib},
                                      lib]})      # the last: a report.json before the owner
    assert line.startswith("x (2 cores), scipy's openblas 0.3.30 (Haswell kernel, 2 threads), "
                           "openblas 0.3.30 (Haswell kernel, 2 threads), openblas 0.3.30 ")
    assert all(b["used_by"] in ("numpy", "scipy", None) for b in environment()["blas"])


def test_blas_libraries_are_listed_in_one_order_whatever_loaded_first(monkeypatch):
    """threadpoolctl lists the libraries in the order the process loaded them, so two runs
    of one fit listed numpy's and scipy's OpenBLAS in opposite orders in report.md."""
    import threadpoolctl

    from acefit.environment import _blas

    def lib(owner, version):
        return {"user_api": "blas", "internal_api": "openblas", "version": version,
                "architecture": "Haswell", "num_threads": 1,
                "filepath": f"/v/site-packages/{owner}.libs/libscipy_openblas.so"}

    libs = [lib("scipy", "0.3.30"), lib("numpy", "0.3.31"),
            {"user_api": "openmp", "filepath": "/v/libgomp.so"}]
    orders = []
    for listed in (libs, libs[::-1]):
        monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda listed=listed: listed)
        orders.append([(b["used_by"], b["version"]) for b in _blas()])
    assert orders[0] == orders[1] == [("numpy", "0.3.31"), ("scipy", "0.3.30")]
