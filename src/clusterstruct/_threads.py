"""How many threads an interactive call of a compiled kernel uses."""

import os


def default_threads():
    """Threads for one interactive kernel call.

    ``CLUSTERSTRUCT_NUM_THREADS`` wins, then ``OMP_NUM_THREADS`` (batch workers
    set it to 1), then the cores this process may run on.
    """
    for var in ("CLUSTERSTRUCT_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value:
            try:
                return max(1, int(value.split(",")[0]))
            except ValueError:
                pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
