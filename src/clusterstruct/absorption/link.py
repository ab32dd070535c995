"""From species found in absorption spectra to candidate structures of the same material.

Every predicted peak comes from :func:`clusterstruct.optics.compare_absorption`, i.e. from
:func:`clusterstruct.observables.predict_peak`, the one path shared with ``gap``,
``compare-abs``, ``fit-saxs`` and screening.  A species peak is only ever compared with
candidates of the material the user names: a CdS peak at 311 nm says nothing about a CdSe
cluster that a model happens to put at 311 nm.
"""

import warnings

import numpy as np

from ..errors import ClusterstructError

#: Half-width of the match, in units of the combined uncertainty sqrt(model_rms^2 + peak_err^2).
MATCH_SIGMA = 2.0


def catalogue_candidates(material):
    """(name, Atoms) of the built-in catalogue's structures of ``material`` (cores and ligand shells)."""
    from ..structures.catalog import catalog
    from ..units import material_of
    out = []
    for name, (build, _desc) in catalog().items():
        atoms = build()
        if material_of(atoms)[0] == material:
            atoms.info["name"] = name
            out.append((name, atoms))
    return out


def link_species(peaks_nm, material, *, candidates=None, model=None, peak_err_nm=None, shape="auto",
                 size_definition="equal-volume"):
    """Candidate structures for each species peak.

    Parameters
    ----------
    peaks_nm : sequence of float
        Species (or track) peak wavelengths [nm].
    material : str
        The sample's material (ZnSe, CdS, CdSe, CdTe, CdSeTe); required.
    candidates : sequence of (name, ase.Atoms), optional
        Default: the built-in catalogue's structures of ``material``.
    model : str, optional
        Optics model (default: the material's default, see :func:`clusterstruct.optics.default_model`).
    peak_err_nm : sequence of float, optional
        Uncertainty of each measured peak [nm] (0 when not given).

    Returns
    -------
    dict
        ``material``, ``model``, ``match_rule`` and ``species``: one entry per peak with
        ``peak_nm``, ``peak_err_nm``, ``implied_size_nm`` (equal-volume diameter the model
        needs for that peak; None where the model cannot invert it), ``candidates`` (every
        candidate of the material with its predicted peak ± model error, residual, z and
        ``consistent``), and ``best`` (the name of the nearest consistent candidate or None).
    """
    from ..observables import check_model
    from ..optics import compare_absorption, size_from_peak
    from ..optics.models import ModelRangeWarning, default_model
    from ..optics.parameters import material_parameters
    if not material:
        raise ClusterstructError("absorption peaks are linked to structures of one material only: "
                                 "give the sample's material (--material)")
    material = material_parameters(material).material
    check_model(model)
    model = model or default_model(material)
    peaks = np.atleast_1d(np.asarray(peaks_nm, float))
    errs = np.zeros_like(peaks) if peak_err_nm is None else np.nan_to_num(
        np.atleast_1d(np.asarray(peak_err_nm, float)), nan=0.0)
    if errs.shape != peaks.shape:
        raise ClusterstructError(f"{errs.size} peak uncertainties for {peaks.size} peaks")
    if candidates is None:
        candidates = catalogue_candidates(material)
    names = [n for n, _ in candidates]
    rows = compare_absorption([a for _, a in candidates], None, models=[model], shape=shape,
                              size_definition=size_definition, names=names) if candidates else []
    rows = [r for r in rows if r["material"] == material]
    species = []
    for p, e in zip(peaks, errs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ModelRangeWarning)
                implied = float(size_from_peak(float(p), material, model=model, shape="sphere"))
        except ClusterstructError:
            implied = None
        cands = []
        for r in rows:
            unc = float(np.hypot(r["uncertainty_nm"], e)) if np.isfinite(r["uncertainty_nm"]) else float("nan")
            resid = r["peak_nm"] - p
            z = float(resid / unc) if unc and np.isfinite(unc) else float("nan")
            cands.append({"name": r["name"], "formula": r["formula"], "predicted_nm": r["peak_nm"],
                          "model_error_nm": r["uncertainty_nm"], "residual_nm": float(resid), "z": z,
                          "consistent": bool(np.isfinite(z) and abs(z) <= MATCH_SIGMA),
                          "size_nm": r["size_nm"], "size_definition": r["size_definition"],
                          "shape": r["shape"], "notes": r["flags"]})
        cands.sort(key=lambda c: abs(c["residual_nm"]) if np.isfinite(c["residual_nm"]) else np.inf)
        ok = [c for c in cands if c["consistent"]]
        species.append({"peak_nm": float(p), "peak_err_nm": float(e), "implied_size_nm": implied,
                        "implied_size_definition": "equal-volume diameter (sphere)",
                        "candidates": cands, "best": ok[0]["name"] if ok else None})
    return {"material": material, "model": model,
            "match_rule": f"|predicted - measured| <= {MATCH_SIGMA:g} x sqrt(model RMS error^2 + peak error^2)",
            "n_candidates": len(rows), "species": species}
