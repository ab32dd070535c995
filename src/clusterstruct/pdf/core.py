"""X-ray pair distribution functions of finite clusters.

Debye route (the one compared with data)
----------------------------------------
Reduced structure function, with Waasmaier-Kirfel f_i(Q) and N<f>^2 = (sum f)^2/N:

    F(Q) = Q [S(Q) - 1] = Q / (N <f>^2) * sum_{i != j} f_i f_j exp(-Q^2 s_ij^2 / 2) sin(Q r_ij)/(Q r_ij)

    s_ij^2 = (U_i + U_j) max(0, 1 - delta1/r_ij - delta2/r_ij^2) + Qbroad^2 r_ij^2   [A^2]

and G(r) = (2/pi) int_{Qmin}^{Qmax} F(Q) sin(Q r) dQ * exp(-(Qdamp r)^2 / 2)  [A^-2],
evaluated as a sum on a uniform Q grid (default step pi / (2 (Dmax + 5 A)), at most
0.05 A^-1).  These are diffpy.srreal's DebyePDFCalculator conventions: our F(Q) equals its
output to 1e-8 and G(r) to < 1e-3 of max |G| on its Q grid (tests/pdf).  The pair sums
run through the cubic-Lagrange histogram of the SAXS engine (dr = 0.06/Qmax) and the
uniform-Q recurrence of its kernels.  With delta1 = delta2 = Qbroad = 0 each pair type's
damping exp(-Q^2 (U_a + U_b)/2) depends on Q alone and multiplies undamped sums that are
kept across calls with the same Q grid, zoom and psize; the sine transform of a uniform
r grid uses the same recurrence, then a kept matrix once the grids repeat.

Partial PDFs: the same expression restricted to one species pair (i in a, j in b and the
reverse); they sum to the total.

Real-space route (independent check)
------------------------------------
For Q-independent weights w_ij = f_i(0) f_j(0) / <f(0)>^2, Qmin = 0 and Qmax -> infinity,
each pair contributes a pair of Gaussians:

    G(r) = (1/N) sum_{i != j} w_ij / r_ij [N(r; r_ij, s_ij) - N(r; -r_ij, s_ij)],

computed from the pair histogram.  ``form_factors="constant"`` makes the Debye route use the
same weights, so the two can be compared.

Spherical envelope (nanoparticles)
----------------------------------
A nanoparticle larger than any cluster one would carve atom by atom is modelled as in
diffpy's "crystal x spherical characteristic function" approach, but on the Debye route:
the pairs of a large carved bulk sphere (the *source*, :func:`bulk_sphere`, volume-equivalent
diameter D_src) are reweighted by

    w(r) = gamma0(zoom r; D) / gamma0(r; D_src),
    gamma0(r; D) = 1 - 3 r / (2 D) + r^3 / (2 D^3)   (r <= D; 0 beyond)

the characteristic function of a sphere of diameter D (``psize``).  The per-atom pair density
of the source is rho0 4 pi r^2 g(r) gamma0(r; D_src), so the reweighted pairs are those of a
sphere of diameter D cut from the same crystal, on average over its surfaces; the small-angle
part and hence the -4 pi rho0 r gamma0(r; D) baseline below Qmin follow from the same pairs.
D_src must exceed D: fits bound ``psize`` by 0.8 D_src (gamma0(0.8 D_src; D_src) = 0.056); pairs
where gamma0(r; D_src) < 0.02 are dropped.

Radial distribution function R(r) (number-weighted): R(r) dr is the number of atoms at
distance r..r+dr from an average atom, R(r) = (1/N) sum_{i != j} N(r; r_ij, s_ij).  The
number-density convention (rho0 = N / V for an equal-volume sphere) is reported but not
subtracted: a finite cluster has no well-defined average density.
"""

from dataclasses import dataclass, field

import numpy as np

from .._version import __version__
from ..errors import ClusterstructError
from ..scattering import _engine
from ..scattering.formfactors import atomic_form_factor


@dataclass(frozen=True)
class PairDistribution:
    """G(r) [A^-2] on r [A], with settings in ``meta``; ``partials`` per species pair; F(Q) kept."""

    r: np.ndarray
    g: np.ndarray
    meta: dict = field(default_factory=dict)
    partials: dict | None = None
    q: np.ndarray | None = None
    fq: np.ndarray | None = None


def _uiso_per_element(uiso, elements):
    if uiso is None:
        return {el: 0.005 for el in elements}
    if np.isscalar(uiso):
        return {el: float(uiso) for el in elements}
    missing = set(uiso) - set(elements)
    if missing:
        raise ClusterstructError(f"uiso given for element(s) not in the structure: {', '.join(sorted(missing))}")
    out = {el: float(uiso.get(el, 0.005)) for el in elements}
    for el, u in out.items():
        if not np.isfinite(u) or u < 0:
            raise ClusterstructError(f"uiso[{el}] must be >= 0 A^2, got {u}")
    return out


def check_window(qmin, qmax):
    if not (np.isfinite(qmin) and np.isfinite(qmax)) or qmin < 0 or qmax <= 0:
        raise ClusterstructError(f"Q window must be finite with 0 <= Qmin < Qmax, got {qmin}, {qmax}")
    if qmax <= qmin:
        raise ClusterstructError(f"Qmax ({qmax}) must exceed Qmin ({qmin})")
    if qmax > 75:
        raise ClusterstructError(f"Qmax {qmax} 1/A is beyond the form-factor table (75 1/A)")


#: Histogram spacing of the PDF engine: dr = PDF_DR_QMAX / Qmax [A].  The cubic-Lagrange
#: error per pair is <= 0.0047 (Qmax dr)^4 = 6e-8; F(Q) still matches diffpy.srreal to
#: 5e-8 of max |F| (tests/pdf).
PDF_DR_QMAX = 0.06


def sphere_characteristic(r, diameter):
    """gamma0(r; D) of a sphere of diameter D [A]: 1 - 3r/2D + r^3/2D^3 for 0 <= r <= D, else 0."""
    x = np.abs(np.asarray(r, float)) / float(diameter)
    return np.where(x <= 1.0, 1.0 - 1.5 * x + 0.5 * x ** 3, 0.0)


def number_density(material, lattice="wurtzite", **params):
    """Bulk number density rho0 [atoms/A^3] of a zinc-blende or wurtzite binary."""
    from ..structures.lattices import lattice_parameters
    p = lattice_parameters(material, lattice, **params)
    if p.lattice == "zincblende":
        return 8.0 / p.a ** 3
    return 4.0 / (np.sqrt(3.0) / 2.0 * p.a ** 2 * p.c)


def bulk_sphere(material="CdSe", diameter=80.0, *, lattice="wurtzite", stacking=None, seed=0, centre="metal"):
    """A bulk sphere to reweight by a spherical envelope (``psize``), all sites kept.

    The volume-equivalent diameter D_src = (6 N / (pi rho0))^(1/3) is stored in
    ``atoms.info["envelope_source_diameter_A"]``; :class:`DebyePDF` reads it.
    ``stacking`` as in :func:`clusterstruct.structures.carve` (faulted stackings use the
    wurtzite density).
    """
    from ..structures import carve_sphere
    atoms = carve_sphere(material, diameter / 2.0, lattice=lattice, centre=centre, min_bonds=0,
                         stacking=stacking, seed=seed)
    rho0 = number_density(material, "wurtzite" if stacking is not None else lattice)
    atoms.info["number_density_A3"] = rho0
    atoms.info["envelope_source_diameter_A"] = float((6.0 * len(atoms) / (np.pi * rho0)) ** (1.0 / 3.0))
    return atoms


class DebyePDF:
    """Reusable Debye-route PDF engine for one structure: the pair histogram is built once.

    Parameters
    ----------
    atoms : ase.Atoms
    qmax : float
        Largest Q that will be asked for [1/A] (sets the histogram spacing 0.06/qmax).
    source_diameter : float, optional
        Volume-equivalent diameter [A] of ``atoms`` as an envelope source (default:
        ``atoms.info["envelope_source_diameter_A"]``, set by :func:`bulk_sphere`); needed
        for ``psize``.
    dr_qmax : float
        Histogram spacing x Qmax (default 0.06: per-pair error 6e-8; 0.2 gives 8e-6 with
        3.3 times fewer nodes, ample for fits to data).
    """

    def __init__(self, atoms, qmax, *, backend="auto", n_threads=None, form_factors="waasmaier-kirfel",
                 source_diameter=None, dr_qmax=PDF_DR_QMAX):
        if form_factors not in ("waasmaier-kirfel", "constant"):
            raise ClusterstructError("form_factors must be 'waasmaier-kirfel' or 'constant'")
        self.symbols = atoms.get_chemical_symbols()
        if len(self.symbols) < 2:
            raise ClusterstructError(f"a PDF needs at least 2 atoms (pairs); the structure has {len(self.symbols)}")
        check_window(0.0, qmax)
        from ..io import check_arrays
        check_arrays(atoms.positions, self.symbols, source="structure", allow_overlap=True, min_distance=0)
        self.backend, self.n_threads = backend, n_threads
        self.form_factors = form_factors
        self.dmax = _engine.max_distance(atoms.positions, backend=backend)
        self.ph = _engine.pair_histogram(atoms.positions, self.symbols, dr=float(dr_qmax) / float(qmax),
                                         backend=backend, n_threads=n_threads, dmax=self.dmax)
        self.n = len(self.symbols)
        self.elements = list(self.ph.counts)
        self.r_nodes = (np.arange(self.ph.hist.shape[1]) - 1) * self.ph.dr
        self._positions = np.array(atoms.positions, dtype=float)
        self.nearest = None  # computed on first use (a neighbour pass)
        sd = source_diameter if source_diameter is not None else atoms.info.get("envelope_source_diameter_A")
        self.source_diameter = float(sd) if sd is not None else None

    @property
    def nearest(self):
        """Smallest interatomic distance [A]; one neighbour pass, on first use."""
        if self._nearest is None:
            self._nearest = _engine.nearest_distance(self._positions, backend=self.backend)
        return self._nearest

    @nearest.setter
    def nearest(self, value):
        self._nearest = value

    @classmethod
    def averaged(cls, structures, qmax, **kwargs):
        """One engine for the average of several structures of the same elements (e.g. random
        stacking-fault realisations): per-atom pair histograms are averaged, so F(Q) and G(r) are
        the means of theirs.  The source diameter is the mean of theirs."""
        import dataclasses
        engines = [cls(s, qmax, **kwargs) for s in structures]
        if not engines:
            raise ClusterstructError("averaged() needs at least one structure")
        first = engines[0]
        if any(e.ph.pairs != first.ph.pairs for e in engines):
            raise ClusterstructError("averaged structures must contain the same elements")
        width = max(e.ph.hist.shape[1] for e in engines)
        per_atom = np.zeros((first.ph.hist.shape[0], width))
        for e in engines:
            per_atom[:, :e.ph.hist.shape[1]] += e.ph.hist / e.n
        n = float(np.mean([e.n for e in engines]))
        counts = {el: float(np.mean([e.ph.counts[el] for e in engines])) for el in first.elements}
        first.ph = dataclasses.replace(first.ph, hist=per_atom * n / len(engines), counts=counts)
        first.n = n
        first.r_nodes = (np.arange(width) - 1) * first.ph.dr
        first.dmax = max(e.dmax for e in engines)
        first.nearest = min(e.nearest for e in engines)
        diam = [e.source_diameter for e in engines]
        first.source_diameter = None if None in diam else float(np.mean(diam))
        return first

    def _envelope(self, psize, zoom):
        """(number of nodes kept, weights) of the spherical envelope of diameter ``psize``."""
        if self.source_diameter is None:
            raise ClusterstructError("psize needs an envelope source: build the structure with "
                                     "clusterstruct.pdf.bulk_sphere or pass source_diameter=")
        if not (np.isfinite(psize) and 0 < psize <= self.source_diameter * zoom):
            raise ClusterstructError(f"psize {psize} A must lie in (0, source diameter "
                                     f"{self.source_diameter * zoom:.1f} A] (best below 0.8 of it)")
        m = int(np.searchsorted(self.r_nodes, psize / zoom, side="right")) + 1
        m = min(m, self.ph.hist.shape[1])
        r = self.r_nodes[:m]
        g_src = sphere_characteristic(r, self.source_diameter)
        # the source's own pairs thin out towards D_src: drop what is too sparse to reweight
        w = np.where(g_src >= 0.02, sphere_characteristic(r * zoom, psize) / np.maximum(g_src, 0.02), 0.0)
        return m, w

    def _f(self, q):
        if self.form_factors == "constant":
            return {el: np.full_like(q, atomic_form_factor(el, 0.0)) for el in self.elements}
        return {el: atomic_form_factor(el, q) for el in self.elements}

    def _sig2(self, uiso, delta1, delta2, qbroad, zoom):
        r = np.maximum(np.abs(self.r_nodes * zoom), 1e-6)
        out = np.empty_like(self.ph.hist)
        for t, (a, b) in enumerate(self.ph.pairs):
            u = uiso[a] + uiso[b]
            out[t] = u * np.clip(1 - delta1 / r - delta2 / r ** 2, 0, None) + (qbroad * r) ** 2
        return out

    def fq(self, q, *, uiso=None, delta1=0.0, delta2=0.0, qbroad=0.0, zoom=1.0, psize=None, partials=False):
        """F(Q) [1/A] on ``q`` (and per-pair partials that sum to it); ``psize`` [A] applies a
        spherical envelope of that diameter (see the module docstring)."""
        q = np.asarray(q, float)
        u = _uiso_per_element(uiso, self.elements)
        sig2 = self._sig2(u, delta1, delta2, qbroad, zoom)
        sums = self._pair_sums(q, sig2, zoom, psize)
        f, norm = self._weights(q)
        parts = {}
        for t, (a, b) in enumerate(self.ph.pairs):
            parts[f"{a}-{b}"] = q * 2.0 * f[a] * f[b] * sums[t] / norm
        total = np.sum(list(parts.values()), axis=0)
        return (total, parts) if partials else total

    def _pair_sums(self, q, sig2, zoom, psize):
        """sum_m h[t, m] sinc(Q zoom r_m) exp(-Q^2 sig2[t, m] / 2) per species pair t.

        When each pair's sig2 is one number (delta1 = delta2 = Qbroad = 0: Uiso only) the
        damping exp(-Q^2 (U_a + U_b) / 2) is a function of Q alone and multiplies the
        undamped sums, which are kept for the last (Q grid, zoom, psize): a fit varying
        only Uiso, scale or Qdamp transforms the histogram once.
        """
        hist = None
        if psize is not None:
            m, w = self._envelope(float(psize), zoom)
            hist, sig2 = self.ph.hist[:, :m] * w[None, :], sig2[:, :m]
        if sig2.shape[1] == 0 or not np.all(sig2 == sig2[:, :1]):
            return _engine.histogram_sums(self.ph, q, sig2=sig2, zoom=zoom, hist=hist,
                                          backend=self.backend, n_threads=self.n_threads)
        key = (float(zoom), None if psize is None else float(psize), q.shape, q.tobytes())
        cached = getattr(self, "_undamped", None)
        if cached is None or cached[0] != key or cached[1] is not self.ph.hist:
            sums = _engine.histogram_sums(self.ph, q, zoom=zoom, hist=hist, backend=self.backend,
                                          n_threads=self.n_threads)
            self._undamped = cached = (key, self.ph.hist, sums)
        return cached[2] * np.exp(-0.5 * sig2[:, :1] * q[None, :] ** 2)

    def _weights(self, q):
        """Form factors f_el(Q) and the normalisation N <f>^2 on ``q``; the last grid's are kept."""
        key = (q.shape, q.tobytes(), self.form_factors, tuple(self.elements))
        cached = getattr(self, "_fq_weights", None)
        if cached is None or cached[0] != key or cached[1] is not self.ph.counts:
            f = self._f(q)
            norm = sum(self.ph.counts[el] * f[el] for el in self.elements) ** 2 / self.n
            self._fq_weights = cached = (key, self.ph.counts, f, norm)
        return cached[2], cached[3]

    def _sine_transform(self, rows, r, q, qstep, qdamp):
        """(2/pi) dQ sum_k rows[i, k] sin(Q_k r) exp(-(Qdamp r)^2/2) for each row, on ``r``.

        The first call for a (r, Q, Qdamp) uses the compiled recurrence when r is uniform
        (O(nr nQ) multiply-adds, no sines); a second call with the same grids builds and
        keeps the matrix of :meth:`_transform` (a fit's later calls are one product).
        """
        key = (r.shape, hash(r.tobytes()), q.shape, float(q[0]) if len(q) else 0.0, qstep, float(qdamp))
        k = _engine.kernels(self.backend)
        if (getattr(self, "_tkey", None) != key and getattr(self, "_tseen", None) != key
                and k is not _engine._numpy_kernels and len(q) and _engine.uniform_q(r, allow_zero=True)):
            self._tseen = key
            rows = np.ascontiguousarray(rows, dtype=float)
            out = np.zeros((rows.shape[0], len(r)))
            k.sin_sums_uniform(rows, np.ascontiguousarray(q, dtype=float), np.ascontiguousarray(r),
                               out, None, _engine._threads_for(out.size * len(q), self._threads()))
            return out * ((2.0 / np.pi) * qstep * np.exp(-(qdamp * r) ** 2 / 2))[None, :]
        return rows @ self._transform(r, q, qstep, qdamp).T

    def _threads(self):
        from .._threads import resolve_threads
        return resolve_threads(self.n_threads)

    def _transform(self, r, q, qstep, qdamp):
        """Sine-transform matrix (2/pi) dQ sin(Q r) exp(-(Qdamp r)^2/2); the last one is kept (fits reuse it)."""
        key = (r.shape, hash(r.tobytes()), q.shape, float(q[0]) if len(q) else 0.0, qstep, float(qdamp))
        if getattr(self, "_tkey", None) != key:
            self._tmat = (2.0 / np.pi) * qstep * np.sin(np.outer(r, q)) * np.exp(-(qdamp * r) ** 2 / 2)[:, None]
            self._tkey = key
        return self._tmat

    def default_qstep(self, psize=None):
        """pi / (2 (D + 5 A)), at most 0.05 1/A; D = Dmax, or the largest psize to be used."""
        d = self.dmax if psize is None else min(self.dmax, float(psize))
        return min(0.05, np.pi / (2.0 * (d + 5.0)))

    def gr(self, r, *, qmin=1.0, qmax=20.0, qdamp=0.0, qstep=None, uiso=None, delta1=0.0,
           delta2=0.0, qbroad=0.0, zoom=1.0, psize=None, partials=False):
        """G(r) [A^-2] on ``r`` [A] through the sine transform of F(Q) over [qmin, qmax]."""
        check_window(qmin, qmax)
        r = np.asarray(r, float)
        qstep = float(qstep or self.default_qstep(psize))
        q = np.arange(0.0, qmax + 1e-9, qstep)
        q = q[(q >= qmin) & (q <= qmax + 1e-12) & (q > 0)]
        fq, parts = self.fq(q, uiso=uiso, delta1=delta1, delta2=delta2, qbroad=qbroad, zoom=zoom,
                            psize=psize, partials=True)
        names = list(parts) if partials else []
        rows = np.vstack([fq] + [parts[n] for n in names])
        grows = self._sine_transform(rows, r, q, qstep, qdamp)
        g = grows[0]
        gp = {n: grows[i + 1] for i, n in enumerate(names)} if partials else None
        meta = {"route": "debye", "qmin": qmin, "qmax": qmax, "qdamp": qdamp, "qbroad": qbroad,
                "qstep": qstep, "uiso_A2": _uiso_per_element(uiso, self.elements), "delta1": delta1,
                "delta2": delta2, "zoom": zoom, "psize_A": psize, "form_factors": self.form_factors,
                "dr_hist_A": self.ph.dr,
                "backend": self.ph.backend, "version": __version__,
                "units": {"r": "A", "G": "A^-2", "Q": "1/A", "F": "1/A"}}
        return PairDistribution(r=r, g=g, meta=meta, partials=gp, q=q, fq=fq)


def compute_pdf(atoms, r=None, *, qmin=1.0, qmax=20.0, qdamp=0.0, qbroad=0.0, delta1=0.0, delta2=0.0,
                uiso=None, qstep=None, partials=False, form_factors="waasmaier-kirfel", backend="auto"):
    """X-ray G(r) of a cluster by the Debye route (see module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
    r : array_like, optional
        r grid [A]; default 0.01..Dmax+5 A in 0.01 A steps.
    qmin, qmax : float
        Q window of the transform [1/A] (use the data's reduction window).
    qdamp, qbroad : float
        Instrument damping and Q broadening [1/A].
    delta1, delta2 : float
        Correlated-motion sharpening [A] and [A^2].
    uiso : float or dict
        Isotropic displacement [A^2], one value or per element (default 0.005).
    qstep : float, optional
        Q step of the transform [1/A].
    partials : bool
        Also per-species-pair partial G(r) (they sum to G).

    Returns
    -------
    PairDistribution

    See Also
    --------
    clusterstruct.units.uiso_from_b : Uiso = B / (8 pi^2), for ``uiso`` from a SAXS B.
    clusterstruct.io.as_atoms : ``atoms`` may also be a file path or a pymatgen Molecule.
    """
    from ..io import as_atoms
    atoms = as_atoms(atoms)
    eng = DebyePDF(atoms, qmax, backend=backend, form_factors=form_factors)
    if r is None:
        r = np.arange(0.01, eng.dmax + 5.0, 0.01)
    return eng.gr(r, qmin=qmin, qmax=qmax, qdamp=qdamp, qstep=qstep, uiso=uiso, delta1=delta1,
                  delta2=delta2, qbroad=qbroad, partials=partials)


def _gaussian_sum(r, centres, weights, sig2, mirror):
    """sum_k w_k N(r; c_k, s_k) (- N(r; -c_k, s_k) if mirror), windowed to 6 sigma."""
    out = np.zeros_like(r)
    s = np.sqrt(np.maximum(sig2, 1e-12))
    keep = weights != 0
    for c, w, si in zip(centres[keep], weights[keep], s[keep]):
        lo = np.searchsorted(r, c - 6 * si)
        hi = np.searchsorted(r, c + 6 * si)
        if hi > lo:
            x = r[lo:hi]
            out[lo:hi] += w * np.exp(-(x - c) ** 2 / (2 * si * si)) / (si * np.sqrt(2 * np.pi))
        if mirror and c - 6 * si < 0:
            lo2 = np.searchsorted(r, -c - 6 * si)
            hi2 = np.searchsorted(r, -c + 6 * si)
            if hi2 > lo2:
                x = r[lo2:hi2]
                out[lo2:hi2] -= w * np.exp(-(x + c) ** 2 / (2 * si * si)) / (si * np.sqrt(2 * np.pi))
    return out


def realspace_pdf(atoms, r, *, uiso=None, delta1=0.0, delta2=0.0, qbroad=0.0):
    """G(r) from Gaussian-broadened pair histograms with weights f(0) (the Qmax -> infinity limit)."""
    eng = DebyePDF(atoms, 20.0, form_factors="constant")
    u = _uiso_per_element(uiso, eng.elements)
    sig2 = eng._sig2(u, delta1, delta2, qbroad, 1.0)
    f0 = {el: atomic_form_factor(el, 0.0) for el in eng.elements}
    norm = sum(eng.ph.counts[el] * f0[el] for el in eng.elements) ** 2 / eng.n
    r = np.asarray(r, float)
    g = np.zeros_like(r)
    nodes = eng.r_nodes
    safe = np.where(np.abs(nodes) > 1e-9, nodes, np.inf)
    for t, (a, b) in enumerate(eng.ph.pairs):
        w = 2.0 * f0[a] * f0[b] / norm * eng.ph.hist[t] / safe
        g += _gaussian_sum(r, nodes, w, sig2[t], mirror=True)
    return PairDistribution(r=r, g=g, meta={"route": "real-space", "weights": "f(0)", "uiso_A2": u,
                                            "delta2": delta2, "version": __version__})


def radial_distribution(atoms, r, *, sigma=0.05):
    """Number-weighted R(r) [atoms per A per atom]: Gaussians of width ``sigma`` [A] at each distance."""
    eng = DebyePDF(atoms, 20.0, form_factors="constant")
    r = np.asarray(r, float)
    out = np.zeros_like(r)
    for t, _ in enumerate(eng.ph.pairs):
        out += _gaussian_sum(r, eng.r_nodes, 2.0 * eng.ph.hist[t] / eng.n,
                             np.full(len(eng.r_nodes), sigma ** 2), mirror=False)
    return out


def coordination_numbers(atoms, cutoff, *, backend="auto"):
    """Mean number of neighbours of each element b around element a within ``cutoff`` [A].

    Returns {"Cd-Se": CN, ...} (ordered pairs: the first element is the centre) and per-atom
    counts in ``per_atom`` (array of total neighbours).  A pair counts when r_ij <= cutoff;
    one neighbour pass of the pair engine.
    """
    sym = np.array(atoms.get_chemical_symbols())
    nb = _engine.neighbours(atoms.positions, float(cutoff), sym, pairs=False, backend=backend)
    out = {}
    for a in nb.labels:
        sel = sym == a
        for col, b in enumerate(nb.labels):
            out[f"{a}-{b}"] = float(nb.counts[sel, col].sum()) / int(sel.sum())
    return {"cutoff_A": float(cutoff), "mean": out, "per_atom": nb.per_atom}
