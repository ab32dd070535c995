"""What an install of clusterstruct contains and which optional parts it needs.

CI sets ``CLUSTERSTRUCT_EXPECT_INSTALLED=1`` when it tests the wheel: then the
package must be imported from the virtual environment (not from ``src/``),
with its compiled kernels and data files.
"""

import importlib.metadata
import os
import pathlib
import re
import sys

import pytest

import clusterstruct

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPECT_INSTALLED = os.environ.get("CLUSTERSTRUCT_EXPECT_INSTALLED") == "1"


@pytest.mark.skipif(not EXPECT_INSTALLED, reason="only when CI tests the installed wheel")
def test_the_installed_wheel_is_what_is_tested():
    path = pathlib.Path(clusterstruct.__file__).resolve()
    assert str(path).startswith(str(pathlib.Path(sys.prefix).resolve())), path
    assert ROOT / "src" not in path.parents
    from clusterstruct import _optics, _pairs  # compiled in the wheel
    assert _pairs.__file__.endswith((".so", ".pyd")) and _optics.__file__.endswith((".so", ".pyd"))
    data = path.parent / "data"
    assert sorted(p.name for p in data.glob("*.csv")), "package data missing from the wheel"


@pytest.mark.skipif(not EXPECT_INSTALLED, reason="only when CI tests the installed wheel")
def test_installed_metadata_makes_pymatgen_optional():
    requires = importlib.metadata.requires("clusterstruct")
    pymatgen = [r for r in requires if r.lower().startswith("pymatgen")]
    assert pymatgen and all("extra ==" in r for r in pymatgen), pymatgen
    extras = {re.search(r'extra == "([^"]+)"', r).group(1) for r in pymatgen}
    assert {"symmetry", "test"} <= extras


@pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="run from a source checkout")
def test_pyproject_pymatgen_is_an_extra_and_lowest_pins_are_in_sync():
    import subprocess
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("pymatgen")]
    extras = project["optional-dependencies"]
    assert any(d.startswith("pymatgen>=") for d in extras["symmetry"])
    assert any(d.startswith("pymatgen>=") for d in extras["test"])
    pins = ROOT / ".ci" / "lowest-constraints.txt"
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "lowest_constraints.py"), "--check", str(pins)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
