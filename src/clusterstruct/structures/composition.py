"""Compact cores with an exact composition, enumerated, deduplicated and ranked.

For compositions with no published coordinates (Cd37S20, Zn32Se15/16, ...)
the honest output is a small, ranked family of candidates.  The search:

for every centre (metal, chalcogen, bond, hollow) and two growth orders,

* **chalcogen-first**: take the n_X chalcogen sites nearest the centre, then
  the n_M metal sites with the most bonds to them (ties: nearest first);
* **metal-first**: take the n_M metal sites nearest the centre, then the n_X
  chalcogen sites with the most bonds to them;

where a selection cuts through a shell of equidistant (or equally bonded)
sites, every way of completing it is enumerated (up to ``max_per_shell``
choices; beyond that a seeded sample), so symmetry-distinct choices all appear.
Candidates are deduplicated up to rotation and permutation
(:func:`geometry_key`: the sorted interatomic distances per element pair) and
ranked by

    score = f4 - 0.5 * dangling / N - 0.5 * (compactness - 1) + 0.02 * log2(|G|)

with f4 the fraction of chalcogens with four metal neighbours, ``dangling``
the number of missing metal-chalcogen bonds (4 per atom minus bonds),
compactness = Rg / Rg(ideal sphere of the same number of atoms at bulk density)
and |G| the order of the point group (a tie-breaker favouring symmetric
cores).  Every term is reported with the candidate.
"""

from dataclasses import dataclass, field
from itertools import combinations
import hashlib

import numpy as np

from ..errors import ClusterstructError
from .build import _atoms, bond_counts
from .lattices import CENTRES, MATERIALS, lattice_sites, normalise_lattice, normalise_material


@dataclass
class Candidate:
    atoms: object
    score: float
    terms: dict = field(default_factory=dict)


def geometry_key(atoms, decimals=3):
    """Hash of the composition and the sorted distances per element pair.

    Equal for copies that differ by rotation, translation, reflection or atom
    order; distances are rounded to ``decimals`` [A].  The distances come from
    one pass of the pair engine (:func:`clusterstruct.scattering._engine.layout_distances`),
    element pairs in alphabetical order.
    """
    from ..scattering._engine import layout_distances, species_layout
    order, labels, starts = species_layout(atoms.get_chemical_symbols())
    flat = layout_distances(np.ascontiguousarray(np.asarray(atoms.positions, dtype=np.float64)[order]),
                            starts, sort=True)
    return key_of_sorted_distances(flat, labels, np.diff(starts), decimals)


def key_of_sorted_distances(flat, labels, sizes, decimals=3):
    """The :func:`geometry_key` of distances from ``layout_distances(..., sort=True)``.

    ``labels`` and ``sizes`` are the species and their atom counts in layout order.  The
    distances are rounded in place (rounding after sorting keeps the order: it is monotonic).
    """
    h = hashlib.sha256()
    for el, n in zip(labels, sizes):
        h.update(f"{el}{int(n)};".encode())
    h.update(np.round(flat, decimals, out=flat))
    return h.hexdigest()


def _shell_choices(values, n, *, max_choices, rng, decimals=4, descending=False):
    """All ways of picking n indices with the best ``values`` when a tie spans the cut.

    Returns a list of index arrays (at most ``max_choices``; a seeded sample past that).
    """
    v = np.round(np.asarray(values, float), decimals)
    order = np.argsort(-v if descending else v, kind="stable")
    if n > len(v):
        return []
    if n == 0:
        return [np.zeros(0, int)]
    cut = v[order[n - 1]]
    sure = np.array([i for i in order[:n] if v[i] != cut], int)
    tie = np.array([i for i in order if v[i] == cut], int)
    need = n - len(sure)
    from math import comb
    if comb(len(tie), need) <= max_choices:
        picks = [np.array(c, int) for c in combinations(tie, need)]
    else:
        picks = [np.sort(rng.choice(tie, size=need, replace=False)) for _ in range(max_choices)]
    return [np.concatenate([sure, p]) for p in picks]


def _complete(pos, is_metal, first_idx, n_second, second_is_metal, bond_length, *,
              max_choices, rng):
    """Given chosen sites of one species, choose n_second of the other by bonds then distance."""
    from scipy.spatial import cKDTree
    other = np.flatnonzero(is_metal == second_is_metal)
    if n_second > len(other):
        return []
    tree = cKDTree(pos[first_idx]) if len(first_idx) else None
    bonds = (tree.query_ball_point(pos[other], bond_length * 1.15, return_length=True)
             if tree is not None else np.zeros(len(other), int))
    r = np.linalg.norm(pos[other], axis=1)
    # rank by bonds (desc), then distance (asc): one key
    key = -bonds * 1e4 + np.round(r, 4)
    return [np.concatenate([first_idx, other[c]]) for c in
            _shell_choices(key, n_second, max_choices=max_choices, rng=rng)]


def _point_group_order(atoms):
    from .descriptors import point_group
    sym = point_group(atoms)
    return sym["order"], sym["symbol"]


def carve_to_composition(material, n_metal, n_chalcogen, *, lattice="zincblende", centres=CENTRES,
                         max_per_shell=12, top=None, seed=0, a=None, c=None, u=None, symmetry=None,
                         progress=None):
    """Enumerate, deduplicate and rank compact cores of composition M_{n_metal} X_{n_chalcogen}.

    Parameters
    ----------
    material : str
        e.g. "CdS"; the metal and chalcogen follow from it.
    n_metal, n_chalcogen : int
        Target counts (>= 1).
    lattice : {"zincblende", "wurtzite"}
    centres : sequence of str
        Centres to grow from (default all four).
    max_per_shell : int
        At most this many ways to complete a partly filled shell per step.
    top : int, optional
        Return only the best ``top`` candidates.
    seed : int
        Seed for sampling completions when a shell has too many.
    symmetry : bool, optional
        Add the point-group bonus 0.02 log2|G| (``None``, the default, or
        ``True``).  ``False``: rank without it and record the point group as
        "unknown" with the reason in ``terms["symmetry_note"]``.
    progress : bool, optional
        Progress bars on stderr for the enumeration (one step per centre and growth
        order) and the point groups; None (default): when stderr is a terminal and
        ``CLUSTERSTRUCT_NO_PROGRESS`` is unset (:func:`clusterstruct._progress.progress`).
        Shown only for runs longer than a second.

    Returns
    -------
    list of Candidate
        Best first; each ``atoms.info`` holds the construction, rank and score terms.

    Raises
    ------
    ClusterstructError
        If no carving gives the composition (for example more chalcogen than a
        connected core can bond); the message lists the closest compositions seen.
    """
    material = normalise_material(material)
    lattice = normalise_lattice(lattice)
    for name, val in (("n_metal", n_metal), ("n_chalcogen", n_chalcogen)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ClusterstructError(f"{name} must be an integer >= 1, got {val!r}")
    if n_metal + n_chalcogen > 2000:
        raise ClusterstructError("carve_to_composition is meant for clusters up to 2000 atoms")
    metal, chalc = MATERIALS[material]
    rng = np.random.default_rng(seed)
    n_total = n_metal + n_chalcogen
    seen, out, near = set(), [], set()
    from .._progress import progress as progress_bar
    from .descriptors import describe_core
    target = f"{metal}{n_metal}{chalc}{n_chalcogen}"
    bar = progress_bar(total=2 * len(centres), desc=f"{target} cores", unit="step", enabled=progress, delay=1.0)
    for centre in centres:
        pos, is_metal, p = _sites_for(material, lattice, n_total, centre, a, c, u)
        r = np.linalg.norm(pos, axis=1)
        for first_metal, n_first, n_second in ((False, n_chalcogen, n_metal), (True, n_metal, n_chalcogen)):
            bar.set_postfix_str(f"centre {centre}, {len(out)} distinct", refresh=False)
            first_pool = np.flatnonzero(is_metal == first_metal)
            for pick in _shell_choices(r[first_pool], n_first, max_choices=max_per_shell, rng=rng):
                first_idx = first_pool[pick]
                for idx in _complete(pos, is_metal, first_idx, n_second, not first_metal,
                                     p.bond_length, max_choices=max_per_shell, rng=rng):
                    sub_pos, sub_metal = pos[idx], is_metal[idx]
                    bonds = bond_counts(sub_pos, sub_metal, p.bond_length)
                    if (bonds == 0).any():  # an atom with no bond is not part of a core
                        linked = bonds > 0
                        near.add((int((sub_metal & linked).sum()), int((~sub_metal & linked).sum())))
                        continue
                    symbols = [metal if m else chalc for m in sub_metal]
                    order = "chalcogen-first" if not first_metal else "metal-first"
                    atoms = _atoms(sub_pos, symbols, {
                        "construction": f"composition material={material} lattice={lattice} "
                                        f"target={metal}{n_metal}{chalc}{n_chalcogen} centre={centre} "
                                        f"growth={order} a={p.a:.4f}" + (f" c={p.c:.4f} u={p.u:.4f}" if p.c else ""),
                        "material": material, "lattice": lattice, "a_A": p.a})
                    key = geometry_key(atoms)
                    if key in seen:
                        continue
                    seen.add(key)
                    terms = describe_core(atoms, p.bond_length, lattice_a=p.a, lattice=lattice)
                    terms.update({"centre": centre, "growth": order})
                    base = (terms["f4_chalcogen"] - 0.5 * terms["dangling_bonds"] / n_total
                            - 0.5 * (terms["compactness"] - 1.0))
                    out.append(Candidate(atoms, float(base), terms))
            bar.update()
    bar.set_postfix_str(f"{len(out)} distinct", refresh=False)
    bar.close()
    if not out:
        closest = sorted(near, key=lambda mc: abs(mc[0] - n_metal) + abs(mc[1] - n_chalcogen))[:5]
        hint = (", closest connected: " + ", ".join(f"{metal}{m}{chalc}{x}" for m, x in closest)) if closest else ""
        raise ClusterstructError(f"no connected {material} {lattice} core with composition "
                                 f"{metal}{n_metal}{chalc}{n_chalcogen} was found{hint}")
    with progress_bar(total=len(out), desc=f"{target} point groups", unit="core", enabled=progress,
                      delay=1.0) as bar:
        out = _rank(out, top, symmetry, bar=bar)
    for rank, cand in enumerate(out, 1):
        cand.atoms.info["rank"] = rank
        cand.atoms.info["score"] = round(cand.score, 6)
        cand.atoms.info["point_group"] = cand.terms["point_group"]
        cand.atoms.info["f4_chalcogen"] = round(cand.terms["f4_chalcogen"], 4)
        cand.atoms.info["dangling_bonds"] = cand.terms["dangling_bonds"]
        cand.atoms.info["compactness"] = round(cand.terms["compactness"], 4)
    return out[:top] if top else out


#: Largest symmetry bonus: 0.02 log2(48), the order of Oh.
_MAX_BONUS = 0.02 * np.log2(48)


def _rank(cands, top, symmetry, bar=None):
    """Sort candidates best first, with the symmetry bonus unless ``symmetry`` is False."""
    if symmetry is None or symmetry:
        return _add_symmetry_bonus(cands, top, bar=bar)
    note = "ranked without the symmetry bonus (symmetry=False)"
    for cand in cands:
        cand.terms.update({"point_group": "unknown", "point_group_order": None,
                           "symmetry_note": note, "score": cand.score})
    cands.sort(key=lambda c: (-c.score, c.terms["centre"], c.terms["growth"]))
    return cands


def _add_symmetry_bonus(cands, top, bar=None):
    """Add 0.02 log2|G| to each score and sort, computing point groups only where needed.

    The point group is the slowest term (a few milliseconds per cluster),
    so candidates are visited in order of their score without the bonus and
    analysed until no later candidate could enter the best ``top`` even with
    the largest bonus.  Candidates left unanalysed are dropped (``top`` given).
    """
    cands.sort(key=lambda c: (-c.score, c.terms["centre"], c.terms["growth"]))
    done = []
    for cand in cands:
        if top and len(done) >= top:
            kth = sorted((c.score for c in done), reverse=True)[top - 1]
            if cand.score + _MAX_BONUS < kth:
                if bar is not None:  # the rest cannot enter the top: the bar ends here
                    bar.total = bar.n
                    bar.refresh()
                break
        order_g, symbol = _point_group_order(cand.atoms)
        cand.terms.update({"point_group": symbol, "point_group_order": order_g})
        cand.score = float(cand.score + 0.02 * np.log2(order_g))
        cand.terms["score"] = cand.score
        done.append(cand)
        if bar is not None:
            bar.update()
    done.sort(key=lambda c: (-c.score, c.terms["centre"], c.terms["growth"]))
    return done


def _sites_for(material, lattice, n_total, centre, a, c, u):
    # radius holding about 3x the atoms needed (bulk: 8 atoms per a^3 in zinc blende)
    from .lattices import lattice_parameters
    p = lattice_parameters(material, lattice, a=a, c=c, u=u)
    vol_per_atom = p.a ** 3 / 8 if lattice == "zincblende" else (np.sqrt(3) / 2 * p.a ** 2 * p.c) / 4
    radius = (3 * n_total * vol_per_atom * 3 / (4 * np.pi)) ** (1 / 3) + p.bond_length
    pos, is_metal, p = lattice_sites(material, lattice, radius=radius, centre=centre, a=a, c=c, u=u)
    return pos, is_metal, p
