"""Bulk zinc-blende and wurtzite lattices of II-VI semiconductors.

Lattice constants come from ``clusterstruct/data/lattice_constants.csv``
(sources per row; wurtzite rows marked "derived" are ideal wurtzite built from
the zinc-blende constant, a = a_zb/sqrt(2), c = sqrt(8/3) a, u = 3/8, which
keeps the bond length).  Every function takes ``a``/``c``/``u`` overrides.

Centres
-------
A carved cluster is centred on one of these points of the lattice (each is a
high-symmetry point, so carving a symmetric shape about it keeps the symmetry):

=========== ============================================ ==================
centre      zinc blende (cubic a)                        wurtzite (a, c, u)
=========== ============================================ ==================
metal       metal atom (0, 0, 0)                          metal atom
chalcogen   chalcogen atom (a/4)(1, 1, 1)                 chalcogen atom
bond        bond midpoint (a/8)(1, 1, 1)                  midpoint of the c-axis bond
hollow      empty tetrahedral site (a/2)(1, 1, 1)         hexagonal channel axis at z = u c / 2
=========== ============================================ ==================
"""

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import ClusterstructError

#: Metal and chalcogen of each binary the toolkit knows.
MATERIALS = {
    "ZnS": ("Zn", "S"),
    "ZnSe": ("Zn", "Se"),
    "CdS": ("Cd", "S"),
    "CdSe": ("Cd", "Se"),
    "CdTe": ("Cd", "Te"),
}
LATTICES = ("zincblende", "wurtzite")
CENTRES = ("metal", "chalcogen", "bond", "hollow")
METALS = {"Zn", "Cd"}
CHALCOGENS = {"S", "Se", "Te"}

_ALIASES = {"zinc blende": "zincblende", "zinc-blende": "zincblende", "zb": "zincblende",
            "sphalerite": "zincblende", "wz": "wurtzite", "hexagonal": "wurtzite"}


@dataclass(frozen=True)
class LatticeParameters:
    material: str
    lattice: str
    a: float            # [A]
    c: float | None     # [A], wurtzite only
    u: float | None     # internal parameter, wurtzite only
    source: str

    @property
    def bond_length(self):
        """Nearest metal-chalcogen distance [A]."""
        if self.lattice == "zincblende":
            return self.a * np.sqrt(3.0) / 4.0
        return self.u * self.c


@lru_cache(maxsize=1)
def _table():
    rows = {}
    text = resources.files("clusterstruct").joinpath("data/lattice_constants.csv").read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    for row in csv.DictReader(lines):
        rows[(row["material"], row["lattice"])] = row
    return rows


def normalise_material(material):
    """Return the canonical spelling of a binary material ("cdse" -> "CdSe")."""
    for name in MATERIALS:
        if str(material).lower() == name.lower():
            return name
    raise ClusterstructError(f"unknown material {material!r}; known: {', '.join(MATERIALS)}")


def normalise_lattice(lattice):
    lat = _ALIASES.get(str(lattice).lower(), str(lattice).lower())
    if lat not in LATTICES:
        raise ClusterstructError(f"unknown lattice {lattice!r}; choose zincblende or wurtzite")
    return lat


def lattice_parameters(material, lattice="zincblende", *, a=None, c=None, u=None):
    """Lattice constants [A] of ``material`` in ``lattice``, from the cited table or overrides."""
    material = normalise_material(material)
    lattice = normalise_lattice(lattice)
    row = _table().get((material, lattice))
    if row is None and a is None:
        raise ClusterstructError(f"no lattice constant tabulated for {material} {lattice}; pass a=")
    src = row["source"] if row else "user"
    a_val = float(a) if a is not None else float(row["a_A"])
    if a is not None:
        src = "user override"
    if lattice == "zincblende":
        return LatticeParameters(material, lattice, a_val, None, None, src)
    c_val = float(c) if c is not None else (float(row["c_A"]) if row and row["c_A"] and a is None
                                            else a_val * np.sqrt(8.0 / 3.0))
    u_val = float(u) if u is not None else (float(row["u"]) if row and row["u"] else 0.375)
    return LatticeParameters(material, lattice, a_val, c_val, u_val, src)


def _cell_and_basis(p):
    """Conventional cell vectors (3x3, rows) and basis [(fractional, is_metal)]."""
    if p.lattice == "zincblende":
        cell = np.eye(3) * p.a
        fcc = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0)]
        basis = [(np.array(f), True) for f in fcc]
        basis += [(np.array(f) + 0.25, False) for f in fcc]
        return cell, basis
    cell = np.array([[p.a, 0, 0], [-p.a / 2, p.a * np.sqrt(3) / 2, 0], [0, 0, p.c]])
    m = [np.array([1 / 3, 2 / 3, 0.0]), np.array([2 / 3, 1 / 3, 0.5])]
    basis = [(f, True) for f in m] + [(f + np.array([0, 0, p.u]), False) for f in m]
    return cell, basis


def centre_offset(p, centre):
    """Cartesian position [A] of the named centre in the lattice's own frame."""
    if centre not in CENTRES:
        raise ClusterstructError(f"unknown centre {centre!r}; choose one of {', '.join(CENTRES)}")
    if p.lattice == "zincblende":
        return {"metal": np.zeros(3), "chalcogen": np.full(3, p.a / 4),
                "bond": np.full(3, p.a / 8), "hollow": np.full(3, p.a / 2)}[centre]
    cell, _ = _cell_and_basis(p)
    metal = np.array([1 / 3, 2 / 3, 0.0]) @ cell
    return {"metal": metal, "chalcogen": metal + [0, 0, p.u * p.c],
            "bond": metal + [0, 0, p.u * p.c / 2], "hollow": np.array([0, 0, p.u * p.c / 2])}[centre]


def lattice_sites(material, lattice="zincblende", *, radius, centre="metal", a=None, c=None, u=None):
    """All sites of the bulk lattice within ``radius`` [A] of the chosen centre.

    Returns
    -------
    positions : (n, 3) ndarray
        Relative to the centre [A], in the lattice's conventional Cartesian frame
        (zinc blende: cube axes; wurtzite: c along z).
    is_metal : (n,) bool ndarray
    params : LatticeParameters
    """
    p = lattice_parameters(material, lattice, a=a, c=c, u=u)
    cell, basis = _cell_and_basis(p)
    origin = centre_offset(p, centre)
    # enough cells in every direction to cover the sphere
    recip = np.linalg.inv(cell).T
    reach = [int(np.ceil(radius * np.linalg.norm(recip[k]))) + 2 for k in range(3)]
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"),
                    -1).reshape(-1, 3).astype(float)
    pos, metal = [], []
    for frac, is_metal in basis:
        xyz = (grid + frac) @ cell - origin
        keep = np.einsum("ij,ij->i", xyz, xyz) <= radius * radius + 1e-9
        pos.append(xyz[keep])
        metal.append(np.full(int(keep.sum()), is_metal))
    return np.concatenate(pos), np.concatenate(metal), p


# ----------------------------------------------------------------------------- stacking faults
# Both structures are stackings of close-packed metal-chalcogen double layers along the
# wurtzite c axis ([111] of zinc blende): each layer sits on one of three lateral positions
# A, B, C; zinc blende repeats ABC, wurtzite AB.  In Jagodzinski's notation a layer whose two
# neighbours sit on the same position is "h" (hexagonal), otherwise "c" (cubic); wurtzite is
# all-h, zinc blende all-c, and a random fraction of c layers models the stacking faults
# reported for CdSe nanoparticles.

_LAYER_LETTERS = "ABC"


def stacking_sequence(n_below, n_above, *, cubic_fraction=None, letters=None, seed=0):
    """Lateral positions (0, 1, 2 for A, B, C) of layers -n_below .. n_above, layer 0 on A.

    Either ``cubic_fraction`` (each layer independently "c" with that probability, drawn
    with numpy's default_rng(seed); 0 = wurtzite, 1 = zinc blende) or ``letters`` (a
    string of A/B/C, repeated; its first letter is layer 0, and the string as a whole
    is shifted so that layer 0 sits on A).

    Returns (positions, kinds): int array of length n_below + n_above + 1, and the
    h/c string of the layers (the outermost two, which lack a neighbour, are marked ".").
    """
    n = n_below + n_above + 1
    if letters is not None:
        seq = str(letters).upper()
        if not seq or any(ch not in _LAYER_LETTERS for ch in seq):
            raise ClusterstructError(f"stacking letters must be A, B or C, got {letters!r}")
        if any(a == b for a, b in zip(seq, seq[1:] + seq[0])):
            raise ClusterstructError(f"stacking {letters!r} puts two adjacent layers on the same position")
        base = np.array([_LAYER_LETTERS.index(ch) for ch in seq])
        idx = np.arange(-n_below, n_above + 1)
        pos = (base[idx % len(base)] - base[0]) % 3
    else:
        if cubic_fraction is None or not 0.0 <= float(cubic_fraction) <= 1.0:
            raise ClusterstructError(f"cubic_fraction must lie in [0, 1], got {cubic_fraction!r}")
        cubic = np.random.default_rng(seed).random(n) < float(cubic_fraction)
        pos = np.zeros(n, int)
        if n > 1:
            pos[1] = 1
        for k in range(1, n - 1):               # layer k's kind decides layer k + 1
            pos[k + 1] = 3 - pos[k] - pos[k - 1] if cubic[k] else pos[k - 1]
        if n > 1:  # relabel (a bijection of A/B/C keeps every kind): layer 0 on A, its upper neighbour on B
            k0 = n_below
            nb = k0 + 1 if k0 + 1 < n else k0 - 1
            s = 1 if (pos[nb] - pos[k0]) % 3 == 1 else 2
            pos = ((pos - pos[k0]) * s) % 3
    kinds = "." + "".join("h" if pos[k - 1] == pos[k + 1] else "c" for k in range(1, n - 1)) + "." \
        if n > 2 else "." * n
    return pos, kinds


def stacked_sites(material, *, radius, cubic_fraction=None, letters=None, seed=0, centre="metal",
                  a=None, c=None, u=None):
    """Sites within ``radius`` [A] of a close-packed stacking of metal-chalcogen layers.

    In-plane constant, layer spacing (c/2) and bond offset (u c) come from the wurtzite row
    of the lattice table (or the overrides), for every layer: a zinc-blende layer of CdSe
    built this way has a = 6.081 A instead of 6.077 A (0.07 %).  Centres: "metal",
    "chalcogen", "bond" (the vertical bond of layer 0).

    Returns (positions, is_metal, params, kinds): kinds (as in :func:`stacking_sequence`)
    of the layers whose metal plane lies within ``radius``, bottom to top.
    """
    if centre not in ("metal", "chalcogen", "bond"):
        raise ClusterstructError(f"centre {centre!r} is not defined for a faulted stacking; "
                                 "use metal, chalcogen or bond")
    p = lattice_parameters(material, "wurtzite", a=a, c=c, u=u)
    d = p.c / 2.0
    origin = {"metal": 0.0, "chalcogen": p.u * p.c, "bond": p.u * p.c / 2}[centre]
    n_layers = int(np.ceil((radius + p.c) / d)) + 1
    lat, kinds = stacking_sequence(n_layers, n_layers, cubic_fraction=cubic_fraction, letters=letters,
                                   seed=seed)
    a1 = np.array([p.a, 0.0])
    a2 = np.array([-p.a / 2, p.a * np.sqrt(3) / 2])
    shift = np.array([0.0, p.a / np.sqrt(3)])          # A -> B (B -> C, C -> A)
    m = int(np.ceil(radius / (p.a * np.sqrt(3) / 2))) + 2
    ij = np.stack(np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij"), -1).reshape(-1, 2)
    plane = ij @ np.vstack([a1, a2])
    pos, metal = [], []
    for k, s in zip(range(-n_layers, n_layers + 1), lat):
        xy = plane + s * shift
        for z, is_metal in ((k * d, True), (k * d + p.u * p.c, False)):
            xyz = np.column_stack([xy, np.full(len(xy), z - origin)])
            keep = np.einsum("ij,ij->i", xyz, xyz) <= radius * radius + 1e-9
            pos.append(xyz[keep])
            metal.append(np.full(int(keep.sum()), is_metal))
    inside = [i for i, k in enumerate(range(-n_layers, n_layers + 1)) if abs(k * d - origin) <= radius]
    return np.concatenate(pos), np.concatenate(metal), p, "".join(kinds[i] for i in inside)
