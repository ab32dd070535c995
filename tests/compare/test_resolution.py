"""Slit and pinhole smearing against sasmodels and exact quadrature; fits of smeared data; the SAXSess file."""

import glob
import json
import os

import numpy as np
import pytest
from scipy.integrate import quad

from clusterstruct.compare import SaxsData, load_saxs, unified
from clusterstruct.compare.resolution import Resolution, resolution_for
from clusterstruct.compare.structure_factor import fit_sizes
from clusterstruct.errors import ClusterstructError

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
PDH = os.path.join(DATA, "sasview", "saxess_example.pdh")


def _sphere(q, r=12.0):
    x = q * r
    return (3 * (np.sin(x) - x * np.cos(x)) / x ** 3) ** 2


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(DATA, "sasmodels", "smear_sphere_*.csv"))),
                         ids=os.path.basename)
def test_smearing_matches_sasmodels(path):
    case = json.loads(open(path).readline().split("case ")[1].split("; q in")[0])
    q, plain, smeared = np.loadtxt(path, delimiter=",", unpack=True)
    if case["resolution"] == "Slit1D":
        res = Resolution("slit", slit_length=case["q_length_invA"])
    else:
        dq = 0.1 * q if case["dq_invA"] == "0.1 q" else np.full_like(q, case["dq_invA"])
        res = Resolution("pinhole", dq=dq)
    c = np.median(plain / _sphere(q))          # sasmodels' absolute units
    mine = c * res.smear(_sphere, q)
    # sasmodels on a 20000-point q_calc grid; the smearing itself changes I by up to 300 %
    np.testing.assert_allclose(mine, smeared, rtol=3e-4)


def test_slit_smearing_equals_the_integral():
    L = 0.3
    res = Resolution("slit", slit_length=L)
    for q in (0.01, 0.1, 0.33):
        exact = quad(lambda u: _sphere(np.sqrt(q * q + u * u)), 0, L, limit=400)[0] / L
        assert res.smear(_sphere, np.array([q]))[0] == pytest.approx(exact, rel=1e-9)


def test_slit_smeared_fit_recovers_rg():
    # a one-level unified particle (Rg 8 A, P = 4), slit-smeared with the SAXSess slit length
    q = np.geomspace(0.01, 0.5, 150)
    truth = [(200.0, 8.0, 1.62 * 200.0 / 8.0 ** 4, 4.0)]
    res = Resolution("slit", slit_length=0.5639)
    i = res.smear(lambda x: unified(x, truth, 0.0), q) + 0.02
    rng = np.random.default_rng(7)
    y = i * (1 + 0.01 * rng.normal(size=len(q)))
    with_res = fit_sizes(q, y, 0.01 * i, structure_factor="none", resolution=res)
    assert with_res.rg_A[0] == pytest.approx(8.0, rel=0.02)
    assert with_res.resolution == {"kind": "slit", "source": "user", "slit_length_invA": 0.5639}
    assert with_res.chi2_red < 1.5


def test_pinhole_dq_fit_recovers_rg():
    q = np.geomspace(0.01, 0.5, 150)
    truth = [(200.0, 8.0, 1.62 * 200.0 / 8.0 ** 4, 4.0)]
    res = Resolution("pinhole", dq=0.15 * q)
    i = res.smear(lambda x: unified(x, truth, 0.0), q) + 0.02
    y = i * (1 + 0.01 * np.random.default_rng(8).normal(size=len(q)))
    fit = fit_sizes(q, y, 0.01 * i, structure_factor="none", resolution=res)
    assert fit.rg_A[0] == pytest.approx(8.0, rel=0.02)


def test_pdh_slit_length_from_the_file_and_fits():
    d = load_saxs(PDH)
    assert d.meta["slit_length_invA"] == pytest.approx(0.5639055, rel=1e-6)    # CounterSlitLength 5.639 1/nm
    res = resolution_for(d)
    assert res.kind == "slit" and res.slit_length == pytest.approx(0.5639055, rel=1e-6)
    smeared = fit_sizes(d.q, d.intensity, d.sigma, structure_factor="none", resolution=res)
    plain = fit_sizes(d.q, d.intensity, d.sigma, structure_factor="none")
    assert smeared.resolution["kind"] == "slit" and plain.resolution is None
    # the slit integral lowers the apparent Porod exponent by about 1
    assert smeared.levels[0]["P"] > plain.levels[0]["P"] + 0.5


def test_slit_length_missing_or_bad():
    q = np.geomspace(0.01, 0.5, 50)
    d = SaxsData(q, np.ones(50), None, None, {"source": "frame_010.dat"})
    with pytest.raises(ClusterstructError, match="frame_010.dat.*slit length"):
        resolution_for(d, "slit")
    with pytest.raises(ClusterstructError, match="frame_010.dat.*positive"):
        resolution_for(d, "slit", slit_length=-1.0)
    with pytest.raises(ClusterstructError, match="frame_010.dat.*no dq"):
        resolution_for(d, "pinhole")
    assert resolution_for(d) is None
