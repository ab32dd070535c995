"""The ``files`` candidate kind: structures read from files, globbed relative to the spec."""

import os

import numpy as np
import pytest
from ase.io import write

from clusterstruct.screen import SpecError, count_tasks, iter_tasks, load_spec
from clusterstruct.screen.spec import family_of
from clusterstruct.screen.work import build
from clusterstruct.structures import tetrahedron


@pytest.fixture
def folder(tmp_path):
    """spec folder with models/t4.xyz, models/t5.xyz (tetrahedra n = 4, 5), other/t6.xyz and a bad file."""
    (tmp_path / "models").mkdir()
    (tmp_path / "other").mkdir()
    for n, where in ((4, "models"), (5, "models"), (6, "other")):
        write(str(tmp_path / where / f"t{n}.xyz"), tetrahedron("CdSe", n))
    (tmp_path / "other" / "broken.xyz").write_text("3\nnot a structure\nCd 0 0\n")
    return tmp_path


def _spec(folder, body):
    p = folder / "spec.toml"
    p.write_text(body)
    return p


def test_globbing_order_family_and_rattle(folder):
    path = _spec(folder, """
[[candidates]]
kind = "files"
paths = ["models/*.xyz", "other/t6.xyz", "models/t4.xyz"]
rattle = {sigma = 0.1, copies = 2}
[[candidates]]
kind = "files"
label = "relaxed"
paths = "other/t6.xyz"
""")
    spec = load_spec(path)
    # t4, t5 (sorted glob), t6; t4 named twice is kept once; x3 with two rattled copies; + 1
    assert spec["blocks"][0]["paths"] == [str(folder / "models" / "t4.xyz"), str(folder / "models" / "t5.xyz"),
                                          str(folder / "other" / "t6.xyz")]
    tasks = list(iter_tasks(spec))
    assert count_tasks(spec) == len(tasks) == 3 * 3 + 1
    fams = [family_of(spec, t) for t in tasks]
    assert fams[:3] == ["files", "files rattled sigma=0.1", "files rattled sigma=0.1"]
    assert fams[-1] == "relaxed"
    # the unrattled candidate is the file's structure (Cd20Se10 for n = 4: T(4) Cd, T(3) Se)
    a = build(spec, tasks[0])
    ref = tetrahedron("CdSe", 4)
    assert a.get_chemical_formula() == "Cd20Se10" and np.allclose(a.positions, ref.positions, atol=1e-6)
    assert "t4.xyz" in a.info["construction"]
    # a rattled copy moves every atom by ~sigma: rms displacement of 3 coordinates ~ 0.1 sqrt(3)
    b = build(spec, tasks[1])
    rms = np.sqrt(((b.positions - ref.positions) ** 2).sum(1).mean())
    assert 0.1 < rms < 0.25
    assert build(spec, tasks[-1]).get_chemical_formula() == "Cd56Se35"


@pytest.mark.parametrize("paths,words", [
    ('["nothing/*.xyz"]', "matches no file"),
    ('["models/t9.xyz"]', "no such file"),
    ('["other/*.xyz"]', "cannot read"),
    ('[]', "non-empty list"),
    ('[3]', "file pattern"),
])
def test_bad_paths_one_line_naming_the_key(folder, paths, words):
    path = _spec(folder, f'[[candidates]]\nkind = "files"\npaths = {paths}\n')
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path}: candidates[0].paths"), msg
    assert words in msg


def test_files_block_takes_no_builder_keys(folder):
    path = _spec(folder, '[[candidates]]\nkind = "files"\npaths = "models/t4.xyz"\nmaterial = "CdSe"\n')
    with pytest.raises(SpecError, match=r"candidates\[0\]\.material: unknown key for kind 'files'"):
        load_spec(path)
    path = _spec(folder, '[[candidates]]\nkind = "files"\n')
    with pytest.raises(SpecError, match=r"candidates\[0\]\.paths: missing"):
        load_spec(path)


def test_absolute_patterns(folder):
    pattern = os.path.join(str(folder), "models", "t*.xyz")
    spec = load_spec(_spec(folder, f'[[candidates]]\nkind = "files"\npaths = ["{pattern}"]\n'))
    assert len(spec["blocks"][0]["paths"]) == 2
