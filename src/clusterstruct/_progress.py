"""Progress bars that stay out of the way.

:func:`progress` gives a ``tqdm`` bar on standard error when one helps a person watching
and a silent stand-in otherwise, with the same interface, so a loop is written once::

    with progress(total=len(items), desc="fitting") as bar:
        for item in items:
            ...
            bar.update()

A bar is shown when standard error is a terminal and the environment variable
``CLUSTERSTRUCT_NO_PROGRESS`` is unset (or empty or "0").  The command line's
``--no-progress`` sets that variable for the command it runs, so every bar of the command
(and of the processes it starts, such as Dask workers) is off; output redirected to a file
or a pipe never gets one.
"""

import os
import sys

#: Set (to anything but "" or "0") to switch every progress bar off.
ENV_VAR = "CLUSTERSTRUCT_NO_PROGRESS"


def progress_enabled(enabled=None, stream=None):
    """Whether a bar is shown: ``enabled`` if given, else stderr is a terminal and ``ENV_VAR`` is unset."""
    if enabled is not None:
        return bool(enabled)
    if os.environ.get(ENV_VAR, "").strip() not in ("", "0"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class NoProgress:
    """The silent stand-in for a tqdm bar: iterates ``iterable`` and counts, prints nothing."""

    def __init__(self, iterable=None, total=None, desc="", initial=0):
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.n = initial

    def __iter__(self):
        if self.iterable is None:
            return iter(())
        for item in self.iterable:
            yield item
            self.n += 1

    def __bool__(self):
        return True

    def __len__(self):
        if self.total is not None:
            return int(self.total)
        return len(self.iterable) if self.iterable is not None else 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n=1):
        self.n += n
        return None

    def close(self):
        return None

    def refresh(self, *args, **kwargs):
        return None

    def reset(self, total=None):
        self.n = 0
        if total is not None:
            self.total = total

    def set_description(self, desc=None, refresh=True):
        self.desc = desc or ""

    def set_description_str(self, desc=None, refresh=True):
        self.desc = desc or ""

    def set_postfix(self, *args, **kwargs):
        return None

    def set_postfix_str(self, s="", refresh=True):
        return None

    def write(self, s, *args, **kwargs):
        return None


def progress(iterable=None, *, total=None, desc="", enabled=None, **tqdm_options):
    """A tqdm bar on stderr, or a silent :class:`NoProgress` with the same interface.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and iterated as by ``tqdm(iterable)``.
    total : int, optional
        Number of expected steps (default ``len(iterable)`` where it has one).
    desc : str
        Label in front of the bar.
    enabled : bool, optional
        True shows the bar, False hides it; None (default): shown when stderr is a terminal
        and ``CLUSTERSTRUCT_NO_PROGRESS`` is not set (:func:`progress_enabled`).
    **tqdm_options
        Passed to ``tqdm`` (``unit``, ``initial``, ``delay``, ``leave``, ...); ``initial``
        also sets the stand-in's count.

    Returns
    -------
    tqdm.tqdm or NoProgress
        Both iterate, ``update(n)``, ``close()``, ``set_postfix(...)`` and work as context
        managers.
    """
    if not progress_enabled(enabled):
        return NoProgress(iterable, total=total, desc=desc, initial=tqdm_options.get("initial", 0))
    from tqdm import tqdm
    tqdm_options.setdefault("dynamic_ncols", True)
    tqdm_options.setdefault("file", sys.stderr)
    return tqdm(iterable, total=total, desc=desc, **tqdm_options)


__all__ = ["ENV_VAR", "NoProgress", "progress", "progress_enabled"]
