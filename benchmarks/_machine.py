"""Shared helpers of the benchmark scripts: machine and version lines, timing with repeats.

Every benchmark prints, before its tables, the CPU model and core count (from ``lscpu``),
the Python and NumPy versions, clusterstruct's version and kernel build, and the version of
every peer code it ran, so that a table pasted into the README carries its provenance.
"""

import importlib
import os
import platform
import shutil
import subprocess
import time

import numpy as np


def cpu_model():
    """CPU model name and logical core count as ``lscpu`` reports them (falls back to /proc)."""
    model, cpus = None, os.cpu_count()
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, val = line.partition(":")
            if key.strip() == "Model name":
                model = val.strip()
            elif key.strip() == "CPU(s)":
                cpus = int(val.strip())
    if model is None and os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return model or platform.processor() or "unknown CPU", cpus


def version_of(module):
    """``module.__version__`` or the installed distribution's version; None when not importable."""
    try:
        mod = importlib.import_module(module)
    except Exception:  # a peer that is not installed, or fails to import, is reported as absent
        return None
    v = getattr(mod, "__version__", None)
    if v is None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            v = version(module)
        except PackageNotFoundError:
            v = "unknown"
    return str(v)


def header_lines(peers=()):
    """Comment lines naming the machine and the versions of Python, NumPy, clusterstruct and peers."""
    model, cpus = cpu_model()
    import clusterstruct
    from clusterstruct.scattering import _engine
    if _engine.have_compiled_kernels():
        from clusterstruct import _pairs
        kernels = f"kernels: OpenMP={_engine.compiled_with_openmp()}, pair-pass sqrt={_pairs.SQRT_DEFAULT}"
    else:
        kernels = "kernels: not built"
    lines = [f"# machine: {model}, {cpus} logical CPUs (lscpu); {platform.system()} {platform.release()}",
             f"# python {platform.python_version()}, numpy {np.__version__}, clusterstruct "
             f"{clusterstruct.__version__} ({kernels})"]
    for p in peers:
        v = version_of(p)
        lines.append(f"# peer {p}: {v if v else 'not installed'}")
    return lines


def timed(fn, repeat=1):
    """Run ``fn`` ``repeat`` times: (best seconds, spread, last result).

    spread = (slowest - best) / best over the repeats (0 for one run).
    """
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    best = min(times)
    return best, (max(times) - best) / best, out


def fmt_time(seconds):
    """'2.1 ms', '85 ms', '1.38 s' style, three significant digits."""
    if seconds < 1.0:
        ms = seconds * 1e3
        return f"{ms:.3g} ms" if ms >= 10 else f"{ms:.2g} ms" if ms < 1 else f"{ms:.1f} ms"
    return f"{seconds:.3g} s"
