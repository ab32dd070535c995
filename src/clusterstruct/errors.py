"""Exceptions raised for bad input.

Every message names the offending source (file, argument) and the problem in
one line, so the command line can print it as is.
"""


class ClusterstructError(ValueError):
    """Bad input to clusterstruct: a malformed file, an impossible setting, ..."""


class StructureError(ClusterstructError):
    """A structure that cannot be used: unreadable, empty, NaN coordinates, unknown element."""


class OverlapError(StructureError):
    """Two atoms closer than the allowed minimum distance."""
