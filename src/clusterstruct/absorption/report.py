"""One analysis of an absorption series, shared by the ``absorption`` command and the API.

:func:`analyse_series` runs, in order: noise estimate, scattering background, bands of the last
spectrum (second derivative), peak tracks over time, isosbestic points, the number of species
(SVD), OD(t) of each label minus its reference, the kinetic fit of the first label (with the
first-order adequacy test), optionally the global fit, and the link from species peaks to
candidate structures of the sample's material.  Its record is the ``--json`` output.
"""

import warnings

import numpy as np

from ..errors import ClusterstructError
from . import analysis, kinetics
from .series import TIME_UNITS, SpectraSeries

#: Raw OD below -(NEGATIVE_OD_SIGMAS * noise + NEGATIVE_OD_ABS) in more than NEGATIVE_OD_FRACTION of the
#: points is refused: a wrong blank, a transmittance file or a swapped channel, not a spectrum.
NEGATIVE_OD_SIGMAS, NEGATIVE_OD_ABS, NEGATIVE_OD_FRACTION = 10.0, 0.01, 0.01


def _f(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _label_pairs(labels, references, tracks):
    """(label_nm, reference_nm or None) pairs: --label/--reference, else the tracked bands."""
    if not labels:
        if references:
            raise ClusterstructError("--reference needs --label (the wavelength it is subtracted from)")
        return [(round(tr.position_nm, 1), None) for tr in tracks]
    refs = list(references or [])
    if len(refs) not in (0, 1, len(labels)):
        raise ClusterstructError(f"{len(labels)} labels but {len(refs)} references: give one reference for all "
                                 "labels or one per label")
    if len(refs) == 1:
        refs = refs * len(labels)
    if not refs:
        refs = [None] * len(labels)
    return list(zip(labels, refs))


def _interconversions(points, tracks):
    """Pairs of tracks on either side of an isosbestic point whose OD(t) move in opposite directions."""
    out = []
    for p in points:
        below = [tr for tr in tracks if tr.position_nm < p.wavelength_nm]
        above = [tr for tr in tracks if tr.position_nm > p.wavelength_nm]
        if not below or not above:
            continue
        lo = max(below, key=lambda tr: tr.position_nm)
        hi = min(above, key=lambda tr: tr.position_nm)
        dlo = lo.od[-1] - lo.od[0]
        dhi = hi.od[-1] - hi.od[0]
        if dlo * dhi < 0:
            src, dst = (lo, hi) if dlo < 0 else (hi, lo)
            out.append({"from_nm": round(src.position_nm, 1), "to_nm": round(dst.position_nm, 1),
                        "isosbestic_nm": round(p.wavelength_nm, 2),
                        "statement": f"species at {src.position_nm:.0f} nm turns into the one at "
                                     f"{dst.position_nm:.0f} nm with an isosbestic point at "
                                     f"{p.wavelength_nm:.1f} nm (no third species absorbing there)"})
    return out


def _rank_series(series, bg):
    """The series for the SVD rank: the raw spectra with the scattering shape projected out.

    Subtracting a fitted background spectrum by spectrum adds the fit's own scatter as one more
    component (its amplitude varies from spectrum to spectrum with the noise), which the SVD
    counts as a species.  Projecting every spectrum onto the complement of the background shape
    λ^−n removes the background whatever its time dependence and adds nothing; a species whose
    spectrum is not itself a λ^−n curve keeps its own direction.
    """
    if bg.method != "scatter" or not bg.parameters:
        return bg.series
    n_exp = float(np.nanmedian([p["exponent"] for p in bg.parameters]))
    u = (series.wavelength_nm / bg.ref_nm) ** (-n_exp)
    basis = [u / np.linalg.norm(u)]
    if any(p.get("offset_od") for p in bg.parameters):
        c = np.ones_like(u) - basis[0] * (basis[0] @ np.ones_like(u))
        basis.append(c / np.linalg.norm(c))
    a = series.absorbance.copy()
    for b in basis:
        a -= np.outer(a @ b, b)
    return series._replace(absorbance=a)


def analyse_series(series, *, labels=None, references=None, background="scatter", background_windows=None,
                   smooth_nm=None, noise=None,
                   model="auto", window=None, global_fit=False, material=None, optics_model=None,
                   candidates=None, source=None):
    """Analyse a :class:`SpectraSeries`; returns (record, extras).

    Parameters
    ----------
    labels, references : sequences of float [nm], optional
        MSC labels whose OD(t) is followed, each minus OD at its reference wavelength (one
        reference for all labels, or one per label). Default: the tracked bands, without reference
        (on the background-subtracted spectra).
    background : str
        'scatter' (b·λ^−n with one n shared by all spectra, fitted to the transparent red tail),
        'none', or a pybaselines method name.
    background_windows : sequence of (lo, hi) [nm], optional
        Transparent ranges the scattering background is fitted to (default: chosen from the bands).
    smooth_nm : float, optional
        Savitzky-Golay window of the second derivative (default 6 nm, at least 7 grid steps).
    noise : float, optional
        OD noise σ (default: estimated from the spectra).
    model : str
        Kinetic scheme fitted to the first label's OD(t), or 'auto' (BIC choice between first
        order and A→B→C, first order tested explicitly).
    window : (t0, t1) in the series' time unit, optional
    global_fit : bool
        Fit the whole matrix with the scheme (A→B for two species, A→B→C for three, or ``model``
        when it has as many species as the SVD rank).
    material : str, optional
        Sample material: species peaks are linked to candidate structures of this material.
    candidates : sequence of (name, Atoms), optional

    Returns
    -------
    record : dict
        JSON-ready; keys include ``n_spectra``, ``peaks_nm``, ``isosbestic_nm``, ``model``,
        ``k_per_min``, ``k_err_per_min``, ``t0_min``, ``a_inf``, ``first_order_adequate``,
        ``n_species``, ``warnings``.
    extras : dict
        Arrays for figures and files: ``traces`` (per label: time, od, fit, residual),
        ``plot_traces``, ``d2`` ((wavelength, d2) of the corrected series), ``corrected``.
    """
    if not isinstance(series, SpectraSeries):
        raise ClusterstructError("analyse_series needs a SpectraSeries (see clusterstruct.absorption.read_spectra)")
    source = source or series.sources[0]
    warn_list, notes = [], list(series.notes)
    step = float(np.median(np.diff(series.wavelength_nm)))
    smooth = float(smooth_nm) if smooth_nm is not None else max(6.0, 7 * step)
    if smooth <= 0 or not np.isfinite(smooth):
        raise ClusterstructError(f"--smooth must be > 0 nm, got {smooth_nm}")
    if noise is not None and not (np.isfinite(noise) and noise > 0):
        raise ClusterstructError(f"--noise must be > 0 OD, got {noise}")
    if series.times is not None:
        series.check_times()
    sig = analysis.estimate_noise(series)
    noise_od = float(noise) if noise is not None else float(np.median(sig))
    noise_basis = "given" if noise is not None else "median over spectra of the Savitzky-Golay residual (MAD)"
    floor = -(NEGATIVE_OD_SIGMAS * noise_od + NEGATIVE_OD_ABS)
    low = series.absorbance < floor
    if low.mean() > NEGATIVE_OD_FRACTION:
        k, j = np.unravel_index(int(np.argmin(series.absorbance)), series.absorbance.shape)
        raise ClusterstructError(
            f"{series.sources[k]}: {100 * low.mean():.1f} % of the OD values are below {floor:.3g} (beyond the noise "
            f"{noise_od:.2g}), down to {series.absorbance[k, j]:.3g} at {series.wavelength_nm[j]:g} nm in spectrum "
            f"{k + 1}: check the blank/reference or whether the file holds transmittance")
    explicit_kinetics = (model not in (None, "auto")) or window is not None or global_fit
    if series.n_spectra < 4 and explicit_kinetics:
        raise ClusterstructError(f"{source}: kinetics needs at least 4 spectra with times, got {series.n_spectra}")

    # background
    if background == "scatter":
        bg = analysis.subtract_background(series, "scatter", exponent="shared", smooth_nm=smooth,
                                          windows=[tuple(w) for w in background_windows] if background_windows else None)
    else:
        if background_windows:
            raise ClusterstructError("--background-window applies to the scatter background only")
        bg = analysis.subtract_background(series, background, smooth_nm=smooth)
    corrected = bg.series
    notes += [n for n in bg.notes if n not in notes]
    bg_params = {}
    if bg.method == "scatter" and bg.parameters:
        ex = np.array([p["exponent"] for p in bg.parameters], float)
        bg_params = {"exponent": _f(float(np.nanmedian(ex))), "windows_nm": [list(map(float, w)) for w in bg.windows_nm],
                     "b_od_first": _f(bg.parameters[0]["b_od"]), "b_od_last": _f(bg.parameters[-1]["b_od"]),
                     "ref_nm": bg.ref_nm}
        if any(p.get("at_bound") for p in bg.parameters):
            warn_list.append("scattering exponent at its bound (0 or 6): the background model does not "
                             "describe these spectra; try --background none or a pybaselines method")

    # bands of the last spectrum, tracks, isosbestic points, rank
    last = analysis.find_peaks(corrected.wavelength_nm, corrected.absorbance[-1], smooth_nm=smooth,
                               noise_od=float(sig[-1]) if noise is None else noise_od)
    peaks = [{"wavelength_nm": p.position_nm, "err_nm": p.position_err_nm, "od": p.od,
              "red_hwhm_nm": _f(p.red_hwhm_nm), "red_hwhm_approximate": bool(p.red_hwhm_approximate)}
             for p in last]
    tracks, iso_pts, iso_rej, rank = [], [], [], None
    n = series.n_spectra
    if n >= 3:
        tr = analysis.peak_tracks(corrected, smooth_nm=smooth, noise_od=None if noise is None else noise_od,
                                  min_spectra=min(3, n))
        tracks = tr.tracks
        notes += tr.notes
        iso = analysis.isosbestic_points(corrected, smooth_nm=smooth, noise_od=None if noise is None else noise_od)
        iso_pts, iso_rej = iso.points, iso.rejected
        notes += iso.notes
    if n >= 2:
        rank = analysis.n_species(_rank_series(series, bg), noise_od=None if noise is None else noise_od)
    d2 = analysis.second_derivative_map(corrected, smooth_nm=smooth)
    times = series.times_in(series.time_unit) if series.times is not None else None

    def _t(tmin):
        """A time in minutes back in the series' unit (index when the series has no times)."""
        if series.times is None or tmin is None or not np.isfinite(tmin):
            return _f(tmin)
        return float(tmin / TIME_UNITS[series.time_unit])

    track_rows = [{"wavelength_nm": t.position_nm, "spread_nm": t.spread_nm,
                   "err_nm": float(np.median(t.position_err_nm)) if t.position_err_nm.size else None,
                   "first_time": _t(t.first_time_min), "last_time": _t(t.last_time_min), "n_seen": t.n_seen,
                   "status": t.status, "red_hwhm_nm": _f(t.red_hwhm_nm)} for t in tracks]

    # OD(t) of each label
    pairs = _label_pairs(labels, references, tracks)
    label_rows, traces, plot_traces = [], {}, []
    for lab, ref in pairs:
        src_series = series if ref is not None else corrected
        lod = analysis.label_od(src_series, lab, ref, smooth_nm=smooth)
        notes += [x for x in lod.notes if x not in notes]
        imax = int(np.argmax(lod.od))
        name = f"{lab:g}" + (f"-{ref:g}" if ref is not None else "")
        label_rows.append({"label_nm": float(lab), "reference_nm": None if ref is None else float(ref),
                           "definition": lod.definition + ("" if ref is not None else " (background-subtracted)"),
                           "od": lod.od, "max_od": float(lod.od[imax]),
                           "time_of_max": None if times is None else float(times[imax])})
        traces[name] = {"time": times, "od": lod.od, "fit": None, "residual": None,
                        "definition": label_rows[-1]["definition"]}
        plot_traces.append({"label": label_rows[-1]["definition"], "t": times if times is not None else np.arange(n),
                            "od": lod.od})
    for row in label_rows:
        lo, hi = series.wavelength_nm[0], series.wavelength_nm[-1]
        if np.nanmax(-row["od"]) > 5 * noise_od and row["reference_nm"] is not None:
            warn_list.append(f"{row['definition']} falls {np.nanmax(-row['od']):.3g} OD below zero, beyond the noise "
                             f"({noise_od:.2g}): check the reference wavelength ({lo:g}..{hi:g} nm measured)")

    # kinetics of the first label
    record_kin, model_used, first_order_ok = None, None, None
    kfit = None
    if label_rows and times is not None and model is not None and n < 4:
        notes.append(f"{n} spectra: too few for kinetics (4 or more with times needed)")
    elif label_rows and times is not None and model is not None:
        y = label_rows[0]["od"]
        tmin = series.times_min
        win = None if window is None else tuple(float(w) * TIME_UNITS[series.time_unit] for w in window)
        if win is not None and win[1] <= win[0]:
            raise ClusterstructError(f"--window {window[0]:g} {window[1]:g}: the end must come after the start")
        sigma = noise_od if noise is not None else None
        comp = kinetics.compare_models(tmin, y, window=win, sigma=sigma, source=source)
        first_order_ok = bool(comp.first_order_adequate)
        model_used = comp.preferred if model == "auto" else model
        kfit = kinetics.fit_trace(tmin, y, model_used, window=win, sigma=sigma, source=source,
                                  baseline=model_used in ("first-order", "first-order-decay"))
        kd = kfit.to_dict()
        record_kin = {"trace": label_rows[0]["definition"], "window": [_t(kfit.window[0]), _t(kfit.window[1])],
                      "chi2_red": kd["chi2_red"], "n_points": kd["n_points"], "rates_per_min": kd["rates_per_min"],
                      "rate_errors_per_min": kd["rate_errors_per_min"], "params": kd["params"],
                      "errors": kd["errors"], "at_bounds": kd["at_bounds"], "ln_plot": kd["ln_plot"],
                      "comparison": [{"model": m, "aic": comp.aic[m], "bic": comp.bic[m],
                                      "chi2_red": comp.fits[m].chi2_red} for m in comp.fits],
                      "f_tests": comp.to_dict()["f_tests"], "runs_test": comp.runs,
                      "adequacy_reason": comp.reason, "preferred_by_bic": comp.preferred}
        warn_list += [f"kinetic fit ({model_used}): {w}" for w in kfit.warnings]
        if not first_order_ok:
            warn_list.append(f"first-order kinetics is not adequate for {label_rows[0]['definition']}: {comp.reason}")
        first = next(iter(traces))
        fit_full = np.full(n, np.nan)
        in_win = np.isin(tmin, kfit.t)
        fit_full[in_win] = kfit.evaluate(tmin[in_win])
        traces[first]["fit"] = fit_full
        traces[first]["residual"] = y - fit_full
        traces[first]["model"] = model_used
        fine = np.linspace(kfit.window[0], kfit.window[1], 300)
        plot_traces[0].update({"fit_t": fine / TIME_UNITS[series.time_unit],
                               "fit_od": kfit.evaluate(fine), "model": f"{model_used} fit",
                               "residuals": (y - fit_full)[in_win], "residuals_t": times[in_win]})
    elif label_rows and times is None and model is not None:
        warn_list.append(f"{source}: the spectra carry no times: no kinetics (give --times-file, --name-pattern "
                         "or times in the header)")

    # global fit
    gf_record = None
    if global_fit:
        if times is None:
            raise ClusterstructError(f"{source}: a global fit needs times")
        n_sp = rank.rank if rank is not None else 2
        scheme = model if model in kinetics.SCHEMES and len(kinetics.SCHEMES[model][0]) == n_sp else \
            {1: "first-order", 2: "a-to-b"}.get(n_sp, "a-to-b-to-c")
        if scheme == "first-order":
            scheme = "a-to-b"
        win = None if window is None else tuple(window)
        gf = kinetics.global_fit(series.times, series.wavelength_nm, series.absorbance, scheme,
                                 time_unit=series.time_unit, window=win,
                                 background="scatter" if background == "scatter" else None,
                                 sigma=noise_od if noise is not None else None, source=source)
        gf_record = gf.to_dict()
        gf_record["species_peaks_nm"] = gf_record.pop("peaks_nm")
        gf_record["k_per_min"] = [gf_record["rates_per_min"][k] for k in gf_record["rates_per_min"]]
        warn_list += [f"global fit: {w}" for w in gf.warnings]

    # species peaks and their link to structures
    if gf_record is not None:
        species_peaks = list(gf_record["species_peaks_nm"])
        species_err = [0.0] * len(species_peaks)
    elif tracks:
        species_peaks = [t.position_nm for t in tracks]
        species_err = [float(np.median(t.position_err_nm)) if t.position_err_nm.size else 0.0 for t in tracks]
    else:
        species_peaks = [p["wavelength_nm"] for p in peaks]
        species_err = [p["err_nm"] for p in peaks]
    link = None
    if material:
        from .link import link_species
        link = link_species(species_peaks, material, candidates=candidates, model=optics_model,
                            peak_err_nm=species_err)
        for sp in link["species"]:
            if sp["best"] is None:
                warn_list.append(f"no {link['material']} candidate predicts {sp['peak_nm']:.1f} nm within "
                                 f"the model error ({link['match_rule']})")
    elif species_peaks:
        notes.append("species peaks not linked to structures: give the sample's --material")

    iso_rows = [{"wavelength_nm": p.wavelength_nm, "err_nm": p.uncertainty_nm, "drift_nm": p.drift_nm,
                 "drift_err_nm": p.drift_err_nm, "crossing_p": p.crossing_p, "spread_p": p.spread_p}
                for p in iso_pts]
    rej_rows = [{"wavelength_nm": p.wavelength_nm, "err_nm": p.uncertainty_nm, "drift_nm": p.drift_nm,
                 "reason": p.reason} for p in iso_rej]
    kd = kfit.to_dict() if kfit is not None else {}
    record = {
        "source": source, "n_spectra": n, "time_unit": series.time_unit,
        "time_range": None if times is None else [float(times.min()), float(times.max())],
        "wavelength_range_nm": [float(series.wavelength_nm[0]), float(series.wavelength_nm[-1])],
        "peaks_nm": [float(p) for p in species_peaks],
        "peaks": peaks, "tracks": track_rows,
        "isosbestic_nm": iso_rows, "isosbestic_rejected": rej_rows,
        "interconversions": _interconversions(iso_pts, tracks),
        "n_species": None if rank is None else int(rank.rank),
        "singular_values": None if rank is None else [float(s) for s in rank.singular_values[:6]],
        "svd_threshold": None if rank is None else float(rank.threshold),
        "labels": [{k: v for k, v in r.items() if k != "od"} for r in label_rows],
        "model": model_used,
        "k_per_min": kd.get("k_per_min"), "k_err_per_min": kd.get("k_err_per_min"),
        "t0_min": kd.get("t0_min"), "a_inf": kd.get("a_inf"),
        "first_order_adequate": first_order_ok,
        "kinetics": record_kin, "global_fit": gf_record, "structures": link,
        "settings": {"background": bg.method + (" (shared exponent)" if bg.method == "scatter" else ""),
                     "background_parameters": bg_params, "smooth_nm": smooth,
                     "smooth_defaulted": smooth_nm is None, "noise_od": noise_od, "noise_basis": noise_basis,
                     "peak_uncertainty": last.uncertainty_method, "aliquot_factor": None, "path_length_cm": None,
                     "window": None if window is None else [float(w) for w in window], "model_requested": model},
        "notes": notes, "warnings": warn_list,
    }
    extras = {"traces": traces, "plot_traces": plot_traces, "d2": (d2.wavelength_nm, d2.d2_od_per_nm2),
              "corrected": corrected}
    return record, extras


def analyse_file(path, *, fmt="auto", time_unit=None, x_unit=None, times_file=None, name_pattern=None,
                 aliquot_factor=1.0, path_length_cm=1.0, wavelength_range=None, candidates=None, **kw):
    """Read ``path`` with :func:`read_spectra` and run :func:`analyse_series`; (record, series, extras)."""
    from .loaders import read_spectra
    opts = {}
    if x_unit is not None:
        opts["x_unit"] = x_unit
    if times_file is not None:
        opts["times_file"] = times_file
    if name_pattern is not None:
        opts["pattern"] = name_pattern
    series = read_spectra(path, fmt=None if fmt in (None, "auto") else fmt, time_unit=time_unit,
                          aliquot_factor=aliquot_factor, path_length_cm=path_length_cm, **opts)
    if wavelength_range is not None:
        lo, hi = wavelength_range
        if hi <= lo:
            raise ClusterstructError(f"--range {lo:g} {hi:g}: the upper end must exceed the lower")
        series = series.crop(lo, hi)
    cands = None
    if candidates:
        from ..io import read_structure
        cands = [(p, read_structure(p)) for p in candidates]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        record, extras = analyse_series(series, candidates=cands, source=str(path), **kw)
    record["settings"]["aliquot_factor"] = float(aliquot_factor)
    record["settings"]["path_length_cm"] = float(path_length_cm)
    record["settings"]["format"] = fmt
    return record, series, extras
