"""Cluster mining: many candidate structures refined against one measured PDF.

    res = mine("CdSe-clusters.gr", "candidates.toml", out="mined.h5", top=10,
               qmin=1, qmax=20, qdamp=0.06)
    res.top[0]        # best candidate after the full refinement (Rw, parameters +- one sigma)
    res.families      # Rw distribution per family: N, min, median, N within noise
    plot_mine(res, "mined.png")

How it runs
-----------
The candidates spec (``clusterstruct screen`` format, :mod:`clusterstruct.screen.spec`) gets
one more target, ``kind = "pdf"`` with the measured file and its settings, and is run by
:func:`clusterstruct.screen.run_screen` (serially, on a local Dask cluster, a scheduler
or a job queue; resumable): every candidate is refined with the cheap first pass
(``prepare_target(..., fast=True)``) and its Rw, refined parameters and family stored in the
results file.  The ``top`` best distinct structures (by that Rw) are then refined again with
the full refinement (``fast=False``), which gives the uncertainties (one sigma, counted with
the independent points of the data, see :mod:`clusterstruct.pdf.fit`), and ranked by it.

Settings: a value given here wins over the file header; Qmin and Qmax must come from one of
them; Qdamp and Qbroad not in either are 0, with a warning (as ``fit-pdf`` does); rmin, rmax
default to 1.5 and 20 A.  :attr:`MineResult.settings` records every value with its origin.

Within the data's noise
-----------------------
Measured PDFs carry no per-point errors, so the noise level is taken from the best fit
itself: candidate c is *within noise* of the best candidate b when an F-test cannot tell
their residual sums apart (Hamilton's R-factor ratio test):

    (Rw_c / Rw_b)^2  <=  F_{1-level}(dof_c, dof_b),     level = 0.05 by default,

with dof = N_ind - refined parameters and N_ind = (r_last - r_first) Qmax / pi the
independent points of the fitted range (Nyquist spacing pi/Qmax).  For the CdSe-cluster data
(1.5-20 A, Qmax 20, N_ind ~ 118, 6 parameters) the bound is Rw_c <= 1.17 Rw_b.  Treating the
best model's misfit as noise overstates the noise when that misfit is partly systematic, so
the rule errs on the side of keeping candidates (it does not exclude a model the data cannot
exclude).  The per-family distribution uses the first-pass Rw of every candidate against the
first-pass best; the re-fitted top list uses the full refinement's Rw and dof.  Families count
distinct structures: a candidate whose geometry repeats an earlier one (the screen's
``duplicate_of``) is counted once, under the family of its first id (``n_duplicates`` says
how many repeats a family had).

Models with different numbers of parameters
--------------------------------------------
Every fit states its number of refined parameters k (``n_params``: scale, zoom, delta2, one
Uiso per element, plus each option in ``refine``), so candidates of one run can differ in k
(ligand heads add the Uiso of O and N).  Rw alone never decides between models of different
k; they are compared only through the independent points N_ind of the data:

* the within-noise F-test above, with each model's own dof = N_ind - k;
* BIC on N_ind: BIC = N_ind ln(Rw^2) + k ln(N_ind) (the residual sum of squares is Rw^2 sum
  G_obs^2, the same data for every model, so the constant drops out of differences);
  ``delta_bic`` of a re-fitted candidate is its BIC minus the best's (> 0: worse; a difference
  below 2 does not tell the models apart, above 6 is strong evidence);
* model options tried on the best candidate (``options=("surface_uiso", "strain")``, added
  one after the other to ``refine``) are nested in the model before them and compared with
  the nested F-test: F = ((Rw_0^2 - Rw_1^2) / (k_1 - k_0)) / (Rw_1^2 / (N_ind - k_1)) against
  F(k_1 - k_0, N_ind - k_1); the option is *significant* when p < ``level``
  (:attr:`MineResult.options`, each entry with k, Rw, F, p and its BIC minus the base fit's).

Families are :func:`clusterstruct.screen.spec.family_of` (the block's ``label``, else the
builder, material and lattice, marked for ligands, alloys and rattled copies).
"""

from dataclasses import dataclass, field
import os
import time
import warnings

import numpy as np

from ..errors import ClusterstructError

#: Significance level of the within-noise F-test.
NOISE_LEVEL = 0.05
#: Settings the mine command may take from its options or the data file's header.
SETTING_KEYS = ("qmin", "qmax", "qdamp", "qbroad", "rmin", "rmax")


# ----------------------------------------------------------------------------- the prepared target

def prepare(measured, target, *, fast):
    """The prepared fit (:func:`clusterstruct.pdf.fit.prepare_target`) of a validated spec's pdf target."""
    from .fit import prepare_target
    kw = {k: target[k] for k in SETTING_KEYS}
    return prepare_target(measured, refine=tuple(target["refine"]), fast=fast, **kw)


# ----------------------------------------------------------------------------- results

@dataclass
class MineResult:
    """What :func:`mine` found; :meth:`to_dict` gives the JSON-ready summary."""

    out: str                      # results file of the screen
    data: str                     # the measured PDF
    settings: dict                # {name: {"value": v, "source": "argument" | "file header" | "default"}}
    n_candidates: int             # candidates of the spec
    n_fitted: int                 # candidates with a first-pass Rw
    n_failed: int                 # candidates that could not be built or fitted
    seconds: float                # wall time of the screen (first pass) [s]
    top: list                     # re-fitted best candidates (dicts), best first by the full refinement
    families: list                # Rw distribution per family (dicts), best family first
    noise: dict                   # the within-noise rule and its numbers
    fits: list = field(default_factory=list, repr=False)   # PDFFit of each ``top`` entry
    warnings: list = field(default_factory=list)
    options: list = field(default_factory=list)   # model options tried on the best (see the module docstring)
    option_fits: list = field(default_factory=list, repr=False)   # PDFFit of each ``options`` entry

    @property
    def rate(self):
        """First-pass candidates per second (wall clock, all workers)."""
        return self.n_candidates / self.seconds if self.seconds > 0 else float("nan")

    @property
    def best(self):
        return self.top[0] if self.top else None

    def to_dict(self):
        return {"out": self.out, "data": self.data, "settings": self.settings, "n_candidates": self.n_candidates,
                "n_fitted": self.n_fitted, "n_failed": self.n_failed, "seconds": self.seconds,
                "candidates_per_s": self.rate, "noise": self.noise, "top": self.top, "families": self.families,
                "options": self.options, "warnings": list(self.warnings)}


# ----------------------------------------------------------------------------- the spec with its pdf target

def _toml_value(v):
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(float(v))


def _mining_settings(measured, given):
    """Settings with their origin: given > file header > default (Qdamp, Qbroad 0 with a warning)."""
    settings, notes = {}, []
    for key in SETTING_KEYS:
        val = given.get(key)
        if val is not None:
            settings[key] = {"value": float(val), "source": "argument"}
        elif key in ("qmin", "qmax", "qdamp", "qbroad") and measured.meta.get(key) is not None:
            settings[key] = {"value": float(measured.meta[key]), "source": "file header"}
        elif key in ("qmin", "qmax"):
            raise ClusterstructError(f"{measured.name}: {key} is not in the file header; give it (--{key})")
        else:
            default = {"qdamp": 0.0, "qbroad": 0.0, "rmin": 1.5, "rmax": 20.0}[key]
            settings[key] = {"value": default, "source": "default"}
            if key in ("qdamp", "qbroad"):
                from .fit import _DEFAULTED
                notes.append(_DEFAULTED[key])
    return settings, notes


def mining_spec(data_path, spec_path, settings, *, refine=None, tolerance=None):
    """The candidates spec with the pdf target appended (validated; ``_text`` holds the added block)."""
    from ..screen.spec import SpecError, read_spec_text, spec_from_text
    text, src = read_spec_text(spec_path)
    base = os.path.dirname(os.path.abspath(src))
    own = spec_from_text(text, source=src, base=base)
    if any(t["kind"] == "pdf" for t in own["targets"]):
        raise SpecError(f"{src}: targets: the spec has its own pdf target; run it with 'clusterstruct screen', "
                        "or remove that target to mine it against another PDF")
    lines = ["", "# pdf target added by clusterstruct mine", "[[targets]]", 'kind = "pdf"',
             f"file = {_toml_value(os.path.abspath(os.fspath(data_path)))}"]
    lines += [f"{k} = {_toml_value(settings[k]['value'])}" for k in SETTING_KEYS]
    if refine is not None:
        lines.append(f"refine = {_toml_value(list(refine))}")
    if tolerance is not None:
        lines.append(f"tolerance = {_toml_value(tolerance)}")
    return spec_from_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", source=src, base=base)


def _write_gr(measured, path):
    """A MeasuredPDF as a .gr file (header with its Q settings) for the screen's workers to read."""
    head = [f"# {measured.name} (written for clusterstruct mine)"]
    head += [f"{k} = {measured.meta[k]:g}" for k in ("qmin", "qmax", "qdamp", "qbroad") if measured.meta.get(k)
             is not None]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(head) + "\n#### start data\n")
        for r, g in zip(measured.r, measured.g):
            fh.write(f"{r:.10g} {g:.10g}\n")


# ----------------------------------------------------------------------------- mining

def mine(measured_or_path, candidates_spec, *, out=None, top=10, workers=0, qmin=None, qmax=None, qdamp=None,
         qbroad=None, rmin=None, rmax=None, refine=None, tolerance=None, level=NOISE_LEVEL, resume=False,
         progress=False, max_candidates=None, scheduler=None, jobqueue=None, jobqueue_options=None,
         worker_timeout=None, options=()):
    """Mine the candidates of ``candidates_spec`` (TOML path) against a measured PDF.

    ``measured_or_path``: a .gr file, or a :class:`clusterstruct.pdf.MeasuredPDF` (written
    beside ``out`` as ``<out stem>_data.gr`` for the workers).  ``out``: the results file
    (default ``<data stem>_mined.h5`` in the working folder).  ``workers`` as in
    :func:`clusterstruct.screen.run_screen` (0: serial, None: all cores).  ``refine`` and
    ``tolerance`` go to the pdf target (see :mod:`clusterstruct.screen.spec`); ``level`` is
    the within-noise test's significance level.  ``options``: model options ("surface_uiso",
    "strain") added one after the other to ``refine`` in full refinements of the best
    candidate and kept or not by the nested F-test (:attr:`MineResult.options`; see the module
    docstring).  Returns :class:`MineResult`; every warning in it is also issued as a
    RuntimeWarning.
    """
    from ..screen import run_screen
    from ..screen.spec import check_size
    from .data import MeasuredPDF, load_gr
    if not 0 < level < 1:
        raise ClusterstructError(f"level: expected a significance level within 0..1, got {level}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ClusterstructError(f"top: expected an integer >= 1, got {top!r}")
    options = [options] if isinstance(options, str) else list(options or ())
    for opt in options:
        if opt not in MODEL_OPTIONS:
            raise ClusterstructError(f"options: {opt!r} is not a model option; choose from {', '.join(MODEL_OPTIONS)}")
    if isinstance(measured_or_path, MeasuredPDF):
        measured = measured_or_path
        stem = os.path.splitext(os.path.basename(measured.name))[0] or "data"
    else:
        measured = load_gr(measured_or_path)
        stem = os.path.splitext(os.path.basename(os.fspath(measured_or_path)))[0]
    out = os.path.abspath(os.fspath(out or f"{stem}_mined.h5"))
    given = {"qmin": qmin, "qmax": qmax, "qdamp": qdamp, "qbroad": qbroad, "rmin": rmin, "rmax": rmax}
    for key, val in given.items():
        if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float, np.floating))
                                or not np.isfinite(val)):
            raise ClusterstructError(f"--{key}: expected a finite number, got {val!r}")
    settings, notes = _mining_settings(measured, given)
    if not resume and os.path.exists(out):
        raise ClusterstructError(f"{out}: results exist already; use --resume to continue that run, or remove them")
    if isinstance(measured_or_path, MeasuredPDF):
        data_path = os.path.splitext(out)[0] + "_data.gr"
        if not (resume and os.path.exists(data_path)):
            _write_gr(measured, data_path)
    else:
        data_path = os.fspath(measured_or_path)
    spec = mining_spec(data_path, candidates_spec, settings, refine=refine, tolerance=tolerance)
    n_cand = check_size(spec, max_candidates)
    for note in notes:
        warnings.warn(f"{measured.name}: {note}", RuntimeWarning, stacklevel=2)
    t0 = time.perf_counter()
    run_screen(spec, out, workers=workers, scheduler=scheduler, jobqueue=jobqueue,
               jobqueue_options=jobqueue_options, resume=resume, top=top, progress=progress, export=False,
               worker_timeout=worker_timeout)
    seconds = time.perf_counter() - t0
    target = spec["targets"][-1]
    res = _collect(out, measured, target, top=top, level=level)
    res.update(out=out, data=os.path.abspath(data_path), settings=settings, n_candidates=n_cand, seconds=seconds)
    res["options"], res["option_fits"] = _try_options(out, measured, target, res["top"][0], res["fits"][0], options,
                                                      level=level)
    return MineResult(**res, warnings=notes)


#: Model options :func:`mine` may try on the best candidate (``options=``; names of ``refine``).
MODEL_OPTIONS = ("surface_uiso", "strain")


def n_params(fit):
    """Number of refined parameters of a fit (its independent points minus its dof)."""
    return int(round(fit.n_independent - fit.dof))


def delta_bic(rw, k, rw_ref, k_ref, n_ind):
    """BIC of a fit (Rw, k parameters) minus that of a reference fit, on N_ind independent points."""
    return float(n_ind * np.log((rw / rw_ref) ** 2) + (k - k_ref) * np.log(n_ind))


def nested_f_test(rw0, k0, rw1, k1, n_ind):
    """(F, p) of the nested F-test: do the k1 - k0 added parameters lower Rw beyond chance?"""
    from scipy.stats import f as f_dist
    dk, dof1 = k1 - k0, n_ind - k1
    if dk <= 0 or dof1 <= 0:
        raise ClusterstructError(f"nested F-test needs k1 > k0 and N_ind > k1 (k0 {k0}, k1 {k1}, N_ind {n_ind:g})")
    f_stat = ((rw0 ** 2 - rw1 ** 2) / dk) / (rw1 ** 2 / dof1)
    return float(f_stat), float(f_dist.sf(f_stat, dk, dof1))


def _try_options(out, measured, target, best, best_fit, options, *, level):
    """Full refinements of the best candidate with the model options added one after the other."""
    if not options:
        return [], []
    from ..screen.store import structure_of
    atoms = structure_of(out, best["row"])
    refine = list(target["refine"])
    entries = [{"refine": list(refine), "added": "", "n_params": best["n_params"], "rw": best["rw"],
                "dof": best["dof"], "f_stat": float("nan"), "p_value": float("nan"), "significant": False,
                "delta_bic": 0.0, "params": best["params"], "errors": best["errors"]}]
    fits = [best_fit]
    n_ind = best_fit.n_independent
    for opt in options:
        if opt in refine:
            continue
        refine = refine + [opt]
        full = prepare(measured, dict(target, refine=refine), fast=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = full.fit(atoms, name=f"id {best['id']} {best['formula']} +{opt}")
        prev = entries[-1]
        k = n_params(fit)
        f_stat, p = nested_f_test(prev["rw"], prev["n_params"], fit.rw, k, n_ind)
        entries.append({"refine": list(refine), "added": opt, "n_params": k, "rw": float(fit.rw),
                        "dof": float(fit.dof), "f_stat": f_stat, "p_value": p, "significant": bool(p < level),
                        "delta_bic": delta_bic(fit.rw, k, best["rw"], best["n_params"], n_ind),
                        "params": {kk: float(v) for kk, v in fit.params.items()},
                        "errors": {kk: float(v) for kk, v in fit.errors.items()}})
        fits.append(fit)
    return entries, fits


def _collect(out, measured, target, *, top, level):
    """Re-fit the top structures of a mining results file and summarise Rw per family."""
    from ..screen.store import read_results, structure_of
    res = read_results(out)
    if "rw_pdf" not in res:
        raise ClusterstructError(f"{out}: no rw_pdf in the records: not a mining results file")
    ok = (res["status"] == 1) & np.isfinite(res["rw_pdf"])
    n_failed = int((res["status"] != 1).sum())
    if not ok.any():
        errors = sorted(set(str(e) for e in res["error"][res["status"] != 1]))[:2]
        raise ClusterstructError(f"{out}: no candidate could be fitted to the PDF ({'; '.join(errors) or 'none ran'})")
    rw = res["rw_pdf"]
    dof = res["pdf_dof"]
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((res["id"][idx], rw[idx]))]
    best_row = order[0]
    from scipy.stats import f as f_dist

    def within(rw_c, dof_c, rw_b, dof_b):
        return bool((rw_c / rw_b) ** 2 <= f_dist.ppf(1 - level, dof_c, dof_b)) if rw_b > 0 else bool(rw_c <= rw_b)

    fam = res["family"]
    full = prepare(measured, target, fast=False)
    n_ind = float(full.n_independent)
    kpar = np.rint(n_ind - dof).astype(int)   # refined parameters of each first-pass fit
    distinct = ok & (res["duplicate_of"] == -1)
    families = []
    for name in sorted(set(fam[ok].tolist())):
        n_dup = int((ok & ~distinct & (fam == name)).sum())
        rows = np.flatnonzero(distinct & (fam == name))
        if not len(rows):
            families.append({"family": name, "n": 0, "n_duplicates": n_dup, "rw_min": float("nan"),
                             "rw_median": float("nan"), "rw_max": float("nan"), "n_within_noise": 0,
                             "formulas_within_noise": [], "best_id": -1, "best_formula": "", "rw": [],
                             "n_params": []})
            continue
        rows = rows[np.lexsort((res["id"][rows], rw[rows]))]
        inside = [r for r in rows if within(rw[r], dof[r], rw[best_row], dof[best_row])]
        formulas = []
        for r in inside:
            if res["formula"][r] not in formulas:
                formulas.append(res["formula"][r])
        families.append({"family": name, "n": int(len(rows)), "n_duplicates": n_dup, "rw_min": float(rw[rows[0]]),
                         "rw_median": float(np.median(rw[rows])), "rw_max": float(rw[rows[-1]]),
                         "n_within_noise": len(inside), "formulas_within_noise": formulas,
                         "best_id": int(res["id"][rows[0]]), "best_formula": str(res["formula"][rows[0]]),
                         "rw": [float(v) for v in rw[rows]],
                         "n_params": sorted(set(int(v) for v in kpar[rows]))})
    families.sort(key=lambda d: (not d["n"], d["rw_min"] if d["n"] else 0.0, d["family"]))
    # the full refinement of the best distinct structures
    picked = [r for r in order if res["duplicate_of"][r] == -1][:top]
    entries, fits = [], []
    for r in picked:
        atoms = structure_of(out, int(r))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = full.fit(atoms, name=f"id {int(res['id'][r])} {res['formula'][r]}")
        fits.append(fit)
        entries.append({"id": int(res["id"][r]), "row": int(r), "formula": str(res["formula"][r]),
                        "family": str(fam[r]), "n_atoms": int(res["n_atoms"][r]),
                        "description": str(res["description"][r]), "rw_first_pass": float(rw[r]),
                        "rw": float(fit.rw), "params": {k: float(v) for k, v in fit.params.items()},
                        "errors": {k: float(v) for k, v in fit.errors.items()}, "dof": float(fit.dof),
                        "n_params": n_params(fit),
                        "n_independent": float(fit.n_independent), "converged": bool(fit.converged),
                        "warnings": list(fit.warnings)})
    order_full = sorted(range(len(entries)), key=lambda i: (entries[i]["rw"], entries[i]["id"]))
    entries = [entries[i] for i in order_full]
    fits = [fits[i] for i in order_full]
    for k, e in enumerate(entries, 1):
        e["rank"] = k
        e["within_noise"] = within(e["rw"], e["dof"], entries[0]["rw"], entries[0]["dof"])
        e["delta_bic"] = delta_bic(e["rw"], e["n_params"], entries[0]["rw"], entries[0]["n_params"],
                                   e["n_independent"])
    d_best = float(dof[best_row])
    noise = {"rule": "(Rw_c/Rw_best)^2 <= F_{1-level}(dof_c, dof_best) (Hamilton R-factor ratio test)",
             "level": float(level), "rw_best_first_pass": float(rw[best_row]), "dof_best": d_best,
             "n_independent": n_ind, "n_params_best": int(kpar[best_row]),
             "rw_ratio_bound": float(np.sqrt(f_dist.ppf(1 - level, d_best, d_best))),
             "n_within_noise": int(sum(f["n_within_noise"] for f in families))}
    return {"n_fitted": int(ok.sum()), "n_failed": n_failed, "top": entries, "families": families,
            "noise": noise, "fits": fits}


# ----------------------------------------------------------------------------- figure

def plot_mine(result, path, *, n_fits=2):
    """Best fits with their difference curves (left) and Rw per family as a strip plot (right)."""
    from ..plotting import _pdf_fit_panel, _pyplot, save_figure
    plt = _pyplot()
    n_fits = max(1, min(n_fits, len(result.fits)))
    fams = result.families
    fig = plt.figure(figsize=(5.2 * n_fits + 6.0, max(4.2, 0.32 * len(fams) + 1.5)))
    grid = fig.add_gridspec(1, n_fits + 1, width_ratios=[3] * n_fits + [3.5])
    for k in range(n_fits):
        ax = fig.add_subplot(grid[0, k])
        e = result.top[k]
        _pdf_fit_panel(ax, result.fits[k], f"#{e['rank']} {e['formula']} ({e['family']})")
    ax = fig.add_subplot(grid[0, n_fits])
    rng = np.random.default_rng(0)
    for y, f in enumerate(fams):
        v = np.asarray(f["rw"], float)
        ax.plot(v, y + rng.uniform(-0.25, 0.25, len(v)), "o", ms=3, alpha=0.6, color="tab:blue")
        ax.plot([f["rw_median"]], [y], "|", ms=14, mew=2, color="k")
    bound = result.noise["rw_best_first_pass"] * result.noise["rw_ratio_bound"]
    ax.axvline(bound, color="tab:red", ls="--", lw=1,
               label=f"within noise: Rw ≤ {bound:.3f} (F-test, level {result.noise['level']:g})")
    ax.set_yticks(range(len(fams)))
    ax.set_yticklabels([f"{f['family']} ({f['n_within_noise']}/{f['n']})" for f in fams], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Rw (first pass); | median")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)
