"""How many threads an interactive call of a compiled kernel uses."""

import os

#: Most threads a kernel call accepts, as a multiple of the cores this process may use
#: (OpenMP tries to allocate per-thread stacks for any count it is given: a negative or huge
#: count aborts or crashes the process instead of failing cleanly).
MAX_THREADS_PER_CORE = 8


def default_threads():
    """Threads for one interactive kernel call.

    ``CLUSTERSTRUCT_NUM_THREADS`` wins, then ``OMP_NUM_THREADS`` (batch workers
    set it to 1), then the cores this process may run on.
    """
    for var in ("CLUSTERSTRUCT_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value:
            try:  # clamped like resolve_threads: an environment value must not crash OpenMP
                return min(max(1, int(value.split(",")[0])), MAX_THREADS_PER_CORE * _cores())
            except ValueError:
                pass
    return _cores()


def resolve_threads(n_threads):
    """``n_threads`` checked (1..8 x cores), or :func:`default_threads` when None/0.

    Raises a one-line :class:`~clusterstruct.errors.ClusterstructError` for anything else, so
    an option such as ``--threads -3`` never reaches OpenMP.
    """
    if n_threads is None or (not isinstance(n_threads, bool) and n_threads == 0):
        return default_threads()
    from .errors import ClusterstructError
    try:
        n = int(n_threads)
    except (TypeError, ValueError):
        raise ClusterstructError(f"threads must be an integer, got {n_threads!r}") from None
    cores = _cores()
    limit = MAX_THREADS_PER_CORE * cores
    if isinstance(n_threads, bool) or n != n_threads or not 1 <= n <= limit:
        raise ClusterstructError(f"threads must be an integer from 1 to {limit} ({MAX_THREADS_PER_CORE} x the "
                                 f"{cores} cores available), got {n_threads!r}")
    return n


def _cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
