"""The structures shipped in the repository's ``structures/`` folder.

``clusterstruct build catalog -o structures/`` regenerates every file and
``manifest.csv`` byte for byte: each entry is a builder call with fixed
arguments (and fixed seeds where randomness is involved), and the writer
prints every zero without a sign (:func:`.store.normalised`), so the bytes do
not depend on the NumPy build's rounding of the last bit.  Each file's extxyz
comment line carries its construction and descriptors (rounded to 4 decimals).
"""

import os

from .._atomicio import write_csv_atomic
from .alloys import alloy
from .build import carve_sphere, tetrahedron
from .ligands import add_ligands
from .named import cd37s20, cdse13, zn32se
from .store import write_structure


def catalog():
    """Name -> (zero-argument builder, one-line description)."""
    entries = {}
    for n, label in ((4, "CdSe tetrahedron n=4 (no MSC assigned)"), (5, "CdSe MSC-350 candidate"),
                     (6, "CdSe MSC-380 candidate"), (7, "CdSe MSC-408 candidate")):
        from .build import tetrahedral_number as T
        entries[f"cd{T(n)}se{T(n - 1)}_tetrahedron"] = (
            lambda n=n: tetrahedron("CdSe", n), f"{label}: Cd-terminated zinc-blende tetrahedron n={n}")
    entries.update({
        "cd35se20_tetrahedron_acetate_methylamine": (
            lambda: add_ligands(tetrahedron("CdSe", 5), x_type="acetate", l_type="methylamine"),
            "Cd35Se20 with 30 acetates (charge balance) and methylamines on the open Cd sites"),
        "cd56se35_tetrahedron_acetate_methylamine": (
            lambda: add_ligands(tetrahedron("CdSe", 6), x_type="acetate", l_type="methylamine"),
            "Cd56Se35 with 42 acetates (charge balance) and methylamines on the open Cd sites"),
        "beta_cd37s20": (lambda: cd37s20("beta"),
                         "CdS MSC-311 candidate: compact zinc-blende Cd37S20 core, three one-bonded Cd"),
        "alpha_cd37s20": (lambda: cd37s20("alpha"),
                          "CdS MSC-322 candidate: beta_cd37s20 after a displacive slip to wurtzite-like stacking"),
        "zn32se15_zb": (lambda: zn32se(15, "zincblende"), "ZnSe MSC-299 candidate: best zinc-blende Zn32Se15"),
        "zn32se16_zb": (lambda: zn32se(16, "zincblende"), "ZnSe MSC-299 candidate: best zinc-blende Zn32Se16"),
        "zn32se15_wz": (lambda: zn32se(15, "wurtzite"), "ZnSe MSC-299 candidate: best wurtzite Zn32Se15"),
        "zn32se16_wz": (lambda: zn32se(16, "wurtzite"), "ZnSe MSC-299 candidate: best wurtzite Zn32Se16"),
        "cdse13_cage": (cdse13, "(CdSe)13 core-cage candidate, (CdSe)1@(CdSe)12"),
        "cd56se18te17_random": (lambda: alloy(tetrahedron("CdSe", 6), "Te", 17 / 35, pattern="random", seed=0),
                                "CdTeSe alloy example: Cd56Se35 tetrahedron with 17 of 35 Se -> Te (seed 0)"),
        "znse_sphere_r7_zb": (lambda: carve_sphere("ZnSe", 7.0, lattice="zincblende", centre="metal"),
                              "ZnSe zinc-blende sphere, r = 7 A about a Zn atom, 1-bonded atoms trimmed"),
        "cds_sphere_r7.5_wz": (lambda: carve_sphere("CdS", 7.5, lattice="wurtzite", centre="chalcogen"),
                               "CdS wurtzite sphere, r = 7.5 A about an S atom, 1-bonded atoms trimmed"),
    })
    # core-cage clusters
    from .named import cdse33_cage, cdse34_cage
    entries.update({
        "cdse13_cage_bonded": (lambda: cdse13(bonded=True),
                               "(CdSe)13 core-cage, (CdSe)1@(CdSe)12 with the pair bonded (harmonic model)"),
        "cdse33_cage": (cdse33_cage, "CdSe MSC-415 class (CdSe)33 = (CdSe)6@(CdSe)27 core-cage (Kasuya 2004)"),
        "cdse34_cage": (cdse34_cage, "CdSe MSC-415/418 class (CdSe)34 = (CdSe)6@(CdSe)28 core-cage (Kasuya 2004)"),
    })
    # CdS isomers, CdTe and CdTeSe candidates
    from .composition import carve_to_composition

    def _cdte_core(m, x):
        atoms = carve_to_composition("CdTe", m, x, top=1)[0].atoms
        atoms.info["name"] = f"Cd{m}Te{x}"
        return atoms
    entries.update({
        "beta_cd37s20_open": (lambda: cd37s20("beta", rank=2),
                              "CdS MSC-311 candidate: zinc-blende Cd37S20 with every Cd at least two-bonded "
                              "(open, rod-like)"),
        "alpha_cd37s20_open": (lambda: cd37s20("alpha", rank=2),
                               "CdS MSC-322 candidate: beta_cd37s20_open after a displacive slip to "
                               "wurtzite-like stacking"),
        "cd20te10_tetrahedron": (lambda: tetrahedron("CdTe", 4), "CdTe tetrahedron n=4"),
        "cd35te20_tetrahedron": (lambda: tetrahedron("CdTe", 5), "CdTe MSC-371 candidate: tetrahedron n=5"),
        "cd56te35_tetrahedron": (lambda: tetrahedron("CdTe", 6), "CdTe tetrahedron n=6"),
        "cd33te18_core": (lambda: _cdte_core(33, 18),
                          "CdTe MSC-371 candidate: best-ranked zinc-blende Cd33Te18 composition core"),
        "cd56se26te9_random": (lambda: alloy(tetrahedron("CdSe", 6), "Te", 0.25, pattern="random", seed=0),
                               "CdTeSe MSC-399 candidate: Cd56Se35 tetrahedron, 9 of 35 Se -> Te (seed 0)"),
        "cd56se17te18_ordered": (lambda: alloy(tetrahedron("CdSe", 6), "Te", 0.5, pattern="ordered"),
                                 "CdTeSe MSC-399 candidate: Cd56Se35 tetrahedron, 18 of 35 Se -> Te in "
                                 "alternate (001) layers"),
        "cd56se9te26_random": (lambda: alloy(tetrahedron("CdSe", 6), "Te", 0.75, pattern="random", seed=0),
                               "CdTeSe MSC-399 candidate: Cd56Se35 tetrahedron, 26 of 35 Se -> Te (seed 0)"),
    })
    entries.update(relaxed_entries(entries))
    return entries


#: Where the relaxed variants are stored (package data): ``NAME_relaxed.xyz`` and
#: ``relax_report.csv``, written by ``tools/relax_catalog.py`` (hours of GFN-xTB, so
#: stored rather than recomputed by ``build catalog``).
RELAXED_DATA = "data/relaxed"


def relax_report():
    """Rows of the stored relaxation report (every structure tried, ok or not, with the reason)."""
    import csv
    import io
    from importlib import resources
    path = resources.files("clusterstruct").joinpath(RELAXED_DATA, "relax_report.csv")
    if not path.is_file():
        return []
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def relaxed_entries(entries):
    """``NAME_relaxed`` catalogue entries for the stored relaxed variants of ``entries``."""
    from importlib import resources
    folder = resources.files("clusterstruct").joinpath(RELAXED_DATA)
    out = {}
    methods = {row["name"]: row["method"] for row in relax_report() if row.get("ok") == "True"}
    for name, (_, description) in entries.items():
        if name in methods and folder.joinpath(f"{name}_relaxed.xyz").is_file():
            out[f"{name}_relaxed"] = (
                lambda name=name: _stored_relaxed(name),
                f"{description}; relaxed ({methods[name]}, caps removed)")
    return out


def _stored_relaxed(name):
    from importlib import resources
    from ..io import read_structure
    path = resources.files("clusterstruct").joinpath(RELAXED_DATA, f"{name}_relaxed.xyz")
    with resources.as_file(path) as real:
        atoms = read_structure(str(real))
    keep = {k: atoms.info[k] for k in ("construction", "relaxed", "relax_method", "relax_energy_eV",
                                       "relax_fmax_eV_A", "relax_steps", "name") if k in atoms.info}
    atoms.info.clear()
    atoms.info.update(keep)
    atoms.info["relaxed"] = True
    atoms.info["construction"] = keep.get("construction", "") + f" [stored coordinates, {RELAXED_DATA}]"
    return atoms


def annotate(atoms):
    """Copy of ``atoms`` with its descriptors (rounded) in ``info``; returns (atoms, descriptors)."""
    from .descriptors import describe
    d = describe(atoms)
    out = atoms.copy()
    out.info.update({
        "formula": d["formula"], "mass_Da": round(d["mass_Da"], 4), "point_group": d["point_group"],
        "rg_number_A": round(d["rg_number_A"], 4), "rg_electron_A": round(d["rg_electron_A"], 4),
        "dmax_A": round(d["dmax_A"], 4),
    })
    if "d_equal_volume_A" in d:
        out.info["d_equal_volume_A"] = round(d["d_equal_volume_A"], 4)
        out.info["coordination"] = "; ".join(
            f"{el} " + ",".join(f"{k}:{v}" for k, v in hist.items()) for el, hist in d["coordination"].items())
    return out, d


def write_catalog(folder):
    """Write every catalogue structure as extxyz plus ``manifest.csv`` into ``folder``.

    The files and the manifest record point groups, and the composition
    candidates are ranked with the symmetry bonus.
    """
    os.makedirs(folder, exist_ok=True)
    rows = []
    for name, (builder, description) in catalog().items():
        atoms, d = annotate(builder())
        write_structure(os.path.join(folder, f"{name}.xyz"), atoms)
        rows.append({"file": f"{name}.xyz", "formula": d["formula"], "n_atoms": len(atoms),
                     "mass_Da": f"{d['mass_Da']:.2f}", "point_group": d["point_group"],
                     "rg_number_A": f"{d['rg_number_A']:.4f}", "dmax_A": f"{d['dmax_A']:.4f}",
                     "d_equal_volume_A": f"{d.get('d_equal_volume_A', float('nan')):.4f}",
                     "relaxed": atoms.info.get("relax_method", "") if atoms.info.get("relaxed") else "",
                     "description": description, "construction": atoms.info.get("construction", "")})
    write_csv_atomic(os.path.join(folder, "manifest.csv"), rows)
    return rows
