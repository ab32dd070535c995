"""Debye-formula small-angle X-ray scattering of a finite cluster.

Definition
----------
For atoms i at r_i with X-ray form factors f_i(q) (Waasmaier-Kirfel, see
:mod:`clusterstruct.scattering.formfactors`) the orientation-averaged
intensity of one cluster in vacuum is

    I(q) = sum_i f_i(q)^2
           + 2 sum_{i<j} f_i(q) f_j(q) T_i(q) T_j(q) sin(q r_ij) / (q r_ij),

in electrons^2 per cluster, q = 4 pi sin(theta)/lambda in 1/A.  I(0) equals
(sum_i f_i(0))^2.

Thermal (Debye-Waller) damping, optional, per element: the amplitude factor
T_i(q) = exp(-B_i s^2) = exp(-B_i q^2 / (16 pi^2)), B = 8 pi^2 U_iso in A^2,
so a pair term carries exp(-(B_i + B_j) q^2 / (16 pi^2)).  The self terms
f_i^2 are *not* damped: an atom's displacement does not change its distance
to itself (the intensity the pair terms lose reappears as diffuse
scattering).

Computation
-----------
Exact: every pair, O(N^2 nq).  Histogram: distances spread onto a grid of
spacing dr = 0.015/q_max with cubic Lagrange weights, then O(n_bins nq); the
error against the exact sum is below 1e-6 relative at every q, minima included
(bound and measurements in ``cython_ext/_pairs.pyx``; tests in
``tests/scattering/test_debye.py`` and ``test_kernel_recurrence.py``).  On a
uniform q grid both sum sin(q r)/r by a recurrence along q (one sincos per
distance or node per 128 q values, angle addition in between; ~1e-13 relative),
and ``mode="auto"`` picks the cheaper by the cost model of
``_engine.auto_mode`` (constants from ``benchmarks/cost_model.py``); other grids
take one sine per term and the rule ``_engine.PAIRS_PER_BIN``.

Validation
----------
Tests compare I(q->0) with (sum f)^2, invariance under rotation, translation
and permutation, a dense random sphere with the 3 j1(x)/x form factor, the
kernels with their NumPy twins, and DebyeCalculator's output
(``tools/make_debyecalculator_reference.py``).
"""

from dataclasses import dataclass, field
import time

import numpy as np

from .._threads import resolve_threads
from .._version import __version__
from ..errors import ClusterstructError
from . import _engine
from .formfactors import Q_MAX_TABLE, atomic_form_factor, debye_waller
from .sizes import SPHERE_D_OVER_RG, guinier_fit, max_dimension

INTENSITY_UNIT = "electrons^2 per cluster"


@dataclass(frozen=True)
class SaxsProfile:
    """A computed SAXS profile.

    Attributes
    ----------
    q : ndarray
        Scattering vector [1/A].
    intensity : ndarray
        I(q) [electrons^2 per cluster].
    meta : dict
        Settings and provenance: mode, backend, dr, b_iso, counts, version, ...
    partials : dict or None
        ``{"Cd-Se": I_CdSe(q), ...}`` per unordered element pair when asked
        for; they sum to ``intensity``.
    """

    q: np.ndarray
    intensity: np.ndarray
    meta: dict = field(default_factory=dict)
    partials: dict | None = None


def validate_q(q, source="q"):
    """Return q as a float array; raise if empty, non-finite, <= 0, unsorted or beyond the table."""
    q = np.asarray(q, dtype=float)
    if q.ndim != 1 or q.size == 0:
        raise ClusterstructError(f"{source}: q must be a non-empty 1-D array")
    if not np.isfinite(q).all():
        raise ClusterstructError(f"{source}: q contains NaN or infinite values")
    if (q <= 0).any():
        raise ClusterstructError(f"{source}: q must be > 0 (found {q.min():g})")
    if q.size > 1 and (np.diff(q) <= 0).any():
        raise ClusterstructError(f"{source}: q must be strictly increasing")
    if q.max() > Q_MAX_TABLE:
        raise ClusterstructError(f"{source}: q up to {q.max():g} 1/A is beyond the form-factor "
                                 f"table (75.4 1/A); is the grid in nm^-1 rather than 1/A?")
    return q


def _b_iso_per_element(b_iso, elements):
    if b_iso is None:
        return {el: 0.0 for el in elements}
    if np.isscalar(b_iso):
        b = float(b_iso)
        if not np.isfinite(b) or b < 0:
            raise ClusterstructError(f"b_iso must be a finite value >= 0 A^2, got {b_iso!r}")
        return {el: b for el in elements}
    out = {}
    unknown = set(b_iso) - set(elements)
    if unknown:
        raise ClusterstructError(f"b_iso given for element(s) not in the structure: "
                                 f"{', '.join(sorted(unknown))}")
    for el in elements:
        b = float(b_iso.get(el, 0.0))
        if not np.isfinite(b) or b < 0:
            raise ClusterstructError(f"b_iso[{el}] must be a finite value >= 0 A^2, got {b!r}")
        out[el] = b
    return out


def debye_intensity_arrays(positions, symbols, q, *, b_iso=None, mode="auto", backend="auto",
                           partials=False, dr=None, n_threads=None, check=True,
                           allow_overlap=False, source="structure", dmax=None):
    """Debye SAXS intensity from plain arrays.

    Parameters
    ----------
    positions : (N, 3) array_like
        Atom positions [A].
    symbols : (N,) sequence of str or int
        Element symbols or atomic numbers.
    q : (nq,) array_like
        Scattering vector [1/A], > 0, strictly increasing.
    b_iso : float or dict, optional
        Isotropic Debye-Waller B [A^2], one value or ``{element: B}``
        (amplitude factor exp(-B q^2 / 16 pi^2); self terms undamped).
    mode : {"auto", "exact", "histogram"}
        "auto": the histogram where it is faster than the exact sum
        (more than ``_engine.PAIRS_PER_BIN`` pairs per histogram bin).
    backend : {"auto", "cython", "numpy"}
    partials : bool
        Also return the per-element-pair partial intensities.
    dr : float, optional
        Histogram spacing [A] (default 0.015 / q_max).
    n_threads : int, optional
        Threads for the compiled kernel (default: all cores, or OMP_NUM_THREADS).
    check : bool
        Validate positions (finite, known elements, no atoms closer than 0.5 A).
    dmax : float, optional
        Largest interatomic distance [A], if the caller has it already.

    Returns
    -------
    SaxsProfile
    """
    from ase.data import chemical_symbols

    if not (isinstance(symbols, list) and set(map(type, symbols)) <= {str}):
        symbols = [chemical_symbols[s] if isinstance(s, (int, np.integer)) else str(s) for s in symbols]
    pos = np.asarray(positions, dtype=float)
    if check:
        from ..io import check_arrays
        check_arrays(pos, symbols, source=source, allow_overlap=allow_overlap)
    q = validate_q(q)
    n_threads = resolve_threads(n_threads)
    t0 = time.perf_counter()
    sums = _engine.pair_sinc_sums(pos, symbols, q, mode=mode, backend=backend, dr=dr,
                                  n_threads=n_threads, dmax=dmax)
    elements = list(sums.counts)
    b = _b_iso_per_element(b_iso, elements)
    f0 = {el: atomic_form_factor(el, q) for el in elements}
    fd = {el: f0[el] * debye_waller(b[el], q) for el in elements}
    parts = {}
    for t, (ea, eb) in enumerate(sums.pairs):
        term = 2.0 * fd[ea] * fd[eb] * sums.sums[t]
        if ea == eb:
            term = term + sums.counts[ea] * f0[ea] ** 2
        parts[f"{ea}-{eb}"] = term
    intensity = np.sum(list(parts.values()), axis=0)
    meta = {
        "n_atoms": len(pos),
        "counts": dict(sums.counts),
        "mode": sums.mode,
        "backend": "numpy" if _engine.kernels(backend) is not _engine._cython_kernels else "cython",
        "dr_A": sums.dr,
        "n_threads": n_threads,
        "b_iso_A2": b,
        "q_unit": "1/A",
        "intensity_unit": INTENSITY_UNIT,
        "form_factors": "Waasmaier-Kirfel 1995 via periodictable.cromermann",
        "debye_waller": "pair terms exp(-(Bi+Bj) q^2/(16 pi^2)); self terms undamped",
        "seconds": time.perf_counter() - t0,
        "version": __version__,
    }
    return SaxsProfile(q=q, intensity=intensity, meta=meta, partials=parts if partials else None)


def debye_intensity(atoms, q, *, b_iso=None, mode="auto", backend="auto", partials=False,
                    dr=None, n_threads=None, check=True, allow_overlap=False):
    """Debye SAXS intensity of a cluster (periodic cell ignored).

    ``atoms`` is an ``ase.Atoms``, a structure file path (``file@index`` for a frame) or a
    pymatgen Molecule (:func:`clusterstruct.io.as_atoms`).
    See :func:`debye_intensity_arrays` for the parameters and
    the module docstring for the definition and conventions.

    See Also
    --------
    clusterstruct.units.b_from_uiso : B = 8 pi^2 Uiso, for ``b_iso`` from a PDF's Uiso.

    Examples
    --------
    >>> from clusterstruct.structures import tetrahedron
    >>> from clusterstruct.scattering import debye_intensity
    >>> prof = debye_intensity(tetrahedron("CdSe", 6), [0.05, 0.1, 0.2])
    >>> prof.meta["counts"]
    {'Cd': 56, 'Se': 35}
    """
    from ..io import as_atoms, formula
    atoms = as_atoms(atoms, allow_overlap=allow_overlap)
    prof = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q, b_iso=b_iso,
                                  mode=mode, backend=backend, partials=partials, dr=dr,
                                  n_threads=n_threads, check=check, allow_overlap=allow_overlap)
    prof.meta["formula"] = formula(atoms.get_chemical_symbols())
    return prof


def structure_sizes(atoms, *, qrg_max=1.3, n_points=40, backend="auto"):
    """Size descriptors of a cluster, each with its definition.

    Returns
    -------
    dict
        ``rg_number_A`` (number-weighted Rg), ``rg_electron_A`` (weights
        f_i(0)), ``dmax_A`` (largest centre-centre distance), ``guinier``
        (Rg, I0 and q range of a Guinier fit to the computed Debye profile on
        q <= qrg_max/Rg), ``d_sphere_from_rg_A`` (2.582 x Guinier Rg).
    """
    from ..observables import radii_of_gyration
    symbols = atoms.get_chemical_symbols()
    pos = atoms.positions
    rg_n, rg_e = radii_of_gyration(pos, symbols)
    out = {
        "rg_number_A": rg_n,
        "rg_electron_A": rg_e,
        "dmax_A": max_dimension(pos, backend=backend),
    }
    if len(pos) > 1 and rg_e > 0:
        rg = rg_e
        for _ in range(2):  # refine the range with the fitted Rg
            q = np.linspace(0.02, qrg_max, n_points) / rg
            prof = debye_intensity_arrays(pos, symbols, q, backend=backend, check=False)
            fit = guinier_fit(prof.q, prof.intensity)
            rg = fit.rg
        out["guinier"] = {"rg_A": fit.rg, "i0": fit.i0, "q_range_invA": list(fit.q_range),
                          "qrg_max": fit.qrg_max, "n_points": fit.n_points}
        out["d_sphere_from_rg_A"] = SPHERE_D_OVER_RG * fit.rg
    return out
