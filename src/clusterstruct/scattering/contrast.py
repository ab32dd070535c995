"""SAXS of a cluster in a solvent: excluded volume, ligand shells and the Rg SAXS sees.

A cluster measured in solution scatters through its *contrast*, the difference between
its electron density and the solvent's.  Two descriptions are offered.

explicit atoms (``model="explicit"``)
    Every atom (core and ligand atoms, e.g. from
    :func:`clusterstruct.structures.add_ligands`) keeps its X-ray form factor f_i(q) and
    displaces solvent from a volume V_i.  The displaced solvent is a Gaussian sphere of
    that volume (Fraser, MacRae & Suzuki, J. Appl. Cryst. 11 (1978) 693; the choice of
    CRYSOL, Svergun, Barberato & Koch, J. Appl. Cryst. 28 (1995) 768):

        g_i(q) = rho_s V_i exp(-q^2 V_i^(2/3) / (4 pi)),

    the Fourier transform of rho_s exp(-pi r^2 / V_i^(2/3)), whose integral is rho_s V_i.
    The Debye sum then runs over the effective amplitudes F_i = f_i - g_i:

        I(q) = sum_i F_i^2 + 2 sum_{i<j} F_i F_j sin(q r_ij)/(q r_ij).

    The pair sums come from the pair engine (:func:`._engine.pair_sinc_sums`, the kernels
    and their NumPy twins), grouped by (element, volume) type; no new kernel is involved.
uniform shell (``model="shell"``)
    The core atoms as above, and the ligand shell as a spherical shell of uniform
    electron density rho_sh from R_c to R_c + t around the core's centre (a core-shell
    sphere approximation of the organic layer).  With the shell amplitude

        A_sh(q) = (rho_sh - rho_s) [V(R_o) Phi(q R_o) - V(R_c) Phi(q R_c)],
        Phi(x) = 3 (sin x - x cos x) / x^3,  V(R) = 4 pi R^3 / 3,  R_o = R_c + t,

    the orientation average of |A_core + A_sh|^2 is exact for a spherical shell:

        I(q) = I_core(q) + 2 A_sh(q) sum_i F_i(q) j0(q |r_i - c|) + A_sh(q)^2,

    c the shell's centre (centroid of the core atoms), j0(x) = sin x / x.  R_c defaults to
    the core's equal-volume radius (the radius of the sphere with the core's bulk volume,
    :func:`clusterstruct.observables.structure_size`), which is also the volume the core
    atoms displace (below), so core and shell do not overlap in volume.

Displaced volumes
-----------------
core atoms (Zn, Cd, S, Se, Te)
    the bulk zinc-blende volume per atom of the core's material, a^3/8
    (:func:`clusterstruct.units.volume_per_atom`): the core displaces exactly its bulk
    volume, the volume behind the equal-volume diameter.
organic atoms (H, C, N, O, S outside the core)
    the displaced volumes of Fraser et al. (1978) as tabulated for CRYSOL (Svergun et al.
    1995, table 1): H 5.15, C 16.44, N 2.49, O 9.13, S 19.86 A^3, multiplied by one
    scale factor.  The default (``organic_scale="solvent"``) takes the factor that makes
    the solvent's own molecule fill its molar volume (M / (rho N_A)); with it a solvent
    molecule in its own liquid has zero contrast, and organic matter packed like the
    solvent is nearly invisible, as it should be.  For toluene the factor is 1.13.

Solvent electron densities are computed from formula and mass density
(``data/solvents.csv``, sources in the file): rho_e = density N_A sum(Z) / M [e/A^3].
Toluene 0.283, cyclohexane 0.266, hexane 0.230, chloroform 0.432, 1-octadecene 0.271,
oleylamine 0.278 e/A^3; CdSe about 1.39 e/A^3.

"Rg with ligands" in a solvent is then the Guinier Rg of the computed contrast profile
(:func:`contrast_sizes`), not the vacuum value of the structure with its ligand atoms.
"""

import csv
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from ..errors import ClusterstructError
from ..units import CHALCOGENS, METALS

#: Fraser, MacRae & Suzuki (1978) displaced volumes [A^3] as tabulated for CRYSOL
#: (Svergun, Barberato & Koch 1995, table 1) for atoms outside the inorganic core.
ORGANIC_VOLUMES_A3 = {"H": 5.15, "C": 16.44, "N": 2.49, "O": 9.13, "S": 19.86}

#: |net contrast| below this fraction of the vacuum electron count counts as zero.
ZERO_CONTRAST_FRACTION = 1e-3

_AVOGADRO = 6.02214076e23
_SOLVENTS_CSV = "data/solvents.csv"


@dataclass(frozen=True)
class Solvent:
    """A solvent (or ligand liquid) and its electron density.

    Attributes
    ----------
    name : str
    formula : str or None
        Molecular formula (None for a solvent given by its electron density alone).
    density_g_cm3 : float or None
        Mass density [g/cm^3] at ``temperature_C``.
    temperature_C : float or None
    electron_density : float
        [electrons / A^3].
    molecular_volume_A3 : float or None
        M / (rho N_A) [A^3 per molecule].
    source : str
    """

    name: str
    formula: str | None
    density_g_cm3: float | None
    temperature_C: float | None
    electron_density: float
    molecular_volume_A3: float | None
    source: str


def electron_density(formula, density_g_cm3):
    """Electron density [e/A^3] of a liquid of ``formula`` at mass density [g/cm^3].

    rho_e = density x N_A x (sum of Z per molecule) / (molar mass) x 1e-24 A^3/cm^3,
    formula parsed and weighed by ``periodictable``.
    """
    import periodictable
    try:
        f = periodictable.formula(formula)
    except Exception as exc:  # periodictable raises several types on bad input
        raise ClusterstructError(f"solvent formula {formula!r} not understood: {exc}") from None
    density = float(density_g_cm3)
    if not density > 0:
        raise ClusterstructError(f"solvent density must be > 0 g/cm^3, got {density_g_cm3!r}")
    n_e = sum(n * el.number for el, n in f.atoms.items())
    return density * _AVOGADRO * n_e / f.mass * 1e-24


def make_solvent(name, formula, density_g_cm3, *, temperature_C=None, source="user"):
    """A :class:`Solvent` from a formula and a mass density [g/cm^3]."""
    import periodictable
    rho = electron_density(formula, density_g_cm3)
    v_mol = periodictable.formula(formula).mass / (float(density_g_cm3) * _AVOGADRO) * 1e24
    return Solvent(name=name, formula=formula, density_g_cm3=float(density_g_cm3),
                   temperature_C=temperature_C, electron_density=float(rho),
                   molecular_volume_A3=float(v_mol), source=source)


def _read_table():
    text = resources.files("clusterstruct").joinpath(_SOLVENTS_CSV).read_text()
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    out = {}
    for r in csv.DictReader(rows):
        s = make_solvent(r["name"], r["formula"], float(r["density_g_cm3"]),
                         temperature_C=float(r["temperature_C"]), source=r["source"])
        for key in [r["name"]] + [a for a in r["aliases"].split(";") if a]:
            out[key.strip().lower()] = s
    return out


_TABLE = None


def solvent_table():
    """The shipped solvents (``data/solvents.csv``), one :class:`Solvent` each."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _read_table()
    seen, out = set(), []
    for s in _TABLE.values():
        if s.name not in seen:
            seen.add(s.name)
            out.append(s)
    return out


def get_solvent(solvent):
    """A :class:`Solvent` from a name or alias ("toluene", "ODE", "OLA", ...), a Solvent,
    or a number (electron density [e/A^3], e.g. 0 for vacuum)."""
    if isinstance(solvent, Solvent):
        return solvent
    if isinstance(solvent, (int, float, np.floating, np.integer)) and not isinstance(solvent, bool):
        rho = float(solvent)
        if not np.isfinite(rho) or rho < 0:
            raise ClusterstructError(f"solvent electron density must be a finite value >= 0 e/A^3, "
                                     f"got {solvent!r}")
        return Solvent(name=f"rho={rho:g} e/A^3", formula=None, density_g_cm3=None, temperature_C=None,
                       electron_density=rho, molecular_volume_A3=None, source="user value")
    if isinstance(solvent, str):
        solvent_table()
        key = solvent.strip().lower()
        if key in _TABLE:
            return _TABLE[key]
        names = ", ".join(s.name for s in solvent_table())
        raise ClusterstructError(f"{_SOLVENTS_CSV}: unknown solvent {solvent!r}; shipped: {names} "
                                 "(or give an electron density in e/A^3)")
    raise ClusterstructError(f"solvent must be a name, a Solvent or an electron density, got {solvent!r}")


def organic_volume_scale(solvent):
    """Factor on :data:`ORGANIC_VOLUMES_A3` that makes ``solvent``'s molecule fill its molar volume.

    1.0 for a solvent given by electron density alone (no formula) or containing an element
    without a tabulated volume (e.g. chloroform's Cl).
    """
    import periodictable
    s = get_solvent(solvent)
    if s.formula is None:
        return 1.0
    f = periodictable.formula(s.formula)
    tab = 0.0
    for el, n in f.atoms.items():
        if el.symbol not in ORGANIC_VOLUMES_A3:
            return 1.0
        tab += n * ORGANIC_VOLUMES_A3[el.symbol]
    return s.molecular_volume_A3 / tab


def excluded_volume_amplitude(volume_A3, rho_s, q):
    """Displaced-solvent amplitude g(q) = rho_s V exp(-q^2 V^(2/3) / (4 pi)) [electrons].

    Gaussian sphere of volume V [A^3] filled with solvent of electron density rho_s
    [e/A^3]; q [1/A].  Its radius of gyration is sqrt(3/(4 pi)) V^(1/3).
    """
    v = float(volume_A3)
    q = np.asarray(q, float)
    return float(rho_s) * v * np.exp(-q * q * v ** (2.0 / 3.0) / (4.0 * np.pi))


def _is_core(symbols):
    return np.isin(np.asarray(symbols), list(METALS | CHALCOGENS))


def atom_types(atoms, solvent, *, volumes=None, organic_scale="solvent"):
    """Per-atom type labels and the displaced volume of each type.

    Returns
    -------
    labels : list of str
        Element symbol for core atoms and organic atoms; "S:ligand" etc. for an element
        that is in the core set but sits outside the core (never for the shipped ligands).
    type_volume : dict
        label -> (element, displaced volume [A^3]).
    meta : dict
        The volumes used and where they come from.
    """
    from ..units import material_of, volume_per_atom
    symbols = atoms.get_chemical_symbols()
    core = _is_core(symbols)
    volumes = dict(volumes or {})
    s = get_solvent(solvent)
    scale = organic_volume_scale(s) if organic_scale == "solvent" else float(organic_scale)
    v_core = None

    def core_volume():
        mat, x = material_of([sym for sym, c in zip(symbols, core) if c])
        return volume_per_atom(mat, "zincblende", x=x)
    labels, types = [], {}
    for sym, c in zip(symbols, core):
        lab = sym if (c or sym not in METALS | CHALCOGENS) else f"{sym}:ligand"
        labels.append(lab)
        if lab in types:
            continue
        if lab in volumes or sym in volumes:
            v = float(volumes.get(lab, volumes.get(sym)))
        elif c:
            v_core = core_volume() if v_core is None else v_core
            v = v_core
        elif sym in ORGANIC_VOLUMES_A3:
            v = ORGANIC_VOLUMES_A3[sym] * scale
        else:
            raise ClusterstructError(f"no displaced volume for {sym} outside the core; pass "
                                     f"volumes={{'{sym}': V_A3}} (tabulated: "
                                     f"{', '.join(ORGANIC_VOLUMES_A3)})")
        if not v >= 0:
            raise ClusterstructError(f"displaced volume of {lab} must be >= 0 A^3, got {v!r}")
        types[lab] = (sym, float(v))
    meta = {"volumes_A3": {k: v for k, (_, v) in types.items()},
            "core_volume_per_atom_A3": v_core, "organic_volume_scale": scale,
            "volume_sources": "core: bulk zinc-blende volume per atom (a^3/8); organic: Fraser et al. "
                              "1978 / CRYSOL table x organic_volume_scale"}
    return labels, types, meta


def _amplitudes(types, rho_s, q):
    """Effective amplitudes F = f - g per type."""
    from .formfactors import atomic_form_factor
    return {lab: atomic_form_factor(el, q) - excluded_volume_amplitude(v, rho_s, q)
            for lab, (el, v) in types.items()}


def _debye(sums, amp):
    """Debye intensity from per-type pair sums and per-type amplitudes."""
    out = np.zeros(sums.sums.shape[1])
    for t, (a, b) in enumerate(sums.pairs):
        out += 2.0 * amp[a] * amp[b] * sums.sums[t]
    for lab, n in sums.counts.items():
        out += n * amp[lab] ** 2
    return out


def sphere_amplitude(q, radius):
    """Phi(q R) = 3 (sin x - x cos x) / x^3 (1 at q = 0): normalised uniform-sphere amplitude."""
    x = np.asarray(q, float) * float(radius)
    out = np.ones_like(x)
    big = x > 1e-3
    xb = x[big]
    out[big] = 3.0 * (np.sin(xb) - xb * np.cos(xb)) / xb ** 3
    small = ~big
    out[small] = 1.0 - x[small] ** 2 / 10.0
    return out


def shell_amplitude(q, r_inner, thickness, delta_rho):
    """Amplitude [electrons] of a uniform spherical shell of excess density ``delta_rho`` [e/A^3].

    A(q) = delta_rho [V(R_o) Phi(q R_o) - V(R_i) Phi(q R_i)], R_o = R_i + thickness [A].
    """
    r_i, t = float(r_inner), float(thickness)
    if r_i < 0 or t < 0:
        raise ClusterstructError(f"shell radius and thickness must be >= 0 A, got {r_i}, {t}")
    r_o = r_i + t
    vol = lambda r: 4.0 * np.pi * r ** 3 / 3.0
    return float(delta_rho) * (vol(r_o) * sphere_amplitude(q, r_o) - vol(r_i) * sphere_amplitude(q, r_i))


@dataclass(frozen=True)
class ContrastProfile:
    """SAXS profile of a cluster in a solvent.

    Attributes
    ----------
    q : ndarray
        [1/A].
    intensity : ndarray
        I(q) of the excess (contrast) electron density [electrons^2 per cluster].
    meta : dict
        model, solvent (name, electron density [e/A^3], source), volumes, the net
        excess electrons at q = 0 (``excess_electrons``; its square is I(0)), the
        vacuum electron count (``vacuum_electrons``) and, for the shell model, the shell
        radii [A] and density [e/A^3].
    """

    q: np.ndarray
    intensity: np.ndarray
    meta: dict = field(default_factory=dict)


def shell_from_ligands(atoms, solvent=0.0, *, core_radius=None, volumes=None, organic_scale="solvent"):
    """Uniform-shell parameters equivalent to the explicit ligand atoms of ``atoms``.

    The shell starts at the core radius R_c (default: equal-volume radius) and ends at the
    R_o whose uniform shell has the same mean-square radius about the core centroid as the
    ligand atoms (weights Z): <r^2>_shell = (3/5) (R_o^5 - R_c^5) / (R_o^3 - R_c^3).  Its
    electron density keeps the ligands' excess electrons, the solvent filling the rest:

        rho_sh = rho_s + sum_lig (f_i(0) - rho_s V_i) / V_shell,

    so the shell and explicit models give the same I(0) in that solvent.

    Returns
    -------
    dict
        ``thickness_A``, ``density_e_A3``, ``core_radius_A``, ``outer_radius_A``,
        ``ligand_electrons``, ``ligand_excess_electrons``.
    """
    from scipy.optimize import brentq
    symbols = np.array(atoms.get_chemical_symbols())
    core = _is_core(symbols)
    if core.all():
        raise ClusterstructError("structure has no ligand atoms to turn into a shell")
    r_c = _core_radius(atoms) if core_radius is None else float(core_radius)
    centre = atoms.positions[core].mean(axis=0)
    lig = atoms[~core]
    from ase.data import atomic_numbers
    z = np.array([atomic_numbers[s] for s in symbols[~core]], float)
    r2 = float((z * ((lig.positions - centre) ** 2).sum(1)).sum() / z.sum())
    if r2 <= r_c ** 2:
        raise ClusterstructError(f"ligand atoms lie (on average) inside the core radius {r_c:.2f} A")
    msr = lambda r_o: 0.6 * (r_o ** 5 - r_c ** 5) / (r_o ** 3 - r_c ** 3) - r2
    r_o = brentq(msr, r_c * (1 + 1e-9) + 1e-9, 10.0 * np.sqrt(r2) + r_c)
    s = get_solvent(solvent)
    labels, types, _ = atom_types(lig, s, volumes=volumes, organic_scale=organic_scale)
    from .formfactors import atomic_form_factor
    excess = sum(float(atomic_form_factor(types[lab][0], np.array([0.0]))[0]) - s.electron_density * types[lab][1]
                 for lab in labels)
    vol = 4.0 * np.pi * (r_o ** 3 - r_c ** 3) / 3.0
    return {"thickness_A": float(r_o - r_c), "density_e_A3": s.electron_density + excess / vol,
            "core_radius_A": r_c, "outer_radius_A": float(r_o), "ligand_electrons": float(z.sum()),
            "ligand_excess_electrons": float(excess)}


def _core_radius(atoms):
    from ..observables import structure_size
    return structure_size(atoms, "equal-volume") * 10.0 / 2.0


def contrast_intensity(atoms, q, solvent, *, model="explicit", shell_thickness=None, shell_density=None,
                       core_radius=None, volumes=None, organic_scale="solvent", mode="auto",
                       backend="auto", n_threads=None, source="structure"):
    """SAXS intensity of ``atoms`` in ``solvent`` (see the module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
        Core, optionally with explicit ligand atoms.
    q : array_like
        [1/A], > 0, increasing.
    solvent : str, Solvent or float
        A shipped solvent name ("toluene", "cyclohexane", "hexane", "chloroform", "ODE",
        "OLA", "octylamine", "oleic acid"), a :class:`Solvent`, or an electron density
        [e/A^3] (0 = vacuum: then the profile equals :func:`debye_intensity`).
    model : {"explicit", "shell"}
        "explicit": every atom with its displaced solvent.  "shell": the core atoms
        (Zn, Cd, S, Se, Te) and a uniform spherical shell; ligand atoms in ``atoms`` are
        then replaced by the shell (if ``shell_thickness`` is not given, thickness and
        density come from them in this solvent: :func:`shell_from_ligands`).
    shell_thickness : float, optional
        [A] (model "shell").
    shell_density : float or str, optional
        Shell electron density [e/A^3] or the name of a ligand liquid (e.g. "OLA").
    core_radius : float, optional
        Inner radius of the shell [A]; default the core's equal-volume radius.
    volumes : dict, optional
        Displaced volumes [A^3] by element (or type label), overriding the defaults.
    organic_scale : "solvent" or float
        Factor on the organic displaced volumes (see module docstring).

    Returns
    -------
    ContrastProfile

    Raises
    ------
    ClusterstructError
        Unknown solvent or model, missing shell parameters, or a net contrast of zero
        (the cluster's excess electrons vanish: no Guinier region to measure).
    """
    from . import _engine
    from .debye import validate_q
    from .formfactors import atomic_form_factor
    if model not in ("explicit", "shell"):
        raise ClusterstructError(f"unknown contrast model {model!r}; choose explicit or shell")
    q = validate_q(q, source)
    s = get_solvent(solvent)
    rho_s = s.electron_density
    symbols = np.array(atoms.get_chemical_symbols())
    shell = None
    work = atoms
    if model == "shell":
        core = _is_core(symbols)
        if not core.any():
            raise ClusterstructError(f"{source}: the shell model needs core atoms (Zn, Cd, S, Se, Te)")
        r_c = _core_radius(atoms) if core_radius is None else float(core_radius)
        if shell_thickness is None:
            if core.all():
                raise ClusterstructError(f"{source}: model 'shell' needs shell_thickness (A) and "
                                         "shell_density for a bare core")
            derived = shell_from_ligands(atoms, s, core_radius=r_c, volumes=volumes,
                                         organic_scale=organic_scale)
            shell_thickness = derived["thickness_A"]
            if shell_density is None:
                shell_density = derived["density_e_A3"]
        if shell_density is None:
            raise ClusterstructError(f"{source}: model 'shell' needs shell_density (e/A^3 or a "
                                     "ligand liquid name such as 'OLA')")
        rho_sh = (get_solvent(shell_density).electron_density if isinstance(shell_density, str)
                  else float(shell_density))
        work = atoms[core]
        centre = work.positions.mean(axis=0)
        shell = {"core_radius_A": r_c, "thickness_A": float(shell_thickness),
                 "outer_radius_A": r_c + float(shell_thickness), "density_e_A3": rho_sh,
                 "centre_A": centre.tolist()}
    labels, types, vmeta = atom_types(work, s, volumes=volumes, organic_scale=organic_scale)
    sums = _engine.pair_sinc_sums(work.positions, labels, q, mode=mode, backend=backend,
                                  n_threads=n_threads)
    amp = _amplitudes(types, rho_s, q)
    intensity = _debye(sums, amp)
    # electrons at q = 0: vacuum and net excess
    q0 = np.array([0.0])
    f0 = {lab: float(atomic_form_factor(el, q0)[0]) for lab, (el, _) in types.items()}
    vac = sum(sums.counts[lab] * f0[lab] for lab in types)
    excess = sum(sums.counts[lab] * (f0[lab] - rho_s * types[lab][1]) for lab in types)
    if shell is not None:
        a_sh = shell_amplitude(q, shell["core_radius_A"], shell["thickness_A"], shell["density_e_A3"] - rho_s)
        r_i = np.linalg.norm(work.positions - np.asarray(shell["centre_A"]), axis=1)
        x = np.outer(q, r_i)
        j0 = np.sinc(x / np.pi)
        amp_atoms = np.array([amp[lab] for lab in labels])          # (N, nq)
        cross = np.einsum("qn,nq->q", j0, amp_atoms)
        intensity = intensity + 2.0 * a_sh * cross + a_sh ** 2
        shell_excess = float(shell_amplitude(q0, shell["core_radius_A"], shell["thickness_A"],
                                             shell["density_e_A3"] - rho_s)[0])
        excess += shell_excess
        vac += float(shell_amplitude(q0, shell["core_radius_A"], shell["thickness_A"],
                                     shell["density_e_A3"])[0])
    if abs(excess) < ZERO_CONTRAST_FRACTION * abs(vac):
        raise ClusterstructError(f"{source}: contrast is zero in {s.name} ({s.electron_density:.4f} e/A^3): "
                                 f"{excess:.3g} excess electrons of {vac:.4g}; SAXS would see no "
                                 "particle (no Guinier region)")
    meta = {"model": model, "solvent": s.name, "solvent_electron_density_e_A3": rho_s,
            "solvent_source": s.source, "excess_electrons": float(excess),
            "vacuum_electrons": float(vac), "shell": shell, "q_unit": "1/A",
            "intensity_unit": "electrons^2 per cluster (excess density)",
            "excluded_volume": "Gaussian spheres, Fraser et al. 1978", "pair_mode": sums.mode, **vmeta}
    return ContrastProfile(q=q, intensity=intensity, meta=meta)


def _guinier_of(fn, rg0, *, qrg_max=1.3, n_points=40):
    """Guinier Rg of a profile computed by ``fn(q)``, its range refined with the fitted Rg."""
    from .sizes import guinier_fit
    rg = rg0
    for _ in range(3):
        q = np.linspace(0.02, qrg_max, n_points) / rg
        fit = guinier_fit(q, fn(q))
        rg = fit.rg
    return fit


def contrast_sizes(atoms, solvent, *, model="explicit", qrg_max=1.3, **kwargs):
    """Rg that SAXS sees in ``solvent`` next to the vacuum values.

    Parameters
    ----------
    atoms : ase.Atoms
        Core with or without explicit ligand atoms.
    solvent : str, Solvent or float
    model : {"explicit", "shell"}
    **kwargs
        Passed to :func:`contrast_intensity` (shell_thickness, shell_density, volumes, ...).

    Returns
    -------
    dict
        ``rg_contrast_A``: Guinier Rg of the contrast profile (q <= qrg_max / Rg);
        ``rg_vacuum_A``: Guinier Rg of the same atoms in vacuum
        (:func:`clusterstruct.scattering.structure_sizes`); ``rg_core_A``: Guinier Rg of the
        core atoms alone in vacuum; ``d_sphere_contrast_A``: 2.582 x ``rg_contrast_A``;
        ``excess_electrons``, ``solvent``, ``solvent_electron_density_e_A3``, ``model``,
        ``guinier`` (range of the contrast fit) and, for the shell model, ``shell``.
    """
    from .debye import structure_sizes
    from .sizes import SPHERE_D_OVER_RG
    symbols = np.array(atoms.get_chemical_symbols())
    core = _is_core(symbols)
    vac = structure_sizes(atoms)
    core_sizes = structure_sizes(atoms[core]) if core.any() and not core.all() else vac
    last = {}

    def fn(q):
        prof = contrast_intensity(atoms, q, solvent, model=model, **kwargs)
        last["meta"] = prof.meta
        return prof.intensity

    rg0 = vac["guinier"]["rg_A"]
    fit = _guinier_of(fn, rg0, qrg_max=qrg_max)
    m = last["meta"]
    return {"rg_contrast_A": fit.rg, "rg_vacuum_A": vac["guinier"]["rg_A"],
            "rg_core_A": core_sizes["guinier"]["rg_A"], "d_sphere_contrast_A": SPHERE_D_OVER_RG * fit.rg,
            "excess_electrons": m["excess_electrons"], "vacuum_electrons": m["vacuum_electrons"],
            "solvent": m["solvent"], "solvent_electron_density_e_A3": m["solvent_electron_density_e_A3"],
            "model": model, "shell": m["shell"],
            "guinier": {"q_range_invA": list(fit.q_range), "qrg_max": fit.qrg_max, "n_points": fit.n_points}}


__all__ = ["Solvent", "ContrastProfile", "ORGANIC_VOLUMES_A3", "electron_density", "make_solvent",
           "solvent_table", "get_solvent", "organic_volume_scale", "excluded_volume_amplitude",
           "atom_types", "sphere_amplitude", "shell_amplitude", "shell_from_ligands",
           "contrast_intensity", "contrast_sizes"]
