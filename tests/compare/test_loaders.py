"""Loaders on the real files in tests/data/sasview, canSAS XML, NXcanSAS round trip, bad input."""

import os
import warnings

import numpy as np
import pytest

from clusterstruct.compare import DataWarning, load_saxs, write_nxcansas
from clusterstruct.errors import ClusterstructError

SAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sasview")

# file, q_unit argument, points in the file, q unit used, first q in 1/A
REAL = [
    ("saxess_example.pdh", None, 748, "nm-1", 0.0072644),
    ("FK403_0006_Nika.hdf", None, 118, "A-1", None),
    ("Lew_Sa3_DSM_QinA.h5", None, 490, "A-1", None),
    ("apoferritin.txt", "A-1", 395, "A-1", 0.0055),
    ("conalbumin.txt", "A-1", 395, "A-1", 0.0055),
]


@pytest.mark.parametrize("name,unit,n,used,q0", REAL)
def test_real_files(name, unit, n, used, q0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        d = load_saxs(os.path.join(SAS, name), q_unit=unit)
    assert d.meta["n_points_file"] == n
    assert len(d.q) == n - d.meta["n_dropped"]
    assert d.meta["q_unit_file"] == used
    assert d.meta["q_unit_from"] == ("argument" if unit else "file")
    assert np.all(np.diff(d.q) > 0) and np.all(d.intensity > 0)
    if q0:
        assert d.q[0] == pytest.approx(q0, rel=1e-6)
    if d.sigma is not None:
        assert np.all(d.sigma > 0)


def test_colette_needs_a_unit_and_drops_negative_points():
    with pytest.raises(ClusterstructError, match="does not state the q unit"):
        load_saxs(os.path.join(SAS, "apoferritin.txt"))
    with pytest.warns(DataWarning, match=r"dropped 31 of 395"):
        d = load_saxs(os.path.join(SAS, "apoferritin.txt"), q_unit="A-1")
    assert d.dq is not None and len(d.dq) == len(d.q)


def test_file_unit_conflicting_with_argument():
    with pytest.raises(ClusterstructError, match="gives q in nm-1"):
        load_saxs(os.path.join(SAS, "saxess_example.pdh"), q_unit="A-1")


def test_cansas_xml(tmp_path):
    rows = "".join(f'<Idata><Q unit="1/nm">{q}</Q><I unit="1/cm">{i}</I><Idev unit="1/cm">{0.1 * i}</Idev></Idata>'
                   for q, i in [(0.1, 100.0), (0.2, 80.0), (0.3, 50.0), (0.4, 30.0), (0.5, 20.0), (0.6, 9.0)])
    xml = ('<?xml version="1.0"?><SASroot version="1.1" xmlns="urn:cansas1d:1.1"><SASentry><Title>t</Title>'
           f'<SASdata>{rows}</SASdata></SASentry></SASroot>')
    p = tmp_path / "curve.xml"
    p.write_text(xml)
    d = load_saxs(p)
    assert d.meta["format"] == "cansas-xml" and d.meta["q_unit_file"] == "nm-1"
    np.testing.assert_allclose(d.q, [0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    np.testing.assert_allclose(d.sigma, 0.1 * d.intensity)


def test_nxcansas_round_trip(tmp_path):
    q = np.geomspace(0.01, 0.5, 50)
    i = 1e4 * np.exp(-(q * 8) ** 2 / 3) + 1.0
    p = tmp_path / "prof.h5"
    write_nxcansas(p, q, i, sigma=0.02 * i, title="test")
    d = load_saxs(p)
    np.testing.assert_allclose(d.q, q)
    np.testing.assert_allclose(d.intensity, i)
    np.testing.assert_allclose(d.sigma, 0.02 * i)
    assert d.meta["format"] == "nxcansas"


def _write(tmp_path, text, name="bad.dat"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text,match", [
    ("# header only\n# nothing\n", "no numeric data"),
    ("0.1 1\n0.2 2\n", "only 2 valid points"),
    ("0.1 1 0.1\n0.2 2 0\n0.3 3 0.1\n0.4 4 0.1\n0.5 5 0.1\n0.6 6 0.1\n", "sigma <= 0"),
    ("0.1 1\n0.2 2\n0.2 3\n0.3 4\n0.4 5\n0.5 6\n", "duplicate q"),
    ("0.1 -1\n0.2 -2\n0.3 -3\n0.4 4\n0.5 nan\n0.6 6\n", "too many to drop"),
])
def test_bad_files(tmp_path, text, match):
    with pytest.raises(ClusterstructError, match=match):
        load_saxs(_write(tmp_path, text), q_unit="A-1")


def test_columns_with_header_and_unit_in_header(tmp_path):
    text = "# pyFAI integration\n# q_nm^-1  I  sigma\n" + "".join(
        f"{q:.3f} {100 * np.exp(-q):.4f} {1 + q:.3f}\n" for q in np.linspace(0.1, 3, 30))
    d = load_saxs(_write(tmp_path, text, "pyfai.dat"))
    assert d.meta["q_unit_file"] == "nm-1" and d.q[0] == pytest.approx(0.01)


@pytest.mark.parametrize("header,unit", [
    # the q unit of the column header wins over a unit mentioned elsewhere
    ("# Rg fit over q = 0.0026..0.1709 1/A (qRg <= 1.3)\n# units: q [1/nm], I(q) [a.u.]\n# q[1/nm], I(q)\n",
     "nm-1"),
    ("# measured at 12 keV, beam 0.1 nm\n# Q (A^-1)  I  err\n", "A-1"),
    ("# q in 1/nm\n", "nm-1"),
    ("# I(q) [1/cm] against q\n# q[1/A] I\n", "A-1"),
])
def test_q_unit_from_the_q_column_only(tmp_path, header, unit):
    body = "".join(f"{q:.3f} {100 * np.exp(-q):.4f}\n" for q in np.linspace(0.1, 3, 30))
    d = load_saxs(_write(tmp_path, header + body, "h.dat"))
    assert d.meta["q_unit_file"] == unit and d.meta["q_unit_from"] == "file"
    assert d.q[0] == pytest.approx(0.1 * (0.1 if unit == "nm-1" else 1.0))


def test_unit_mentioned_outside_the_q_column_is_not_taken(tmp_path):
    text = "# Rg over q = 0.01..0.2 1/A\n# q I\n" + "".join(f"{q:.3f} {100 * np.exp(-q):.4f}\n"
                                                           for q in np.linspace(0.1, 3, 30))
    with pytest.raises(ClusterstructError, match="does not state the q unit"):
        load_saxs(_write(tmp_path, text, "h.dat"))


def test_conflicting_q_units_in_header(tmp_path):
    text = "# q [1/A]\n# q[1/nm] I\n" + "".join(f"{q:.3f} {100 * np.exp(-q):.4f}\n" for q in np.linspace(0.1, 3, 30))
    with pytest.raises(ClusterstructError, match="both 1/A and 1/nm"):
        load_saxs(_write(tmp_path, text, "h.dat"))


def test_clusterstruct_hdf5_layout(tmp_path):
    import h5py
    q = np.geomspace(0.1, 5, 40)
    p = tmp_path / "prof.h5"
    with h5py.File(p, "w") as fh:
        fh.create_dataset("q", data=q)
        fh.create_dataset("intensity", data=1e4 * np.exp(-(q * 0.8) ** 2 / 3))
        fh.attrs["q_unit"] = "1/nm"
    d = load_saxs(p)
    assert d.meta["format"] == "hdf5" and d.meta["q_unit_file"] == "nm-1"
    np.testing.assert_allclose(d.q, q / 10)
