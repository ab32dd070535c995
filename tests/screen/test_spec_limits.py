"""Spec size guards: candidates counted without enumerating them, absurd ranges refused before work,
and a screen in which every candidate fails exits non-zero."""


import pytest

from clusterstruct.cli.main import main
from clusterstruct.screen import SpecError, count_tasks, iter_tasks, load_spec
from clusterstruct.screen.spec import check_size

MIXED = """
[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [3, 4, 5]
rattle = {sigma = 0.05, copies = 2}
alloy = {element = "Te", fraction = [0.25, 0.5]}

[[candidates]]
kind = "sphere"
material = ["CdS", "ZnSe"]
lattice = ["zincblende", "wurtzite"]
radius = {min = 5, max = 6, step = 0.5}
centre = ["metal", "chalcogen"]

[[candidates]]
kind = "composition"
material = "CdS"
metal = [10, 12]
chalcogen = 6
top = 3

[[candidates]]
kind = "named"
name = ["cd35se20", "beta-cd37s20"]
rattle = {sigma = 0.05, copies = 1}
"""


def test_count_equals_enumeration(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(MIXED)
    spec = load_spec(p)
    # 2*3*2 fractions*3 copies + 2*2*3*2 + 2*3 + 2*2
    assert count_tasks(spec) == sum(1 for _ in iter_tasks(spec)) == 36 + 24 + 6 + 4


def test_huge_spec_refused_before_enumeration(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text('[[candidates]]\nkind = "sphere"\nmaterial = "ZnSe"\nradius = [5, 6]\n'
                 'rattle = {sigma = 0.05, copies = 100000000}\n')
    spec = load_spec(p)          # counting is arithmetic: this returns at once
    assert count_tasks(spec) == 2 * 100000001
    with pytest.raises(SpecError, match="200,000,002 candidates"):
        check_size(spec)
    assert check_size(spec, 300_000_000) == 200_000_002


def test_absurd_range_refused_with_its_size(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('[[candidates]]\nkind = "sphere"\nmaterial = "ZnSe"\n'
                 'radius = {min = 5, max = 1e6, step = 0.001}\n')
    with pytest.raises(SpecError, match=r"candidates\[0\]\.radius.*999,995,001 values"):
        load_spec(p)


def test_cli_max_candidates_and_all_failed(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(MIXED)
    out = tmp_path / "o.h5"
    assert main(["screen", str(p), "-o", str(out), "--workers", "0", "--max-candidates", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "70 candidates" in err[0] and not out.exists()
    # every radius below the smallest bond holds no atom: every candidate fails
    p.write_text('[[candidates]]\nkind = "sphere"\nmaterial = "CdS"\nradius = [0.3, 0.4]\n')
    assert main(["screen", str(p), "-o", str(out), "--workers", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "every one of the 2 candidates failed" in err and out.exists()
