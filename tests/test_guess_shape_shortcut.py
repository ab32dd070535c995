"""guess_shape's lower-bound shortcut gives the full-hull answer."""

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial import ConvexHull

from clusterstruct.observables import TETRAHEDRON_HULL_RATIO, TETRAHEDRON_MAX_KAPPA2, guess_shape
from clusterstruct.structures import carve_sphere, tetrahedron


def full_hull_answer(atoms):
    pos = atoms.positions
    lam = np.linalg.eigvalsh(np.cov(pos.T, bias=True))
    if 1 - 3 * (lam[0] * lam[1] + lam[1] * lam[2] + lam[2] * lam[0]) / lam.sum() ** 2 > TETRAHEDRON_MAX_KAPPA2:
        return "sphere"
    d = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1)).max()
    ratio = ConvexHull(pos).volume / (d ** 3 / (6 * np.sqrt(2)))
    return "tetrahedron" if ratio < TETRAHEDRON_HULL_RATIO else "sphere"


def _shapes():
    rng = np.random.default_rng(2)
    out = [carve_sphere("ZnSe", r, lattice="zincblende", centre="bond") for r in (6.0, 8.0, 11.0)]
    out += [tetrahedron("CdSe", n) for n in (4, 5, 6, 7)]
    t = tetrahedron("CdSe", 6)
    t.positions += rng.normal(scale=0.1, size=t.positions.shape)
    out.append(t)
    # a rod, a flat slab and a tetrahedron with one corner cut: between the two answers
    rod = carve_sphere("CdSe", 14.0, lattice="zincblende", centre="bond")
    keep = np.linalg.norm(rod.positions[:, :2] - rod.positions[:, :2].mean(0), axis=1) < 4.0
    out.append(rod[keep])
    slab = carve_sphere("CdSe", 14.0, lattice="zincblende", centre="bond")
    out.append(slab[np.abs(slab.positions[:, 2] - slab.positions[:, 2].mean()) < 2.5])
    cut = tetrahedron("CdSe", 7)
    far = np.argmax(np.linalg.norm(cut.positions - cut.positions.mean(0), axis=1))
    out.append(cut[np.linalg.norm(cut.positions - cut.positions[far], axis=1) > 9.0])
    return out


@pytest.mark.parametrize("k", range(11))
def test_shortcut_agrees_with_the_full_hull(k):
    atoms = _shapes()[k]
    assert isinstance(atoms, Atoms) and len(atoms) >= 4
    assert guess_shape(atoms) == full_hull_answer(atoms)


def test_both_answers_occur():
    answers = {guess_shape(a) for a in _shapes()}
    assert answers == {"sphere", "tetrahedron"}


def test_rods_and_slabs_are_not_tetrahedra():
    shapes = _shapes()
    rod, slab = shapes[8], shapes[9]
    assert guess_shape(rod) == "sphere" and guess_shape(slab) == "sphere"
    for t in shapes[3:8] + shapes[10:]:
        assert guess_shape(t) == "tetrahedron"


def test_sphere_within_bound_holds_for_moved_atoms():
    """sphere_within(V, S, Dmax, eps) True => every core moved by <= eps is a "sphere"."""
    from clusterstruct.observables import sphere_within
    rng = np.random.default_rng(5)
    cases = [carve_sphere("ZnSe", 7.0, lattice="zincblende", centre="bond"), tetrahedron("CdSe", 5)]
    said = []
    for atoms in cases:
        pos = atoms.positions
        hull = ConvexHull(pos)
        dmax = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1)).max()
        for eps in (0.01, 0.1, 0.5, 1.5):
            ok = sphere_within(hull.volume, hull.area, dmax, eps)
            said.append(ok)
            if not ok:
                continue
            for _ in range(20):  # displacements of length up to eps, some at eps exactly
                d = rng.normal(size=pos.shape)
                d *= eps * rng.uniform(0.5, 1.0, (len(pos), 1)) / np.linalg.norm(d, axis=1)[:, None]
                moved = atoms.copy()
                moved.positions = pos + d
                assert guess_shape(moved) == "sphere"
    # the sphere passes at small eps, the tetrahedron never (it is no sphere to begin with)
    assert said[:2] == [True, True] and not any(said[4:])


def test_screening_shape_of_rattled_copies_equals_guess_shape(tmp_path):
    """The screening worker's shape of every task (base structures and rattled copies, some
    moved far enough that the bound cannot decide) is guess_shape's."""
    from clusterstruct.screen import iter_tasks, load_spec
    from clusterstruct.screen.batch import _arrays_of, _Arrays, _context, _shape
    (tmp_path / "spec.toml").write_text(
        '[screen]\nseed = 3\n'
        '[[candidates]]\nkind = "sphere"\nmaterial = "CdSe"\nradius = [6.0, 8.0]\ncentre = "bond"\n'
        'rattle = {sigma = 0.05, copies = 6}\n'
        '[[candidates]]\nkind = "sphere"\nmaterial = "CdSe"\nradius = 6.0\ncentre = "bond"\n'
        'rattle = {sigma = 0.8, copies = 6}\n'
        '[[candidates]]\nkind = "tetrahedron"\nmaterial = "CdSe"\nn = [3, 4]\n'
        'rattle = {sigma = 0.05, copies = 4}\n'
        '[compute]\nsaxs = {q_min = 0.02, q_max = 0.6, n_q = 50}\n')
    spec = load_spec(tmp_path / "spec.toml")
    ctx = _context(spec)
    shapes = []
    for task in iter_tasks(spec):
        pos, sym, atoms, origin = _arrays_of(spec, task)
        comp = ctx.composition(spec, sym)
        arrays = _Arrays(pos, comp.sym, comp.numbers)
        assert origin is not None and atoms is None
        shapes.append(_shape(ctx, comp, arrays, origin))
        assert shapes[-1] == guess_shape(arrays), task
    assert "tetrahedron" in shapes and "sphere" in shapes
