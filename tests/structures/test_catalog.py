"""The shipped structures/ folder is exactly what the catalogue command writes."""

import os
import subprocess
import sys

import pytest

REPO_STRUCTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "structures")


@pytest.mark.skipif(not os.path.isdir(REPO_STRUCTURES), reason="run from a source checkout")
def test_catalog_regenerates_shipped_files_byte_for_byte(tmp_path):
    out = subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", "build", "catalog",
                          "-o", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    written = sorted(os.listdir(tmp_path))
    shipped = sorted(f for f in os.listdir(REPO_STRUCTURES) if f.endswith((".xyz", ".csv")))
    assert written == shipped
    for name in written:
        with open(tmp_path / name, "rb") as a, open(os.path.join(REPO_STRUCTURES, name), "rb") as b:
            assert a.read() == b.read(), name
