"""Write files so that a reader never sees half of one.

Output goes to a temporary file in the destination folder, which is renamed
over the destination (``os.replace``, atomic on POSIX) only once the writer
has finished without error; on error the temporary file is removed.
"""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{path}: output folder {folder} does not exist")
    base = os.path.basename(path)
    suffix = os.path.splitext(base)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part" + suffix, dir=folder)
    try:
        os.close(fd)
        # mkstemp creates the file 0600; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


def write_csv_atomic(path, rows, fieldnames=None):
    """Write a list of dicts as CSV atomically (keys of the first row unless ``fieldnames``)."""
    import csv
    import io
    buf = io.StringIO()
    if rows or fieldnames:
        writer = csv.DictWriter(buf, fieldnames=fieldnames or list(rows[0]), extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())
