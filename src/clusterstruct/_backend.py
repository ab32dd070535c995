"""Which kernels a ``backend="auto"`` choice resolves to.

Every function that takes ``backend="auto"`` (the pair engine of
:mod:`clusterstruct.scattering` and the optics solvers) asks
:func:`default_backend` what "auto" means:

``CLUSTERSTRUCT_BACKEND`` unset, empty or ``auto``
    the compiled Cython kernels when they are built, else the NumPy twins;
``CLUSTERSTRUCT_BACKEND=numpy``
    the NumPy twins everywhere (same results, slower; used to test the
    fallback path on machines that have the compiled kernels);
``CLUSTERSTRUCT_BACKEND=cython``
    the compiled kernels, an error where they are not built.

An explicit ``backend="cython"`` or ``backend="numpy"`` argument always wins
over the environment variable.
"""

import os

from .errors import ClusterstructError

#: Environment variable read by :func:`default_backend`.
ENV_VAR = "CLUSTERSTRUCT_BACKEND"

#: Values the variable may take.
CHOICES = ("auto", "cython", "numpy")


def default_backend():
    """What ``backend="auto"`` means now: "auto", "cython" or "numpy".

    Read from ``CLUSTERSTRUCT_BACKEND`` at every call (so a test or a worker
    process can set it at run time).

    Raises
    ------
    ClusterstructError
        When the variable holds anything but auto, cython or numpy.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return "auto"
    if value not in CHOICES:
        raise ClusterstructError(f"environment variable {ENV_VAR}={os.environ[ENV_VAR]!r}: "
                                 f"choose one of {', '.join(CHOICES)}")
    return value
