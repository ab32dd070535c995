"""What a worker does with one batch of tasks: build, compute, score (no file writing).

Each record: id, status ("ok"/"failed" with the error text), formula, n_atoms, mass [Da],
Rg (number- and electron-weighted) and Dmax [A], the geometry key (composition + sorted
distances, for deduplication), the SAXS profile on the spec's q grid (float32, electrons^2
per cluster), the structure (positions, atomic numbers), the predicted absorption peak and
its model uncertainty (optics model of the spec, or the material's default) and the score
terms.  Every number comes from :mod:`clusterstruct.observables`, as in the CLI.

Score (lower is better)
-----------------------
Each target that applies to a candidate gives one term:

    saxs        reduced chi^2 of scale * I_model + background fitted to the measured curve
                (scale >= 0; observables.saxs_chi2)
    absorption  ((peak_pred - peak_target) / tolerance_nm)^2, peak_pred from
                observables.predict_peak with the spec's optics model (shape "auto")
    mass        ((formula mass - mass_target) / tolerance_Da)^2; a target with ``ion``,
                ``charge`` or ``ligands`` is envelope-aware: the structure's atoms plus the
                target's ligand units, as each declared ion form (ion x charge), give an
                isotope envelope (clusterstruct.mass.envelope) and the distance is taken to
                the nearest most-abundant m/z
    pdf         (rw_pdf / tolerance)^2 with rw_pdf the Rw of a refinement of the candidate's
                G(r) against the measured PDF (scale, zoom, Uiso per element, delta2 by
                default; clusterstruct.pdf.fit, cheap first pass ``fast=True``), tolerance
                0.1 unless the target sets it

Why (Rw / tolerance)^2 for a PDF: Rw^2 is the misfit sum of squares over sum G_obs^2, i.e.
chi^2 up to a constant for data without per-point errors, so the term behaves like the
others (chi^2-like, 1 at the edge of the tolerance) and mixes with them on the same scale,
while ranking on a PDF target alone orders candidates exactly by Rw.

Records of a spec with a pdf target also carry ``family`` (:func:`..spec.family_of`),
``rw_pdf`` (NaN where no pdf target applies), the refined ``pdf_scale``, ``pdf_zoom``,
``pdf_delta2``, ``pdf_qdamp``, one ``pdf_uiso_<El>`` per element of :data:`PDF_UISO_ELEMENTS`
(NaN for elements the candidate lacks), ``pdf_uiso_surface`` and ``pdf_strain`` (NaN unless the
target refines these options) and ``pdf_dof`` (independent points minus refined
parameters): from the first pdf target that applies.  Records of specs without a pdf target
carry none of these fields.  The prepared target (data, Q window, transform grid) is built
once per worker process and target (:func:`_pdf_target`) and reused for every candidate.

A target with ``material`` set applies only to candidates of that material; one without
applies to all.  score = sum(weight_k * term_k) / sum(weight_k) over the applicable
targets.  A term that applies but cannot be computed (e.g. the optics model has no
prediction for the material) makes the score undefined (NaN), with the reason in
``score_note``: it is never silently left out, because a candidate scored on fewer terms
could outrank one that was penalised.  A candidate no target applies to has an undefined
score too.  Records of different materials are scored against different targets, so the
ranking is per ``group`` (the material).
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
              "metal", "chalcogen", "rank", "top", "name", "stacking", "stacking_seed", "shape", "distance", "path")

#: Elements whose refined Uiso a pdf target records (pdf_uiso_<El>): every element the builders,
#: alloys and ligands can put in a candidate.
PDF_UISO_ELEMENTS = ("Zn", "Cd", "S", "Se", "Te", "O", "N", "C", "H")
#: Record fields of a spec with a pdf target (all floats; NaN where no pdf target applies).
PDF_FIELDS = ("rw_pdf", "pdf_scale", "pdf_zoom", "pdf_delta2", "pdf_qdamp", "pdf_dof") + tuple(
    f"pdf_uiso_{el}" for el in PDF_UISO_ELEMENTS) + ("pdf_uiso_surface", "pdf_strain")


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
                             termination=task["termination"], min_bonds=task["min_bonds"],
                             stacking=task.get("stacking"), seed=task.get("stacking_seed", 0))
    elif b == "polyhedron":
        from ..structures import carve, facets_shape
        from .spec import POLYHEDRA
        hkl, centro = POLYHEDRA[task["shape"]]
        shape = facets_shape(task["material"], "zincblende", [(hkl, task["distance"])], centrosymmetric=centro)
        atoms = carve(task["material"], shape, lattice="zincblende", centre=task["centre"],
                      termination=task["termination"], min_bonds=task["min_bonds"])
    elif b == "composition":
        found = _composition(task["material"], task["metal"], task["chalcogen"], task["lattice"], task["top"])
        if task["rank"] > len(found):
            raise ValueError(f"only {len(found)} distinct cores exist (rank {task['rank']} asked)")
        sym, pos, construction = found[task["rank"] - 1]
        atoms = Atoms(symbols=sym, positions=pos)
        atoms.info["construction"] = construction + f" rank={task['rank']}"
    elif b == "files":
        from ..io import read_structure
        src = read_structure(task["path"])
        atoms = Atoms(symbols=src.get_chemical_symbols(), positions=src.positions)
        atoms.info["construction"] = f"file {task['path']}"
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
        n_core = len(atoms)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = add_ligands(atoms, x_type=blk["ligands"]["x"], l_type=blk["ligands"]["l"])
        if blk["ligands"].get("heads"):  # donor atoms only: carboxylate O, amine N
            sym = np.array(atoms.get_chemical_symbols())
            keep = (np.arange(len(atoms)) < n_core) | np.isin(sym, ("O", "N"))
            info = dict(atoms.info)
            atoms = atoms[keep]
            atoms.info.update(info)
            atoms.info["construction"] = atoms.info.get("construction", "") + "; ligand heads only (O, N)"
    return atoms


def describe_task(task):
    skip = {"id", "block", "builder"}
    parts = [task["builder"]] + [f"{k}={v}" for k, v in task.items() if k not in skip and v is not None]
    return " ".join(parts)


_DATA_CACHE = {}


def _target_data(t):
    key = (t["file"], t.get("q_unit"), t.get("q_min"), t.get("q_max"))
    if key not in _DATA_CACHE:
        from ..compare import load_saxs
        from ..units import q_to_invA
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = load_saxs(t["file"], q_unit=t.get("q_unit"))
        sel = np.ones(len(d.q), bool)
        unit = d.meta["q_unit_file"]
        if t.get("q_min") is not None:
            sel &= d.q >= q_to_invA(t["q_min"], unit)
        if t.get("q_max") is not None:
            sel &= d.q <= q_to_invA(t["q_max"], unit)
        sigma = d.sigma[sel] if d.sigma is not None else 0.01 * d.intensity[sel]
        _DATA_CACHE[key] = (d.q[sel], d.intensity[sel], sigma)
    return _DATA_CACHE[key]


_PDF_CACHE = {}


def _pdf_key(t):
    return (t["file"], t["qmin"], t["qmax"], t["qdamp"], t["qbroad"], t["rmin"], t["rmax"], tuple(t["refine"]))


def _pdf_target(t, *, fast=True):
    """The prepared PDF target of spec target ``t`` (built once per worker process)."""
    key = _pdf_key(t) + (fast,)
    if key not in _PDF_CACHE:
        from ..pdf.data import load_gr
        from ..pdf.mine import prepare
        _PDF_CACHE[key] = prepare(load_gr(t["file"]), t, fast=fast)
    return _PDF_CACHE[key]


def has_pdf_target(spec):
    """Whether the spec has a pdf target (its records then carry the mining fields)."""
    return any(t["kind"] == "pdf" for t in spec["targets"])


def evaluate(spec, task):
    """One candidate -> one record (never raises: failures are recorded with their reason)."""
    from ..io import formula
    from ..observables import formula_mass, radii_of_gyration
    from ..scattering import debye_intensity_arrays
    from ..scattering.sizes import max_dimension
    from ..structures.composition import geometry_key
    rec = {"id": task["id"], "description": describe_task(task)}
    if has_pdf_target(spec):
        from .spec import family_of
        rec["family"] = family_of(spec, task)
    try:
        atoms = build(spec, task)
        if spec.get("relax"):
            atoms, relaxed = relax_candidate(spec["relax"], atoms, rec["description"])
            rec.update(relaxed)
        sym = atoms.get_chemical_symbols()
        pos = atoms.positions
        dmax = max_dimension(pos)
        prof = debye_intensity_arrays(pos, sym, spec["q"], n_threads=N_THREADS, check=True, dmax=dmax)
        rg_n, rg_e = radii_of_gyration(pos, sym)
        rec.update({
            "status": "ok", "error": "", "formula": formula(sym), "n_atoms": len(sym),
            "mass_Da": formula_mass(atoms), "rg_number_A": rg_n, "rg_electron_A": rg_e, "dmax_A": dmax,
            "geometry_key": geometry_key(atoms), "profile": prof.intensity.astype(np.float32),
            "positions": pos.ravel().astype(np.float64), "numbers": atoms.numbers.astype(np.int16),
        })
        rec.update(score_terms(spec, atoms, rec))
    except Exception as exc:  # a failing candidate is recorded (status failed, with the reason), not fatal
        rec.update({"status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]})
        if os.environ.get("CLUSTERSTRUCT_DEBUG"):
            rec["error"] += "\n" + traceback.format_exc()
    return rec


def relax_candidate(options, atoms, name):
    """Relax one candidate as ``[compute] relax`` says: (core atoms relaxed, record fields).

    One relaxation in this process, stopped at its time limit; any failure (time limit,
    no convergence, explosion, calculator error) raises ClusterstructError with the reason,
    so the candidate is recorded as failed, not scored unrelaxed.  Pseudo-ligand caps are
    relaxed with the core and removed.
    """
    from ..errors import ClusterstructError
    from ..structures.relax import relax_many
    res = relax_many([(name, atoms)], method=options["method"], fmax=options["fmax"],
                     max_steps=options["max_steps"], time_limit_s=options["time_limit_s"],
                     passivate=options["passivate"])[0]
    if not res["ok"]:
        raise ClusterstructError(f"relaxation failed: {res['reason']}")
    out = res["atoms"][:len(atoms)]
    ch = res["changes"]
    return out, {"relax_steps": float(res["steps"]), "relax_seconds": float(res["seconds"]),
                 "relax_energy_eV": float(res["atoms"].info["relax_energy_eV"]),
                 "relax_fmax_eV_A": float(res["atoms"].info["relax_fmax_eV_A"]),
                 "relax_max_displacement_A": ch["max_displacement_A"],
                 "relax_bond_change_A": ch["mean_bond_after_A"] - ch["mean_bond_before_A"]}


def applies(target, material):
    """Whether a target applies to a candidate of ``material`` (its material, or all when unset)."""
    return target["material"] is None or target["material"] == material


def score_terms(spec, atoms, rec, pre=None):
    """Score terms of one candidate (see the module docstring for the rule).

    ``pre`` (used by :func:`clusterstruct.screen.batch.evaluate_batch`) holds inputs already
    computed by the same functions: ``material`` ((material or None, note or None)),
    ``peak`` ((peak_nm, uncertainty_nm) or the predict_peak error text; given when the
    material is known), ``saxs`` ({target index: model intensity on the target's q}) and
    ``envelope`` ({target index: envelope-aware mass distance}); what it lacks is computed here.

    Returns a dict: score, chi2_saxs, peak_nm, peak_unc_nm, dpeak_nm, dmass_Da, group,
    score_note, :data:`PDF_FIELDS` (only when the spec has a pdf target), and ``terms`` (one value per spec target; NaN where it does not apply or
    could not be computed, ``term_state`` says which: 0 not applicable, 1 computed,
    2 undefined).
    """
    from ..errors import ClusterstructError
    from ..observables import predict_peak, saxs_chi2
    from ..scattering import debye_intensity_arrays
    from ..units import material_of
    out = {"chi2_saxs": np.nan, "peak_nm": np.nan, "peak_unc_nm": np.nan, "dpeak_nm": np.nan,
           "dmass_Da": np.nan, "score": np.nan}
    if has_pdf_target(spec):
        out.update(dict.fromkeys(PDF_FIELDS, np.nan))
    notes = []
    pre = pre or {}
    if "material" in pre:
        material, note = pre["material"]
        if note:
            notes.append(note)
    else:
        try:
            material, _ = material_of(atoms)
        except ClusterstructError as exc:
            material = None
            notes.append(f"material: {exc}")
    targets = spec["targets"]
    # candidates of different materials meet different targets when targets name a material
    out["group"] = (material or "unknown material") if any(t["material"] for t in targets) else "all"
    peak_error = None
    if material is not None and "peak" in pre:
        if isinstance(pre["peak"], str):
            peak_error = pre["peak"]
        else:
            out["peak_nm"], out["peak_unc_nm"] = pre["peak"]
    elif material is not None:
        try:
            est = predict_peak(atoms, model=spec.get("optics_model"), warn=False)
            out["peak_nm"], out["peak_unc_nm"] = float(est.peak_nm), float(est.uncertainty_nm)
        except ClusterstructError as exc:
            peak_error = str(exc)
    else:
        peak_error = "no material"
    terms = np.full(len(targets), np.nan)
    state = np.zeros(len(targets), np.int8)
    for k, t in enumerate(targets):
        if not applies(t, material):
            continue
        if t["kind"] == "saxs":
            q, y, s = _target_data(t)
            if k in pre.get("saxs", {}):
                model = pre["saxs"][k]
            else:
                model = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q,
                                               n_threads=N_THREADS, check=False, dmax=rec.get("dmax_A")).intensity
            chi2_red, fit = saxs_chi2(model, y, s)
            if fit.scale_at_bound:
                notes.append(f"targets[{k}] saxs: scale held at 0 (the profile does not fit the curve)")
            terms[k] = out["chi2_saxs"] = chi2_red
        elif t["kind"] == "pdf":
            try:
                fit = _fit_pdf_target(t, atoms)
            except ClusterstructError as exc:
                notes.append(f"targets[{k}] pdf: no fit ({exc})")
                state[k] = 2
                continue
            if not fit.converged:
                notes.append(f"targets[{k}] pdf: the fit did not converge (Rw {fit.rw:.4f} where it stopped)")
            if not np.isfinite(out["rw_pdf"]):
                out.update(pdf_fields(fit))
            terms[k] = (fit.rw / t["tolerance"]) ** 2
        elif t["kind"] == "absorption":
            if peak_error is not None:
                notes.append(f"targets[{k}] absorption: no predicted peak ({peak_error})")
                state[k] = 2
                continue
            d = out["peak_nm"] - t["peak_nm"]
            if not np.isfinite(out["dpeak_nm"]) or abs(d) < abs(out["dpeak_nm"]):
                out["dpeak_nm"] = d
            terms[k] = (d / t["tolerance_nm"]) ** 2
        else:
            if not t.get("envelope"):
                d = rec["mass_Da"] - t["mass_Da"]
            elif k in pre.get("envelope", {}):
                d = pre["envelope"][k]
            else:
                d = _envelope_delta(atoms, t)
            if not np.isfinite(out["dmass_Da"]) or abs(d) < abs(out["dmass_Da"]):
                out["dmass_Da"] = d
            terms[k] = (d / t["tolerance_Da"]) ** 2
        state[k] = 1
    w = np.array([t["weight"] for t in targets], float)
    if (state == 2).any():
        notes.append("score undefined: a target that applies could not be evaluated")
    elif (state == 1).any():
        on = state == 1
        out["score"] = float((w[on] * terms[on]).sum() / w[on].sum())
    else:
        notes.append(f"no target applies to {material or 'this composition'}")
    out["terms"], out["term_state"] = terms, state
    out["score_note"] = "; ".join(notes)
    return out


def _fit_pdf_target(t, atoms):
    """Fast refinement of ``atoms`` against pdf target ``t`` (its warnings are not the screen's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _pdf_target(t, fast=True).fit(atoms)


def pdf_fields(fit):
    """The record fields (:data:`PDF_FIELDS`) of one PDF fit."""
    p = fit.params
    out = {"rw_pdf": float(fit.rw), "pdf_scale": float(p["scale"]), "pdf_zoom": float(p["zoom"]),
           "pdf_delta2": float(p["delta2"]), "pdf_qdamp": float(p.get("qdamp", np.nan)), "pdf_dof": float(fit.dof)}
    for el in PDF_UISO_ELEMENTS:
        out[f"pdf_uiso_{el}"] = float(p.get(f"uiso_{el}", np.nan))
    # the model options, NaN unless the target refines them
    out["pdf_uiso_surface"] = float(p["uiso_surface"]) if "uiso_surface" in fit.meta.get("refined", ()) else np.nan
    out["pdf_strain"] = float(p["strain"]) if "strain" in fit.meta.get("refined", ()) else np.nan
    return out


def _envelope_delta(atoms, t):
    """Most-abundant m/z of the nearest declared ion form minus the target (envelope-aware mass target)."""
    from collections import Counter
    from ..mass.envelopes import envelope, parse_formula
    from ..mass.search import LIGANDS
    comp = Counter(atoms.get_chemical_symbols())
    for name, n in t["envelope"]["ligands"].items():
        sign = -1 if name == "-H" else 1
        for el, c in parse_formula(LIGANDS[name][0]).items():
            comp[el] += sign * c * n
    deltas = [envelope(dict(comp), charge=z, ion=ion).most_abundant - t["mass_Da"] for ion, z in t["envelope"]["forms"]]
    return min(deltas, key=abs)


def run_batch(spec, tasks, *, per_candidate=None):
    """Evaluate a batch in this process; returns the list of records (workers never write files).

    The records come from :func:`clusterstruct.screen.batch.evaluate_batch` (many candidates
    per kernel call, the same records as :func:`evaluate`); ``per_candidate=True`` (or the
    environment variable ``CLUSTERSTRUCT_SCREEN_PER_CANDIDATE=1``) calls :func:`evaluate`
    on each task instead, the reference path.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if per_candidate is None:
        per_candidate = os.environ.get("CLUSTERSTRUCT_SCREEN_PER_CANDIDATE", "") not in ("", "0")
    if per_candidate:
        return [evaluate(spec, t) for t in tasks]
    from .batch import evaluate_batch
    return evaluate_batch(spec, tasks)


def run_batches(spec, batches):
    """Evaluate several batches in one call: [(batch_index, records), ...] (one Dask task).

    The candidates of all batches go through :func:`run_batch` together, so that per-call
    costs (kernel set-up, the sinc rows of a q grid) are shared by more candidates.
    """
    tasks = [t for _, batch in batches for t in batch]
    recs = run_batch(spec, tasks)
    out, at = [], 0
    for k, batch in batches:
        out.append((k, recs[at:at + len(batch)]))
        at += len(batch)
    return out
