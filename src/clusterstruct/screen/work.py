"""What a worker does with one batch of tasks: build, compute, score (no file writing).

Each record: id, status ("ok"/"failed" with the error text), formula, n_atoms, mass [Da],
Rg (number- and electron-weighted) and Dmax [A], the geometry key (composition + sorted
distances, for deduplication), the SAXS profile on the spec's q grid (float32, electrons^2
per cluster), the structure (positions, atomic numbers), the predicted absorption peak
(optics model of the spec, or the material's default) and the score terms.

Score = weighted mean over the applicable targets of
    saxs        reduced chi^2 of the profile fitted (scale, background) to the measured curve
    absorption  ((peak_pred - peak_target) / tolerance)^2
    mass        ((mass - mass_target) / tolerance)^2
A target with ``material`` set applies only to candidates of that material.  Lower is better;
a candidate no target applies to gets NaN and ranks last.
"""

from functools import lru_cache
import os
import traceback
import warnings

import numpy as np

#: Workers run single-threaded kernels; one batch per task keeps overheads small.
N_THREADS = 1


@lru_cache(maxsize=64)
def _composition(material, metal, chalcogen, lattice, top):
    from ..structures.composition import carve_to_composition
    cands = carve_to_composition(material, metal, chalcogen, lattice=lattice, top=top)
    return tuple((c.atoms.get_chemical_symbols(), c.atoms.positions.copy(), c.atoms.info.get("construction", ""))
                 for c in cands)


_BASE_KEYS = ("builder", "material", "n", "a", "lattice", "radius", "centre", "termination", "min_bonds",
              "metal", "chalcogen", "rank", "top", "name")


@lru_cache(maxsize=256)
def _base(key):
    """The unperturbed structure of a builder call (rattled copies share it)."""
    atoms = _build_base(dict(key))
    return atoms.get_chemical_symbols(), atoms.positions.copy(), dict(atoms.info)


def build(spec, task):
    """The candidate of ``task`` as ase.Atoms (deterministic from the spec and task id)."""
    from ase import Atoms
    from ..structures import alloy
    from ..structures.ligands import add_ligands
    sym, pos, info = _base(tuple((k, task[k]) for k in _BASE_KEYS if k in task))
    atoms = Atoms(symbols=sym, positions=pos.copy())
    atoms.info.update(info)
    return _decorate(spec, task, atoms, alloy, add_ligands)


def _build_base(task):
    from ase import Atoms
    from ..structures import carve_sphere, tetrahedron
    from ..structures.named import NAMED
    b = task["builder"]
    if b == "tetrahedron":
        atoms = tetrahedron(task["material"], task["n"], a=task["a"])
    elif b == "sphere":
        atoms = carve_sphere(task["material"], task["radius"], lattice=task["lattice"], centre=task["centre"],
                             termination=task["termination"], min_bonds=task["min_bonds"])
    elif b == "composition":
        found = _composition(task["material"], task["metal"], task["chalcogen"], task["lattice"], task["top"])
        if task["rank"] > len(found):
            raise ValueError(f"only {len(found)} distinct cores exist (rank {task['rank']} asked)")
        sym, pos, construction = found[task["rank"] - 1]
        atoms = Atoms(symbols=sym, positions=pos)
        atoms.info["construction"] = construction + f" rank={task['rank']}"
    else:
        atoms = NAMED[task["name"]][0]()
    return atoms


def _decorate(spec, task, atoms, alloy, add_ligands):
    blk = spec["blocks"][task["block"]]
    if task["alloy_fraction"] is not None:
        atoms = alloy(atoms, blk["alloy"]["element"], task["alloy_fraction"], pattern=blk["alloy"]["pattern"],
                      seed=spec["seed"] + task["id"])
    if task["copy"] > 0 and blk["rattle"]["sigma"] > 0:
        rng = np.random.default_rng([spec["seed"], task["id"]])
        atoms.positions = atoms.positions + rng.normal(scale=blk["rattle"]["sigma"], size=atoms.positions.shape)
        atoms.info["construction"] = atoms.info.get("construction", "") + \
            f"; rattle sigma={blk['rattle']['sigma']} rng=[{spec['seed']},{task['id']}]"
    if blk["ligands"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = add_ligands(atoms, x_type=blk["ligands"]["x"], l_type=blk["ligands"]["l"])
    return atoms


def describe_task(task):
    skip = {"id", "block", "builder"}
    parts = [task["builder"]] + [f"{k}={v}" for k, v in task.items() if k not in skip and v is not None]
    return " ".join(parts)


_DATA_CACHE = {}


def _target_data(t):
    key = (t["file"], t.get("q_unit"))
    if key not in _DATA_CACHE:
        from ..compare import load_saxs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = load_saxs(t["file"], q_unit=t.get("q_unit"))
        sel = np.ones(len(d.q), bool)
        f = 1.0 if d.meta["q_unit_file"] == "A-1" else 0.1
        if t.get("q_min") is not None:
            sel &= d.q >= t["q_min"] * f
        if t.get("q_max") is not None:
            sel &= d.q <= t["q_max"] * f
        sigma = d.sigma[sel] if d.sigma is not None else 0.01 * d.intensity[sel]
        _DATA_CACHE[key] = (d.q[sel], d.intensity[sel], sigma)
    return _DATA_CACHE[key]


def _chi2_scale_background(model, y, sigma):
    A = np.vstack([model / sigma, 1 / sigma]).T
    coef, *_ = np.linalg.lstsq(A, y / sigma, rcond=None)
    r = (coef[0] * model + coef[1] - y) / sigma
    return float((r ** 2).sum() / max(1, len(y) - 2))


def evaluate(spec, task):
    """One candidate -> one record (never raises: failures are recorded)."""
    from ..io import formula
    from ..scattering import debye_intensity_arrays
    from ..scattering.formfactors import atomic_form_factor
    from ..scattering.sizes import max_dimension, radius_of_gyration
    from ..structures.composition import geometry_key
    rec = {"id": task["id"], "description": describe_task(task)}
    try:
        atoms = build(spec, task)
        sym = atoms.get_chemical_symbols()
        pos = atoms.positions
        dmax = max_dimension(pos)
        prof = debye_intensity_arrays(pos, sym, spec["q"], n_threads=N_THREADS, check=True, dmax=dmax)
        f0 = {el: float(atomic_form_factor(el, 0.0)) for el in set(sym)}
        w = np.array([f0[s] for s in sym])
        rec.update({
            "status": "ok", "error": "", "formula": formula(sym), "n_atoms": len(sym),
            "mass_Da": float(atoms.get_masses().sum()), "rg_number_A": radius_of_gyration(pos),
            "rg_electron_A": radius_of_gyration(pos, w), "dmax_A": dmax,
            "geometry_key": geometry_key(atoms), "profile": prof.intensity.astype(np.float32),
            "positions": pos.ravel().astype(np.float64), "numbers": atoms.numbers.astype(np.int16),
        })
        terms = score_terms(spec, atoms, rec)
        rec.update(terms)
    except Exception as exc:  # a failing candidate is recorded, not fatal
        rec.update({"status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]})
        if os.environ.get("CLUSTERSTRUCT_DEBUG"):
            rec["error"] += "\n" + traceback.format_exc()
    return rec


def score_terms(spec, atoms, rec):
    from ..optics import predict
    from ..optics.compare import material_of, structure_size
    from ..scattering import debye_intensity_arrays
    out = {"chi2_saxs": np.nan, "peak_nm": np.nan, "score": np.nan}
    try:
        material, x = material_of(atoms)
    except Exception:
        material, x = None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = predict(structure_size(atoms), material, model=spec.get("optics_model"), x=x)
        out["peak_nm"] = float(est.peak_nm)
    except Exception:
        pass
    num, den = 0.0, 0.0
    for t in spec["targets"]:
        if t["material"] is not None and t["material"] != material:
            continue
        if t["kind"] == "saxs":
            q, y, s = _target_data(t)
            model = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q,
                                           n_threads=N_THREADS, check=False).intensity
            term = _chi2_scale_background(model, y, s)
            out["chi2_saxs"] = term
        elif t["kind"] == "absorption":
            if not np.isfinite(out["peak_nm"]):
                continue
            term = ((out["peak_nm"] - t["peak_nm"]) / t["tolerance_nm"]) ** 2
        else:
            term = ((rec["mass_Da"] - t["mass_Da"]) / t["tolerance_Da"]) ** 2
        num += t["weight"] * term
        den += t["weight"]
    if den > 0:
        out["score"] = float(num / den)
    return out


def run_batch(spec, tasks):
    """Evaluate a batch in this process; returns the list of records (workers never write files)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return [evaluate(spec, t) for t in tasks]
