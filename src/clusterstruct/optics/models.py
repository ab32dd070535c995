"""Effective-mass and empirical models of the first excitonic transition.

Every model maps a size to the first-exciton energy E [eV] (peak wavelength
lambda = 1239.84198 / E nm).  Sizes are in nm and always carry a definition
(see :class:`SizeSpec`).  Constants: hbar^2/2m0 = 0.0380998 eV nm^2,
e^2/4 pi eps0 = 1.439964 eV nm, Ry = 13.605693 eV.

Models
------
``brus`` (infinite barrier; Brus 1984, Kayanuma 1988)
    E = Eg + (hbar^2 pi^2 / 2 R^2)(1/me + 1/mh) - 1.786 e^2/(4 pi eps0 eps R) - 0.248 Ry*,
    Ry* = Ry mu / eps^2.  Assumes parabolic bands, an infinitely high wall, a
    sphere, strong confinement (R < exciton Bohr radius) and eps = static bulk
    value.  Overestimates the gap badly below ~2 nm.
``finite-barrier`` (Brus-type with finite wells)
    each carrier in a spherical well of depth V (default 3.0 eV for electron
    and hole, a named default for an organic ligand/solvent shell) with mass
    m_out = 1.0 m0 outside; BenDaniel-Duke matching, solved numerically in the
    compiled kernel; Coulomb and Rydberg terms as in ``brus``.  Always below
    ``brus`` and tends to it as V -> infinity.
``nonparabolic`` (hyperbolic band model; Wang, Suna, Mahler, Kasowski 1987)
    E = sqrt(Eg^2 + 2 Eg (hbar^2 pi^2 / 2 R^2)(1/me + 1/mh)) - 1.786 e^2/(4 pi eps0 eps R):
    the band dispersion flattens at high k, which lowers the confinement energy.
``yu2003`` (empirical)
    inverse of the Yu et al. (2003) sizing polynomial for CdSe, CdS, CdTe;
    fitted to QDs of ~2-8 nm, so warns when extrapolated (all MSCs are).
``calibrated`` (empirical correction)
    E = Eg + a / D^b per material, a and b fitted by least squares to the
    shipped table of measured (equal-volume diameter, peak) pairs
    (``data/calibration_peaks.csv``), with the leave-one-out error reported.

Shapes (equal-confinement size)
-------------------------------
The confinement term uses R_conf = R_eq / sqrt(f), f being the ratio of the
shape's lowest Dirichlet eigenvalue to that of the sphere of equal volume:
sphere 1; regular tetrahedron 1.41502 (Rayleigh-Ritz in :mod:`.shapes`);
disc of thickness L and radius Rd: (pi^2/L^2 + j01^2/Rd^2) / (pi^2/R_eq^2).
The Coulomb term uses the equal-volume radius R_eq.
"""

from dataclasses import dataclass, field
import warnings

import numpy as np

from .._threads import resolve_threads
from ..errors import ClusterstructError
from . import _numpy_kernels
from .parameters import material_parameters
from .shapes import shape_factor

try:
    from .. import _optics as _cython
except ImportError:  # pragma: no cover - extension missing
    _cython = None

HC_EV_NM = 1239.84198
MODELS = ("brus", "finite-barrier", "nonparabolic", "yu2003", "calibrated")

#: Named defaults of the finite-barrier model: well depth [eV] and outside mass [m0].
BARRIER_EV = 3.0
OUTSIDE_MASS = 1.0


class ModelRangeWarning(UserWarning):
    """A model used outside the range it was fitted or derived for."""


def energy_to_nm(e):
    return HC_EV_NM / np.asarray(e, float)


def nm_to_energy(nm):
    return HC_EV_NM / np.asarray(nm, float)


@dataclass(frozen=True)
class GapEstimate:
    """A predicted first-exciton transition.

    Attributes: ``gap_eV`` and ``peak_nm`` (arrays or floats), ``model``,
    ``material``, ``size_nm`` and ``size_definition`` (what went in),
    ``uncertainty_eV``/``uncertainty_nm`` (the model's RMS error against the
    shipped measured peaks of that material, from :func:`model_error`, in eV and
    in nm; one number per model and material; NaN where none exist), and
    ``meta`` (parameters and flags such as unbound carriers or extrapolation).
    """

    gap_eV: object
    peak_nm: object
    model: str
    material: str
    size_nm: object
    size_definition: str
    uncertainty_eV: float
    uncertainty_nm: object
    meta: dict = field(default_factory=dict)


def _kernels(backend):
    if backend == "auto":  # CLUSTERSTRUCT_BACKEND may pin what "auto" means
        from .._backend import default_backend
        backend = default_backend()
    if backend == "numpy" or (backend == "auto" and _cython is None):
        return _numpy_kernels
    if backend == "cython" and _cython is None:
        raise ClusterstructError("backend 'cython' requested but clusterstruct._optics is not built")
    if backend not in ("auto", "cython"):
        raise ClusterstructError(f"unknown backend {backend!r}; choose auto, cython or numpy")
    return _cython


def _check_sizes(d):
    d = np.atleast_1d(np.asarray(d, dtype=float))
    if d.size == 0 or not np.isfinite(d).all() or (d <= 0).any():
        raise ClusterstructError(f"sizes must be finite and > 0 nm, got {d.tolist()[:5]}")
    return d


def gap_energy(diameter_nm, material, *, model="brus", lattice=None, shape="sphere",
               aspect=None, barrier_eV=BARRIER_EV, outside_mass=OUTSIDE_MASS, x=None,
               backend="auto", n_threads=None, warn=True):
    """First-exciton energy [eV] of a ``material`` cluster of equal-volume diameter ``diameter_nm``.

    Parameters
    ----------
    diameter_nm : float or array
        Equal-volume (core) diameter [nm].
    material : str
        "CdSe", "CdS", "CdTe", "ZnSe", "ZnS", or an alloy "CdSe_xTe" via ``x``.
    model : {"brus", "finite-barrier", "nonparabolic", "yu2003", "calibrated"}
    lattice : {"zincblende", "wurtzite"}, optional
        Which bulk parameter row (default: zinc blende where tabulated).
    shape : {"sphere", "tetrahedron", "disc"}
        Equal-confinement shape factor (effective-mass models only).
    aspect : float, optional
        Disc only: thickness / diameter.
    barrier_eV, outside_mass : float
        Finite-barrier well depth [eV] and mass outside [m0].
    x : float, optional
        For alloys CdSe(x)Te(1-x): Se fraction (material "CdSeTe").

    Returns
    -------
    ndarray of energies [eV] (same shape as the input, at least 1-D) and a dict of flags.
    """
    d = _check_sizes(diameter_nm)
    if model not in MODELS:
        raise ClusterstructError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    flags = {}
    if model == "yu2003":
        from .sizing import yu2003_peak_nm
        peak = yu2003_peak_nm(material, d, warn=warn)
        return nm_to_energy(peak), flags
    p = material_parameters(material, lattice, x=x)
    k = _kernels(backend)
    n_threads = resolve_threads(n_threads)
    out = np.empty_like(d)
    if model == "calibrated":
        from .calibration import calibration
        cal = calibration(p.material)
        k.power_gap(d, p.Eg, cal.a, cal.b, out, n_threads)
        if warn and (d.min() < cal.d_min * 0.8 or d.max() > cal.d_max * 1.25):
            warnings.warn(f"calibrated {p.material} model used at D = {d.min():.2f}..{d.max():.2f} nm, "
                          f"outside its data ({cal.d_min:.2f}..{cal.d_max:.2f} nm)", ModelRangeWarning,
                          stacklevel=2)
        return out, flags
    f = shape_factor(shape, aspect=aspect)
    r_eq = np.ascontiguousarray(d / 2.0)
    r_conf = np.ascontiguousarray(r_eq / np.sqrt(f))
    if model == "brus":
        k.brus_gap(r_conf, r_eq, p.Eg, p.me, p.mh, p.eps, out, n_threads)
    elif model == "nonparabolic":
        k.hyperbolic_gap(r_conf, r_eq, p.Eg, p.me, p.mh, p.eps, out, n_threads)
    else:
        if not barrier_eV > 0 or not outside_mass > 0:
            raise ClusterstructError("finite-barrier needs barrier_eV > 0 and outside_mass > 0")
        bound = np.empty(len(d), dtype=np.int32)
        k.finite_barrier_gap(r_conf, r_eq, p.Eg, p.me, p.mh, p.eps, float(barrier_eV), float(barrier_eV),
                             float(outside_mass), float(outside_mass), out, bound, n_threads)
        if not bound.all():
            flags["unbound"] = int((bound == 0).sum())
            if warn:
                warnings.warn(f"finite-barrier: a carrier is not bound for {flags['unbound']} size(s) "
                              f"(well depth {barrier_eV} eV); its energy is set to the barrier",
                              ModelRangeWarning, stacklevel=2)
    return out, flags


def default_model(material):
    """'calibrated' where calibration data exist for the material, else 'finite-barrier'."""
    from .calibration import calibration_data
    name = str(material).lower()
    return "calibrated" if any(r["material"].lower() == name for r in calibration_data()) else "finite-barrier"


def predict(diameter_nm, material, *, model=None, size_definition="equal-volume diameter",
            lattice=None, shape="sphere", aspect=None, barrier_eV=BARRIER_EV,
            outside_mass=OUTSIDE_MASS, x=None, backend="auto", warn=True):
    """Predicted first-exciton peak with the model's error against measured peaks.

    ``model=None`` picks :func:`default_model`.

    Returns
    -------
    GapEstimate
    """
    model = model or default_model(material)
    e, flags = gap_energy(diameter_nm, material, model=model, lattice=lattice, shape=shape,
                          aspect=aspect, barrier_eV=barrier_eV, outside_mass=outside_mass, x=x,
                          backend=backend, warn=warn)
    from .calibration import model_error
    p_material = material_parameters(material, lattice, x=x).material
    err = model_error(p_material, model)
    peak = energy_to_nm(e)
    # The model's uncertainty is its RMS error over the measured peaks of the material, in nm
    # and in eV, the same numbers wherever the model is used (gap, size, compare-abs, screens).
    unc_nm = np.full_like(peak, err["rms_nm"])
    scalar = np.ndim(diameter_nm) == 0
    pick = (lambda a: float(a[0])) if scalar else (lambda a: a)
    return GapEstimate(gap_eV=pick(e), peak_nm=pick(peak), model=model, material=p_material,
                       size_nm=float(diameter_nm) if scalar else np.asarray(diameter_nm, float),
                       size_definition=size_definition, uncertainty_eV=err["rms_eV"],
                       uncertainty_nm=pick(unc_nm),
                       meta={"shape": shape, "barrier_eV": barrier_eV if model == "finite-barrier" else None,
                             "error_basis": err, **flags})


def size_from_peak(peak_nm, material, *, model=None, lattice=None, shape="sphere",
                   aspect=None, barrier_eV=BARRIER_EV, outside_mass=OUTSIDE_MASS, x=None):
    """Equal-volume diameter [nm] whose predicted peak is ``peak_nm`` (model inverted by root finding)."""
    from scipy.optimize import brentq
    model = model or default_model(material)
    peak_nm = float(peak_nm)
    if not 200.0 <= peak_nm <= 1500.0:
        raise ClusterstructError(f"peak {peak_nm:g} nm is outside 200..1500 nm (is it in nm?)")
    if model == "yu2003":
        from .sizing import yu2003_diameter_nm
        return float(yu2003_diameter_nm(material, peak_nm))
    target = HC_EV_NM / peak_nm
    p = material_parameters(material, lattice, x=x)
    if target <= p.Eg:
        raise ClusterstructError(f"{peak_nm:g} nm ({target:.3f} eV) is at or below the bulk gap of "
                                 f"{p.material} ({p.Eg} eV): no finite size gives it")

    def f(dd):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelRangeWarning)
            return gap_energy(dd, material, model=model, lattice=lattice, shape=shape, aspect=aspect,
                              barrier_eV=barrier_eV, outside_mass=outside_mass, x=x,
                              backend="numpy", warn=False)[0][0] - target
    lo, hi = 0.3, 500.0
    if f(lo) < 0:
        raise ClusterstructError(f"model {model!r} cannot reach {peak_nm:g} nm for {p.material} "
                                 f"(even a {lo} nm cluster is redder)")
    return float(brentq(f, lo, hi, xtol=1e-10))
