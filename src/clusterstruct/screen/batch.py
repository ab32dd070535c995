"""Batch evaluation of screening candidates: the records of :func:`.work.evaluate`, many per call.

:func:`evaluate_batch` gives, for a list of tasks, the same records as calling
:func:`clusterstruct.screen.work.evaluate` on each (field by field, arrays to the bit;
``tests/screen/test_batch_equivalence.py`` checks it), at a fraction of the cost:

* **structures as arrays**: a rattled copy is the cached base structure's positions plus
  the seeded displacements (the same ``default_rng([seed, id])`` draw as
  :func:`.work.build`), without an ``ase.Atoms``; blocks with alloys or ligands, and specs
  with a pdf target, build the ``Atoms`` with :func:`.work.build` as before;
* **per composition, once**: formula, formula mass, material, atomic numbers, electron
  weights, element checks and envelope-aware mass distances are cached per tuple of symbols
  (rattled copies share one);
* **predicted peaks, once per question**: the prediction of :func:`clusterstruct.observables.predict_peak`
  depends on the core composition and, for effective-mass models only, on the shape
  :func:`~clusterstruct.observables.guess_shape` gives; it is computed by ``predict_peak``
  itself once per (composition, shape) and reused (empirical models skip the hull).  The
  shape of a rattled copy is its base structure's "sphere" when the base passes the hull
  test by more than the copy's largest displacement can change
  (:func:`~clusterstruct.observables.sphere_within`, a proven bound), else guess_shape's;
* **one transform for many candidates**: on non-uniform q grids (the spec's grid is
  geometric) the histogram route of :func:`clusterstruct.scattering._engine.pair_sinc_sums`
  transforms each histogram with the kernel ``histogram_sinc`` (a row of sinc values per q,
  then one dot product per species pair).  Rows are independent and the sinc row depends on
  (q, dr, number of nodes) only, so histograms with the same number of nodes are stacked and
  transformed in one kernel call: the sines are computed once per group instead of once per
  candidate, and every row is the same sequence of operations as alone, hence bit-identical.
  The exact route and uniform grids (the recurrence) go through ``pair_sinc_sums`` per
  candidate, unchanged;
* the intensity from the pair sums follows :func:`clusterstruct.scattering.debye_intensity_arrays`
  with the form factors of each (element, q grid) computed once;
* **one distance pass for the key and the overlap check**: the sorted pair distances of
  :func:`clusterstruct.scattering._engine.layout_distances` give the geometry key (by
  :func:`~clusterstruct.structures.composition.key_of_sorted_distances`, the function
  :func:`~clusterstruct.structures.composition.geometry_key` ends in) and the closest pair;
  only a candidate whose closest pair is within 1e-9 of the 0.5 A limit or below it (or with
  non-finite coordinates) goes through :func:`clusterstruct.io.check_arrays`, which then
  raises with its reason.

Everything else (Dmax, radii of gyration, the
SAXS chi^2 and the combination of the score terms, :func:`.work.score_terms`) calls the
same functions as :func:`.work.evaluate`.  A candidate that raises anywhere in this path
is evaluated again by :func:`.work.evaluate`, so failures carry exactly its reasons.
"""

import numpy as np

from . import work

#: Record fields in :func:`.work.evaluate`'s order (status, then the computed values).
_OK_FIELDS = ("status", "error", "formula", "n_atoms", "mass_Da", "rg_number_A", "rg_electron_A", "dmax_A",
              "geometry_key", "profile", "positions", "numbers")


class _Arrays:
    """The positions and symbols of one candidate, with the attributes the observables read."""

    __slots__ = ("positions", "_sym", "numbers")

    def __init__(self, positions, symbols, numbers):
        self.positions = positions
        self._sym = symbols
        self.numbers = numbers

    def get_chemical_symbols(self):
        return list(self._sym)

    def __len__(self):
        return len(self._sym)


class _Composition:
    """What depends on a candidate's symbols only (computed once per tuple of symbols)."""

    def __init__(self, spec, sym):
        from ase import Atoms
        from ase.data import atomic_numbers
        from ..errors import ClusterstructError
        from ..io import formula
        from ..observables import electron_weights, formula_mass
        from ..scattering.formfactors import check_element
        from ..units import material_of
        self.sym = list(sym)
        self.formula = formula(self.sym)
        self.mass = formula_mass(Atoms(symbols=self.sym))
        self.numbers = np.array([atomic_numbers[s] for s in self.sym]).astype(np.int16)
        self.weights = electron_weights(self.sym)
        for el in sorted(set(self.sym)):  # unknown elements: the candidate goes through evaluate()
            check_element(el)
        try:
            self.material, _ = material_of(self.sym)
            self.material_note = None
        except ClusterstructError as exc:
            self.material, self.material_note = None, f"material: {exc}"
        self.envelope = {}
        self.peaks = {}
        from ..scattering import _engine
        self.order, self.labels, self.starts = _engine.species_layout(self.sym)
        self.pairs = _engine.species_pairs(self.labels)
        self.counts = {lab: int(self.starts[i + 1] - self.starts[i]) for i, lab in enumerate(self.labels)}
        self.sizes = np.diff(self.starts)
        self.intensity_coefficients = {}   # _Grid -> (pair coefficients, self terms) of _intensity


class _Grid:
    """A q grid of the Debye intensity: validated q, histogram spacing, form factors per element."""

    def __init__(self, q):
        from ..scattering import _engine
        from ..scattering.debye import validate_q
        self.q = validate_q(q)
        self.uniform = _engine.USE_RECURRENCE and _engine.uniform_q(self.q)
        self.dr = _engine.default_dr(self.q.max())
        self._f0 = {}

    def f0(self, el):
        """(f0, f0 x Debye-Waller(B = 0)) of element ``el`` on this grid, as debye_intensity_arrays has them."""
        if el not in self._f0:
            from ..scattering.formfactors import atomic_form_factor, debye_waller
            f0 = atomic_form_factor(el, self.q)
            self._f0[el] = (f0, f0 * debye_waller(0.0, self.q))
        return self._f0[el]


class _Context:
    """Per-spec state of a worker process (grids, compositions, peaks)."""

    def __init__(self, spec):
        self.spec_grid = _Grid(spec["q"])
        self.grids = {}
        self.compositions = {}
        self.base_shapes = {}   # base structure key -> (its shape, observables.core_hull of it)

    def grid(self, q):
        key = (len(q), np.asarray(q, np.float64).tobytes())
        if key not in self.grids:
            self.grids[key] = _Grid(q)
        return self.grids[key]

    def composition(self, spec, sym):
        key = tuple(sym)
        comp = self.compositions.get(key)
        if comp is None:
            if len(self.compositions) > 4096:
                self.compositions.clear()
            comp = self.compositions[key] = _Composition(spec, key)
        return comp


_CONTEXTS = {}


def _context(spec):
    key = id(spec["q"]), spec.get("_sha256"), len(spec["targets"])
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        _CONTEXTS.clear()  # one spec at a time per worker
        ctx = _CONTEXTS[key] = _Context(spec)
    return ctx


class _Sums:
    """Pending Debye pair sums of one candidate on one grid (filled by :func:`_pair_sums`)."""

    __slots__ = ("pairs", "counts", "sums", "hist")

    def __init__(self):
        self.sums = self.hist = None


class _Layout:
    """One candidate's atoms sorted by species, as the pair engine sorts them (computed once)."""

    __slots__ = ("labels", "starts", "pos", "pairs", "counts", "hists", "kernels")

    def __init__(self, pos, comp, kernels):
        # the species order of _engine.species_layout, computed once per composition
        self.labels, self.starts, self.pairs, self.counts = comp.labels, comp.starts, comp.pairs, comp.counts
        self.pos = np.ascontiguousarray(np.ascontiguousarray(pos, dtype=np.float64)[comp.order])
        self.hists = {}             # histogram spacing -> pair-distance histogram
        self.kernels = kernels


def _start_sums(grid, pos, sym, dmax, lay):
    """The route of ``_engine.pair_sinc_sums(pos, sym, grid.q, n_threads=1, dmax=dmax)`` for one candidate.

    Histogram-route transforms on non-uniform grids are left pending (``hist`` set) for
    :func:`_finish_sums`.  The candidate's :class:`_Layout` ``lay`` keeps its histograms by
    spacing, so the grids of one candidate that route through the histogram with the same
    spacing share one pair pass (the spec's grid and a SAXS target's usually do: dr =
    0.025 A up to q = 0.6 1/A); the histogram does not depend on the grid, and its transform
    is the one ``pair_sinc_sums`` applies.  Every other case is computed by
    ``pair_sinc_sums`` itself.
    """
    from ..scattering import _engine
    s = _Sums()
    n = len(pos)
    if 2 <= n < _engine.LATTICE_MIN_ATOMS:
        n_pairs = n * (n - 1) // 2
        dm = dmax if dmax is not None else _engine.max_distance(lay.pos)

        def histogram():
            if grid.dr not in lay.hists:
                lay.hists[grid.dr] = np.ascontiguousarray(
                    _engine.distance_histogram(lay.pos, lay.starts, grid.dr, dm, kernel_module=lay.kernels,
                                               n_threads=1), dtype=np.float64)
            return lay.hists[grid.dr]

        if _engine.auto_mode(n_pairs, dm / grid.dr + 5, len(grid.q), len(lay.pairs), grid.uniform,
                             histogram=histogram) == "histogram":
            s.pairs, s.counts = lay.pairs, lay.counts
            hist = histogram()
            if grid.uniform and _engine.by_recurrence(hist.shape[1], grid.q):
                s.sums = _engine._transform(lay.kernels, hist, grid.dr, grid.q, None, 1)
            else:   # the direct route: stacked with the batch's other histograms
                s.hist = hist
            return s
    ps = _engine.pair_sinc_sums(pos, sym, grid.q, n_threads=1, dmax=dmax)
    s.pairs, s.counts, s.sums = ps.pairs, ps.counts, ps.sums
    return s


def _finish_sums(grid, pending):
    """Transform the pending histograms of ``pending`` (list of _Sums) in one stacked call.

    The compiled kernel forms each row's sums independently of the other rows and of zeros
    appended to it, so the histograms are padded to the longest and transformed together
    (the sines are shared): every row comes out as it would alone.
    """
    from ..scattering import _engine
    k = _engine.kernels("auto")
    # the NumPy twin sums a stacked matrix in another order than one histogram alone (1 ulp
    # apart), so with it each histogram is transformed alone: records stay bit-identical
    stackable = k is not _engine._numpy_kernels
    groups = {}
    for s in pending:
        if s.sums is None:
            groups.setdefault(0 if stackable else id(s), []).append(s)
    nq = len(grid.q)
    for group in groups.values():
        m = max(s.hist.shape[1] for s in group)
        stack = np.zeros((sum(s.hist.shape[0] for s in group), m))
        at = 0
        for s in group:
            stack[at:at + s.hist.shape[0], :s.hist.shape[1]] = s.hist
            at += s.hist.shape[0]
        out = np.zeros((len(stack), nq))
        if m and nq:
            k.histogram_sinc(stack, float(grid.dr), grid.q, out, np.empty((1, m)), sig2=None, n_threads=1)
        at = 0
        for s in group:
            t = s.hist.shape[0]
            s.sums, s.hist = out[at:at + t], None
            at += t


def _intensity(grid, s, comp):
    """I(q) from pair sums, as :func:`clusterstruct.scattering.debye_intensity_arrays` forms it (B = 0).

    There each pair's term is 2.0 * fd_a * fd_b * S_t (left to right), plus n_a f0_a^2 for
    like pairs, and the terms are summed along the pair axis; the coefficients
    (2.0 * fd_a) * fd_b and the self terms are computed once per (grid, composition), so
    the same operations give the same bits.
    """
    co = comp.intensity_coefficients.get(grid)
    if co is None:
        coef = np.array([2.0 * grid.f0(ea)[1] * grid.f0(eb)[1] for ea, eb in s.pairs])
        like = [(t, s.counts[ea] * grid.f0(ea)[0] ** 2) for t, (ea, eb) in enumerate(s.pairs) if ea == eb]
        co = comp.intensity_coefficients[grid] = (coef, like)
    terms = co[0] * s.sums
    for t, self_term in co[1]:
        terms[t] = terms[t] + self_term
    return np.sum(terms, axis=0)


class _Candidate:
    __slots__ = ("index", "task", "rec", "atoms", "arrays", "comp", "dmax", "sums", "saxs", "lay", "key",
                 "origin")


def _arrays_of(spec, task):
    """(positions, symbols, ase.Atoms or None, origin) of a candidate; the Atoms only where
    arrays cannot do.  ``origin``: (base structure's key, largest displacement of an atom
    from it [A]) for the base structure and its rattled copies, else None."""
    blk = spec["blocks"][task["block"]]
    if task["alloy_fraction"] is not None or blk["ligands"] or work.has_pdf_target(spec):
        atoms = work.build(spec, task)
        return atoms.positions, atoms.get_chemical_symbols(), atoms, None
    key = tuple((k, task[k]) for k in work._BASE_KEYS if k in task)
    sym, base, _ = work._base(key)
    pos, eps = base, 0.0
    if task["copy"] > 0 and blk["rattle"]["sigma"] > 0:
        rng = np.random.default_rng([spec["seed"], task["id"]])
        pos = base + rng.normal(scale=blk["rattle"]["sigma"], size=base.shape)
        moved = pos - base
        eps = float(np.sqrt(np.max(np.einsum("ij,ij->i", moved, moved)))) + 1e-9
    return pos, sym, None, (key, eps)


def _shape(ctx, comp, arrays, origin):
    """:func:`clusterstruct.observables.guess_shape` of the candidate.

    A rattled copy whose base structure is a "sphere" by a margin larger than the copy's
    displacement can change (:func:`~clusterstruct.observables.sphere_within`) is one
    without its own hull; the base structure itself takes the base's answer.
    """
    from ..observables import core_hull, guess_shape, sphere_within
    if origin is None:
        return guess_shape(arrays)
    key, eps = origin
    info = ctx.base_shapes.get(key)
    if info is None:
        base_arrays = _Arrays(work._base(key)[1], comp.sym, comp.numbers)
        # no 3-D hull (flat, degenerate or tiny cores): every copy is decided on its own
        info = (guess_shape(base_arrays), core_hull(base_arrays))
        if len(ctx.base_shapes) > 4096:
            ctx.base_shapes.clear()
        ctx.base_shapes[key] = info
    if eps == 0.0:
        return info[0]
    if info[1] is not None and sphere_within(*info[1], eps):
        return "sphere"
    return guess_shape(arrays)


def _peak(ctx, spec, comp, arrays, atoms, origin):
    """(peak_nm, uncertainty_nm), or the error text, as score_terms gets them from predict_peak."""
    from ..errors import ClusterstructError
    from ..observables import predict_peak
    from ..optics.models import default_model
    model = spec.get("optics_model")
    # the effective-mass models take the shape; the empirical ones ("calibrated", "yu2003") do not
    empirical = (model or default_model(comp.material)) in ("calibrated", "yu2003")
    shape = None if empirical else _shape(ctx, comp, arrays, origin)
    if shape not in comp.peaks:
        from ase import Atoms
        src = atoms if atoms is not None else Atoms(symbols=comp.sym, positions=arrays.positions)
        try:
            est = predict_peak(src, model=model, shape="auto" if shape is None else shape, warn=False)
            comp.peaks[shape] = (float(est.peak_nm), float(est.uncertainty_nm))
        except ClusterstructError as exc:
            comp.peaks[shape] = str(exc)
    return comp.peaks[shape]


def _envelope(comp, k, t, arrays):
    if k not in comp.envelope:
        comp.envelope[k] = work._envelope_delta(arrays, t)
    return comp.envelope[k]


def evaluate_batch(spec, tasks):
    """Records of ``tasks`` (one per task, in order), equal to ``[work.evaluate(spec, t) for t in tasks]``."""
    from ..io import MIN_DISTANCE, check_arrays
    from ..scattering.sizes import max_dimension, radius_of_gyration
    from ..structures.composition import key_of_sorted_distances
    from ..scattering import _engine
    if spec.get("relax"):  # a relaxation per candidate costs seconds: the batch path saves nothing
        return [work.evaluate(spec, t) for t in tasks]
    ctx = _context(spec)
    kern = _engine.kernels("auto")
    pdf = work.has_pdf_target(spec)
    if pdf:
        from .spec import family_of
    out = [None] * len(tasks)
    cands = []
    for i, task in enumerate(tasks):
        c = _Candidate()
        c.index, c.task = i, task
        rec = c.rec = {"id": task["id"], "description": work.describe_task(task)}
        if pdf:
            rec["family"] = family_of(spec, task)
        try:
            pos, sym, c.atoms, c.origin = _arrays_of(spec, task)
            c.comp = ctx.composition(spec, sym)
            c.arrays = _Arrays(pos, c.comp.sym, c.comp.numbers)
            c.dmax = max_dimension(pos)
            c.lay = _Layout(pos, c.comp, kern)
            flat = _engine.layout_distances(c.lay.pos, c.lay.starts, sort=True, kernel_module=kern)
            # check_arrays' element checks ran once for the composition; its overlap test
            # needs the closest pair, which these distances hold: only a candidate with a
            # pair near or below the limit (or non-finite coordinates) goes through it
            if not (len(flat) and flat.min() > MIN_DISTANCE * (1 + 1e-9)) or not np.isfinite(pos).all():
                check_arrays(pos, c.comp.sym)
            c.key = key_of_sorted_distances(flat, c.comp.labels, c.comp.sizes)
            c.sums = _start_sums(ctx.spec_grid, pos, c.comp.sym, c.dmax, c.lay)
        except Exception:  # any failure: the per-candidate path records it with its reason
            out[i] = work.evaluate(spec, task)
            continue
        cands.append(c)
    _finish_sums(ctx.spec_grid, [c.sums for c in cands])
    # SAXS targets: the model on each target's q grid, for the candidates the target applies to
    todo = []
    for c in cands:
        c.saxs = {}
        mat = c.comp.material
        for k, t in enumerate(spec["targets"]):
            if t["kind"] == "saxs" and work.applies(t, mat):
                try:
                    grid = ctx.grid(work._target_data(t)[0])
                    c.saxs[k] = (grid, _start_sums(grid, c.arrays.positions, c.comp.sym, c.dmax, c.lay))
                except Exception:  # the per-candidate path below records the failure and its reason
                    c.saxs = None
                    break
        if c.saxs is not None:
            todo += [(g, s) for g, s in c.saxs.values()]
    for grid in {id(g): g for g, _ in todo}.values():
        _finish_sums(grid, [s for g, s in todo if g is grid])
    for c in cands:
        i, task, rec = c.index, c.task, c.rec
        if c.saxs is None:
            out[i] = work.evaluate(spec, task)
            continue
        try:
            comp, arrays, pos = c.comp, c.arrays, c.arrays.positions
            prof = _intensity(ctx.spec_grid, c.sums, comp)
            rec.update({
                "status": "ok", "error": "", "formula": comp.formula, "n_atoms": len(comp.sym),
                "mass_Da": comp.mass, "rg_number_A": radius_of_gyration(pos),
                "rg_electron_A": radius_of_gyration(pos, comp.weights), "dmax_A": c.dmax,
                "geometry_key": c.key, "profile": prof.astype(np.float32),
                "positions": pos.ravel().astype(np.float64), "numbers": comp.numbers.copy(),
            })
            pre = {"material": (comp.material, comp.material_note),
                   "saxs": {k: _intensity(g, s, comp) for k, (g, s) in c.saxs.items()},
                   "envelope": {k: _envelope(comp, k, t, arrays) for k, t in enumerate(spec["targets"])
                                if t["kind"] == "mass" and t.get("envelope") and work.applies(t, comp.material)}}
            if comp.material is not None:
                pre["peak"] = _peak(ctx, spec, comp, arrays, c.atoms, c.origin)
            rec.update(work.score_terms(spec, c.atoms if c.atoms is not None else arrays, rec, pre=pre))
        except Exception:  # re-run by the reference path, which records the failure with its reason
            out[i] = work.evaluate(spec, task)
            continue
        out[i] = rec
    return out
