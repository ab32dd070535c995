"""Every subcommand refuses bad input cleanly.

A table of bad inputs across all subcommands, each run through ``main(argv)`` in a fresh folder
holding only its input files. For every row: the exit status is 2; stderr is one line
``clusterstruct CMD: error: ...`` (argparse usage errors: usage lines and a last line naming the
option); there is no traceback; the message names the input (the file or the option); and no
output file is left behind (the folder holds exactly the input files afterwards).

Categories: missing, empty, binary and non-UTF-8 files; wrong format content; NaN and inf values;
negative or zero sizes, steps and tolerances; absurd sizes refused before any allocation; unknown
elements, materials, models, shapes, formats and output extensions; out-of-range wavelengths and
q; mismatched counts; thread counts; bad screening-spec values (types, ranges, unknown keys);
periodic, overlapping and one-atom structures; unwritable or missing output folders.
"""

import os

import pytest

from clusterstruct.cli.main import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRUCT = os.path.join(REPO, "structures", "cd20se10_tetrahedron.xyz")
CD35 = os.path.join(REPO, "structures", "cd35se20_tetrahedron.xyz")
GR = os.path.join(REPO, "tests", "data", "diffpy-cmi", "CdSe-1.gr")
MATRIX = os.path.join(REPO, "tests", "data", "absorption", "matrix_minutes.csv")

PAIR = "2\nCdSe pair\nCd 0 0 0\nSe 2.63 0 0\n"
GRID500 = "500\n500 Cd on a 3 A grid\n" + "".join(f"Cd {3 * (k % 10)} {3 * (k // 10 % 10)} {3 * (k // 100)}\n"
                                                  for k in range(500))
ONE = "1\none atom\nCd 0 0 0\n"
OVERLAP = "2\ntoo close\nCd 0 0 0\nSe 0.1 0 0\n"
NAN_XYZ = "2\nnan coordinate\nCd 0 0 0\nSe nan 0 0\n"
INF_XYZ = "2\ninf coordinate\nCd 0 0 0\nSe inf 0 0\n"
UNKNOWN_EL = "2\nunknown element\nCd 0 0 0\nQq 2.63 0 0\n"
PERIODIC = ('2\nLattice="6.0 0.0 0.0 0.0 6.0 0.0 0.0 0.0 6.0" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
            "Zn 0 0 0\nSe 1.5 1.5 1.5\n")
BINARY = bytes(range(256)) * 4
NON_UTF8_XYZ = "2\ncaf\xe9\nCd 0 0 0\nSe 2.63 0 0\n".encode("latin-1")
# a synthetic Guinier curve (Rg = 6 A) with a flat background, q in 1/A
SAXS = "".join(f"{0.02 + 0.02 * i:.4f} {2.718281828 ** (-((0.02 + 0.02 * i) * 6) ** 2 / 3) + 0.01:.6e}\n"
               for i in range(30))
SPEC_OK = """[screen]
name = "t"
[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 4
[compute]
saxs = {q_min = 0.05, q_max = 0.5, n_q = 10}
"""


def _saxs_h5(path):
    """An HDF5 file as ``saxs -o p.h5`` writes it (not a screening results file)."""
    import h5py
    with h5py.File(path, "w") as fh:
        fh.create_dataset("q", data=[0.1, 0.2])
        fh.create_dataset("intensity", data=[2.0, 1.0])
        fh.attrs["structure"] = "s.xyz"


GR_TEXT = "".join(f"{0.5 + 0.01 * i:.3f} {0.1 * (i % 7 - 3):.3f}\n" for i in range(300))

# (id, argv, input files {name: text or bytes; a name ending in '/' is an empty folder},
#  substring(s) the one-line message must hold, exit status)
CASES = [
    # ---- saxs
    ("saxs-missing", ["saxs", "nofile.xyz"], {}, "nofile.xyz", 2),
    ("saxs-exact-too-slow", ["saxs", "g.xyz", "--mode", "exact", "--n-q", "900000"], {"g.xyz": GRID500},
     "--allow-slow", 2),
    ("saxs-empty", ["saxs", "e.xyz"], {"e.xyz": ""}, "e.xyz", 2),
    ("saxs-binary", ["saxs", "b.xyz"], {"b.xyz": BINARY}, "b.xyz", 2),
    ("saxs-non-utf8", ["saxs", "l.xyz"], {"l.xyz": NON_UTF8_XYZ}, "l.xyz", 2),
    ("saxs-nan-coords", ["saxs", "n.xyz"], {"n.xyz": NAN_XYZ}, "n.xyz", 2),
    ("saxs-inf-coords", ["saxs", "n.xyz"], {"n.xyz": INF_XYZ}, "n.xyz", 2),
    ("saxs-unknown-element", ["saxs", "u.xyz"], {"u.xyz": UNKNOWN_EL}, "u.xyz", 2),
    ("saxs-overlap", ["saxs", "o.xyz"], {"o.xyz": OVERLAP}, "o.xyz", 2),
    ("saxs-periodic", ["saxs", "p.xyz"], {"p.xyz": PERIODIC}, ("p.xyz", "periodic"), 2),
    ("saxs-wrong-format", ["saxs", "s.xyz"], {"s.xyz": "this is not a structure\n"}, "s.xyz", 2),
    ("saxs-threads-negative", ["saxs", "s.xyz", "--threads", "-3"], {"s.xyz": PAIR}, "--threads", 2),
    ("saxs-threads-huge", ["saxs", "s.xyz", "--threads", "100000"], {"s.xyz": PAIR}, "--threads", 2),
    ("saxs-threads-zero", ["saxs", "s.xyz", "--threads", "0"], {"s.xyz": PAIR}, "--threads", 2),
    ("saxs-qmin-negative", ["saxs", "s.xyz", "--q-min", "-1"], {"s.xyz": PAIR}, "--q-min", 2),
    ("saxs-qmax-nan", ["saxs", "s.xyz", "--q-max", "nan"], {"s.xyz": PAIR}, "--q-max", 2),
    ("saxs-qmax-inf", ["saxs", "s.xyz", "--q-max", "inf"], {"s.xyz": PAIR}, "--q-max", 2),
    ("saxs-nq-zero", ["saxs", "s.xyz", "--n-q", "0"], {"s.xyz": PAIR}, "--n-q", 2),
    ("saxs-nq-absurd", ["saxs", "s.xyz", "--n-q", "2000000000"], {"s.xyz": PAIR}, "--n-q", 2),
    ("saxs-qfile-text-row", ["saxs", "s.xyz", "--q-file", "q.txt"], {"s.xyz": PAIR, "q.txt": "0.1\nabc\n0.2\n"},
     "q.txt", 2),
    ("saxs-qfile-binary", ["saxs", "s.xyz", "--q-file", "q.txt"], {"s.xyz": PAIR, "q.txt": BINARY}, "q.txt", 2),
    ("saxs-qfile-empty", ["saxs", "s.xyz", "--q-file", "q.txt"], {"s.xyz": PAIR, "q.txt": ""}, "q.txt", 2),
    ("saxs-qfile-negative", ["saxs", "s.xyz", "--q-file", "q.txt"], {"s.xyz": PAIR, "q.txt": "-0.1\n0.2\n"},
     "q.txt", 2),
    ("saxs-b-iso-text", ["saxs", "s.xyz", "--b-iso", "Cd=abc"], {"s.xyz": PAIR}, "--b-iso", 2),
    ("saxs-b-iso-absent-element", ["saxs", "s.xyz", "--b-iso", "Zn=0.5"], {"s.xyz": PAIR}, "--b-iso", 2),
    ("saxs-b-iso-negative", ["saxs", "s.xyz", "--b-iso", "Cd=-1"], {"s.xyz": PAIR}, "--b-iso", 2),
    ("saxs-output-extension", ["saxs", "s.xyz", "-o", "out.foo"], {"s.xyz": PAIR}, "out.foo", 2),
    ("saxs-output-no-folder", ["saxs", "s.xyz", "-o", "nodir/out.csv"], {"s.xyz": PAIR}, "nodir/out.csv", 2),
    ("saxs-output-under-file", ["saxs", "s.xyz", "-o", "s.xyz/out.csv"], {"s.xyz": PAIR}, "s.xyz/out.csv", 2),
    ("saxs-output-is-folder", ["saxs", "s.xyz", "-o", "d"], {"s.xyz": PAIR, "d/": ""}, "-o d", 2),
    ("saxs-plot-extension", ["saxs", "s.xyz", "--plot", "x.jpgx", "-o", "x.csv"], {"s.xyz": PAIR},
     "x.jpgx", 2),
    ("saxs-plot-no-folder", ["saxs", "s.xyz", "--plot", "nodir/p.png", "-o", "x.csv"], {"s.xyz": PAIR},
     "nodir/p.png", 2),
    ("saxs-q-unit", ["saxs", "s.xyz", "--q-unit", "furlong"], {"s.xyz": PAIR}, "--q-unit", 2),
    ("saxs-mode", ["saxs", "s.xyz", "--mode", "fast"], {"s.xyz": PAIR}, "--mode", 2),
    ("saxs-threads-text", ["saxs", "s.xyz", "--threads", "many"], {"s.xyz": PAIR}, "--threads", 2),
    # ---- build
    ("build-tetra-n-zero", ["build", "tetrahedron", "--n", "0", "-o", "t.xyz"], {}, "--n", 2),
    ("build-tetra-n-absurd", ["build", "tetrahedron", "--n", "100000", "-o", "t.xyz"], {}, "--n", 2),
    ("build-tetra-a-negative", ["build", "tetrahedron", "--n", "4", "--a", "-6", "-o", "t.xyz"], {}, "--a", 2),
    ("build-tetra-a-nan", ["build", "tetrahedron", "--n", "4", "--a", "nan", "-o", "t.xyz"], {}, "--a", 2),
    ("build-tetra-material", ["build", "tetrahedron", "--n", "4", "--material", "Unobtainium", "-o", "t.xyz"],
     {}, "Unobtainium", 2),
    ("build-tetra-output-extension", ["build", "tetrahedron", "--n", "4", "-o", "t.foo"], {}, "t.foo", 2),
    ("build-sphere-radius-negative", ["build", "sphere", "--radius", "-1", "-o", "s.xyz"], {}, "--radius", 2),
    ("build-sphere-radius-absurd", ["build", "sphere", "--radius", "1000000", "-o", "s.xyz"], {}, "--radius", 2),
    ("build-sphere-output-extension", ["build", "sphere", "--material", "ZnSe", "--radius", "6", "-o", "bs.foo"],
     {}, "bs.foo", 2),
    ("build-sphere-output-no-folder", ["build", "sphere", "--radius", "6", "-o", "nodir/s.xyz"], {},
     "nodir/s.xyz", 2),
    ("build-sphere-lattice", ["build", "sphere", "--radius", "6", "--lattice", "bcc", "-o", "s.xyz"], {},
     ("--lattice", "bcc"), 2),
    ("build-sphere-min-bonds", ["build", "sphere", "--radius", "6", "--min-bonds", "-1", "-o", "s.xyz"], {},
     "--min-bonds", 2),
    ("build-sphere-cubic-fraction", ["build", "sphere", "--radius", "6", "--cubic-fraction", "2", "-o", "s.xyz"],
     {}, "--cubic-fraction", 2),
    ("build-sphere-stacking", ["build", "sphere", "--radius", "6", "--stacking", "ABX", "-o", "s.xyz"], {},
     ("--stacking", "ABX"), 2),
    ("build-carve-size-zero", ["build", "carve", "--shape", "sphere", "--size", "0", "-o", "c.xyz"], {},
     "--size", 2),
    ("build-carve-size-negative", ["build", "carve", "--shape", "octahedron", "--size", "-4", "-o", "c.xyz"], {},
     "--size", 2),
    ("build-carve-facet", ["build", "carve", "--shape", "facets", "--facet", "11:3", "-o", "c.xyz"], {},
     "--facet", 2),
    ("build-carve-facet-negative", ["build", "carve", "--shape", "facets", "--facet", "111:-3", "-o", "c.xyz"],
     {}, "--facet", 2),
    ("build-carve-shape", ["build", "carve", "--shape", "blob", "-o", "c.xyz"], {}, "--shape", 2),
    ("build-composition-zero", ["build", "composition", "--material", "CdSe", "--metal", "0", "--chalcogen", "0",
                                "-o", "out"], {}, "--metal", 2),
    ("build-composition-top", ["build", "composition", "--material", "CdSe", "--metal", "4", "--chalcogen", "4",
                               "--top", "0", "-o", "out"], {}, "--top", 2),
    ("build-composition-lattice", ["build", "composition", "--material", "CdSe", "--metal", "4", "--chalcogen",
                                   "4", "--lattice", "bcc", "-o", "out"], {}, ("--lattice", "bcc"), 2),
    ("build-composition-absurd", ["build", "composition", "--material", "CdSe", "--metal", "100000",
                                  "--chalcogen", "100000", "-o", "out"], {}, "--metal", 2),
    ("build-named-unknown", ["build", "named", "nosuch", "-o", "n.xyz"], {}, "nosuch", 2),
    ("build-named-ligand", ["build", "named", "cd35se20", "--ligands", "--x-ligand", "unobtainate", "-o", "n.xyz"],
     {}, "unobtainate", 2),
    ("build-alloy-element", ["build", "alloy", "s.xyz", "--element", "Qq", "--fraction", "0.5", "-o", "a.xyz"],
     {"s.xyz": PAIR}, "Qq", 2),
    ("build-alloy-fraction", ["build", "alloy", "s.xyz", "--element", "Te", "--fraction", "1.5", "-o", "a.xyz"],
     {"s.xyz": PAIR}, "--fraction", 2),
    ("build-alloy-missing", ["build", "alloy", "nofile.xyz", "--element", "Te", "--fraction", "0.5",
                             "-o", "a.xyz"], {}, "nofile.xyz", 2),
    ("build-catalog-onto-file", ["build", "catalog", "-o", "f.txt"], {"f.txt": "x\n"}, "f.txt", 2),
    # ---- info
    ("info-missing", ["info", "nofile.xyz"], {}, "nofile.xyz", 2),
    ("info-binary", ["info", "b.xyz"], {"b.xyz": BINARY}, "b.xyz", 2),
    # info has no --allow-overlap: the message points to the command that has
    ("info-overlap", ["info", "o.xyz"], {"o.xyz": OVERLAP}, ("o.xyz", "saxs --allow-overlap"), 2),
    ("info-material", ["info", "s.xyz", "--material", "Unobtainium"], {"s.xyz": PAIR}, "Unobtainium", 2),
    ("info-lattice", ["info", "s.xyz", "--lattice", "bcc"], {"s.xyz": PAIR}, ("--lattice", "bcc"), 2),
    # ---- gap / size / compare-abs
    ("gap-shape", ["gap", STRUCT, "--shape", "blob"], {}, "blob", 2),
    ("gap-model", ["gap", STRUCT, "--model", "magic"], {}, "magic", 2),
    ("gap-barrier-negative", ["gap", STRUCT, "--model", "finite-barrier", "--barrier", "-1"], {}, "--barrier", 2),
    ("gap-one-atom", ["gap", "one.xyz"], {"one.xyz": ONE}, "one.xyz", 2),
    ("gap-no-metal", ["gap", "s.xyz"], {"s.xyz": "2\nno metal\nSe 0 0 0\nSe 2.4 0 0\n"}, "s.xyz", 2),
    ("size-peak-negative", ["size", "--material", "CdSe", "--peak", "-5"], {}, "--peak", 2),
    ("size-peak-zero", ["size", "--material", "CdSe", "--peak", "0"], {}, "--peak", 2),
    ("size-peak-nan", ["size", "--material", "CdSe", "--peak", "nan"], {}, "--peak", 2),
    ("size-peak-out-of-range", ["size", "--material", "CdSe", "--peak", "5000"], {}, "5000", 2),
    ("size-material", ["size", "--material", "Unobtainium", "--peak", "400"], {}, "Unobtainium", 2),
    ("compare-abs-missing-second", ["compare-abs", STRUCT, "nofile.xyz", "-o", "t.csv"], {}, "nofile.xyz", 2),
    ("compare-abs-peaks-negative", ["compare-abs", STRUCT, "--peaks", "-300", "-o", "t.csv"], {}, "--peaks", 2),
    ("compare-abs-models", ["compare-abs", STRUCT, "--models", "magic", "-o", "t.csv"], {}, "magic", 2),
    ("compare-abs-output-extension", ["compare-abs", STRUCT, "-o", "t.xyz"], {}, "t.xyz", 2),
    ("compare-abs-plot-extension", ["compare-abs", STRUCT, "-o", "t.csv", "--plot", "p.jpgx"], {}, "p.jpgx", 2),
    # ---- measured SAXS curves
    ("guinier-missing", ["guinier", "nofile.dat"], {}, "nofile.dat", 2),
    ("guinier-binary", ["guinier", "b.dat", "--q-unit", "A-1"], {"b.dat": BINARY}, "b.dat", 2),
    ("guinier-empty", ["guinier", "e.dat", "--q-unit", "A-1"], {"e.dat": ""}, "e.dat", 2),
    ("guinier-all-nan", ["guinier", "d.dat", "--q-unit", "A-1"], {"d.dat": "0.1 nan\n0.2 nan\n0.3 inf\n"},
     "d.dat", 2),
    ("guinier-qrg-negative", ["guinier", "d.dat", "--q-unit", "A-1", "--qrg-max", "-1"], {"d.dat": SAXS},
     "--qrg-max", 2),
    ("guinier-q-range-empty", ["guinier", "d.dat", "--q-unit", "A-1", "--q-min", "10"], {"d.dat": SAXS},
     "d.dat", 2),
    ("guinier-format", ["guinier", "d.dat", "--q-unit", "A-1", "--format", "cansas-xml"], {"d.dat": SAXS},
     "d.dat", 2),
    ("unified-levels", ["unified", "d.dat", "--levels", "3"], {"d.dat": SAXS}, "--levels", 2),
    ("unified-qmin-nan", ["unified", "d.dat", "--q-unit", "A-1", "--q-min", "nan"], {"d.dat": SAXS}, "--q-min", 2),
    ("guinier-q-range-reversed", ["guinier", "d.dat", "--q-unit", "A-1", "--q-min", "0.5", "--q-max", "0.1"],
     {"d.dat": SAXS}, "--q-max", 2),
    ("unified-few-points", ["unified", "d.dat", "--q-unit", "A-1"], {"d.dat": "0.1 1\n0.2 0.5\n"}, "d.dat", 2),
    ("unified-plot-extension", ["unified", "d.dat", "--q-unit", "A-1", "--plot", "u.jpgx"], {"d.dat": SAXS},
     "u.jpgx", 2),
    ("fit-saxs-one-atom", ["fit-saxs", "d.dat", "one.xyz", "--q-unit", "A-1"], {"d.dat": SAXS, "one.xyz": ONE},
     "one.xyz", 2),
    ("fit-saxs-peak-negative", ["fit-saxs", "d.dat", STRUCT, "--q-unit", "A-1", "--peak", "-5"], {"d.dat": SAXS},
     "--peak", 2),
    ("fit-saxs-missing-structure", ["fit-saxs", "d.dat", "nofile.xyz", "--q-unit", "A-1"], {"d.dat": SAXS},
     "nofile.xyz", 2),
    ("sizes-empty-folder", ["sizes", "runs", "--q-unit", "A-1"], {"runs/": ""}, "runs", 2),
    ("sizes-all-failed", ["sizes", "runs", "--q-unit", "A-1", "-o", "s.csv"],
     {"runs/a_1min.dat": "junk\n", "runs/b_2min.dat": "junk\n"}, "runs", 2),
    # ---- absorption / arrhenius
    ("absorption-missing", ["absorption", "nofile.csv"], {}, "nofile.csv", 2),
    ("absorption-empty", ["absorption", "e.csv"], {"e.csv": ""}, "e.csv", 2),
    ("absorption-binary", ["absorption", "b.csv"], {"b.csv": BINARY}, "b.csv", 2),
    ("absorption-output-extension", ["absorption", MATRIX, "-o", "o.xyz"], {}, "o.xyz", 2),
    ("absorption-range-reversed", ["absorption", MATRIX, "--range", "500", "300"], {}, "--range", 2),
    ("absorption-range-outside", ["absorption", MATRIX, "--range", "900", "1000"], {}, "matrix_minutes.csv", 2),
    ("absorption-path-length-zero", ["absorption", MATRIX, "--path-length", "0"], {}, "--path-length", 2),
    ("absorption-aliquot-negative", ["absorption", MATRIX, "--aliquot-factor", "-1"], {}, "--aliquot-factor", 2),
    ("absorption-time-unit", ["absorption", MATRIX, "--time-unit", "fortnight"], {}, "fortnight", 2),
    ("absorption-format", ["absorption", MATRIX, "--format", "jcamp"], {}, "matrix_minutes.csv", 2),
    ("absorption-background", ["absorption", MATRIX, "--background", "blah"], {}, "blah", 2),
    ("absorption-label-negative", ["absorption", MATRIX, "--label", "-5"], {}, "--label", 2),
    ("absorption-optics-model", ["absorption", MATRIX, "--optics-model", "magic"], {}, ("--optics-model", "magic"), 2),
    ("absorption-window-reversed", ["absorption", MATRIX, "--window", "5", "1"], {}, "--window", 2),
    ("absorption-material", ["absorption", MATRIX, "--material", "Unobtainium"], {}, "Unobtainium", 2),
    ("arrhenius-counts", ["arrhenius", "--temperature", "300", "310", "--k", "0.1"], {}, "counts differ", 2),
    ("arrhenius-k-negative", ["arrhenius", "--temperature", "300", "310", "320", "--k", "-0.1", "0.2", "0.3"], {},
     "--temperature/--k", 2),
    ("arrhenius-kelvin-negative", ["arrhenius", "--temperature", "-3", "310", "320", "--k", "0.1", "0.2", "0.3",
                                   "--temperature-unit", "K"], {}, "--temperature/--k", 2),
    ("arrhenius-empty-file", ["arrhenius", "r.csv"], {"r.csv": ""}, "r.csv", 2),
    ("arrhenius-one-point", ["arrhenius", "r.csv"], {"r.csv": "300,0.1\n"}, "r.csv", 2),
    ("arrhenius-non-utf8", ["arrhenius", "r.csv"], {"r.csv": "300,0.1\n310,0.2\xe9\n".encode("latin-1")},
     "r.csv", 2),
    ("arrhenius-nan", ["arrhenius", "r.csv"], {"r.csv": "300,0.1\n310,nan\n320,0.3\n"}, "r.csv", 2),
    # ---- pdf / fit-pdf / pdf-size
    ("pdf-qmax-zero", ["pdf", STRUCT, "--qmax", "0"], {}, "--qmax", 2),
    ("pdf-qmin-above-qmax", ["pdf", STRUCT, "--qmin", "30", "--qmax", "20"], {}, "--qmin", 2),
    ("pdf-rstep-tiny", ["pdf", STRUCT, "--rstep", "1e-7"], {}, "--rstep", 2),
    ("pdf-rstep-negative", ["pdf", STRUCT, "--rstep", "-0.01"], {}, "--rstep", 2),
    ("pdf-plot-no-folder", ["pdf", STRUCT, "-o", "o.h5", "--plot", "nodir/p.png"], {}, "nodir/p.png", 2),
    ("pdf-output-extension", ["pdf", STRUCT, "-o", "o.foo"], {}, "o.foo", 2),
    ("pdf-qdamp-nan", ["pdf", STRUCT, "--qdamp", "nan"], {}, "--qdamp", 2),
    ("pdf-uiso-negative", ["pdf", STRUCT, "--uiso", "Cd=-1"], {}, "--uiso", 2),
    ("pdf-one-atom", ["pdf", "one.xyz"], {"one.xyz": ONE}, "one.xyz", 2),
    ("fit-pdf-one-atom", ["fit-pdf", "one.xyz", GR], {"one.xyz": ONE}, "one.xyz", 2),
    ("fit-pdf-data-missing", ["fit-pdf", STRUCT, "nofile.gr"], {}, "nofile.gr", 2),
    ("fit-pdf-data-text", ["fit-pdf", STRUCT, "d.gr"], {"d.gr": "not a pdf\n"}, "d.gr", 2),
    ("fit-pdf-data-binary", ["fit-pdf", STRUCT, "d.gr"], {"d.gr": BINARY}, "d.gr", 2),
    ("fit-pdf-qmax-absurd", ["fit-pdf", STRUCT, GR, "--qmax", "1000"], {}, "--qmax", 2),
    ("fit-pdf-r-range", ["fit-pdf", STRUCT, GR, "--rmin", "10", "--rmax", "5"], {}, "--rmin", 2),
    ("pdf-size-sizes-reversed", ["pdf-size", GR, "--material", "CdSe", "--sizes", "30:10:1"], {}, "--sizes", 2),
    ("pdf-size-sizes-absurd", ["pdf-size", GR, "--material", "CdSe", "--sizes", "10:60:0.00001"], {},
     "--sizes", 2),
    ("pdf-size-cubic-fraction", ["pdf-size", GR, "--material", "CdSe", "--cubic-fraction", "2"], {},
     "cubic_fraction", 2),
    ("pdf-size-material", ["pdf-size", GR, "--material", "Unobtainium"], {}, "Unobtainium", 2),
    ("pdf-size-qmax-zero", ["pdf-size", "d.gr", "--material", "CdSe", "--qmax", "0"], {"d.gr": GR_TEXT},
     "--qmax", 2),
    # ---- mine
    ("mine-data-missing", ["mine", "nofile.gr", "--candidates", "s.toml"], {"s.toml": SPEC_OK}, "nofile.gr", 2),
    ("mine-spec-missing", ["mine", GR, "--candidates", "nospec.toml"], {}, "nospec.toml", 2),
    ("mine-data-text", ["mine", "d.gr", "--candidates", "s.toml"], {"d.gr": "not a pdf\n", "s.toml": SPEC_OK},
     "d.gr", 2),
    ("mine-qmax-absurd", ["mine", GR, "--candidates", "s.toml", "--qmax", "1000"], {"s.toml": SPEC_OK}, "qmax", 2),
    ("mine-top-zero", ["mine", GR, "--candidates", "s.toml", "--top", "0"], {"s.toml": SPEC_OK}, "--top", 2),
    # ---- screen / results
    ("screen-spec-missing", ["screen", "nofile.toml", "-o", "r.h5"], {}, "nofile.toml", 2),
    ("screen-spec-non-utf8", ["screen", "s.toml", "-o", "r.h5"], {"s.toml": "name = \"caf\xe9\"\n".encode("latin-1")},
     "s.toml", 2),
    ("screen-spec-syntax", ["screen", "s.toml", "-o", "r.h5"], {"s.toml": "[screen\nname=\n"}, "s.toml", 2),
    ("screen-spec-q-type", ["screen", "s.toml", "-o", "r.h5"], {"s.toml": SPEC_OK.replace("q_min = 0.05",
                                                                                          'q_min = "small"')},
     "q_min", 2),
    ("screen-spec-unknown-key", ["screen", "s.toml", "-o", "r.h5"], {"s.toml": SPEC_OK + "colour = \"red\"\n"},
     "colour", 2),
    ("screen-spec-n-negative", ["screen", "s.toml", "-o", "r.h5"], {"s.toml": SPEC_OK.replace("n = 4", "n = -4")},
     "s.toml", 2),
    ("screen-output-no-folder", ["screen", "s.toml", "-o", "nodir/r.h5"], {"s.toml": SPEC_OK}, "nodir/r.h5", 2),
    ("results-missing", ["results", "nofile.h5"], {}, "nofile.h5", 2),
    ("results-text-file", ["results", "r.h5"], {"r.h5": "not hdf5\n"}, "r.h5", 2),
    ("results-saxs-h5", ["results", "p.h5"], {"p.h5": _saxs_h5}, "p.h5", 2),
    # ---- mass / mass-of
    ("mass-mz-negative", ["mass", "--mz", "-5", "--elements", "Cd,Se"], {}, "--mz", 2),
    ("mass-tolerance-zero", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--tolerance", "0"], {},
     "--tolerance", 2),
    ("mass-element", ["mass", "--mz", "5000", "--elements", "Qq,Se"], {}, "Qq", 2),
    ("mass-ion", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--ion", "bogus"], {}, ("--ion", "bogus"), 2),
    ("mass-charge-absurd", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--charge", "100000"], {}, "--charge", 2),
    ("mass-max-rows", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--max-rows", "-1"], {}, "--max-rows", 2),
    ("mass-fwhm-negative", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--fwhm", "-1"], {}, "--fwhm", 2),
    ("mass-spectrum-binary", ["mass", "--elements", "Cd,Se", "--spectrum", "b.txt"], {"b.txt": BINARY}, "b.txt", 2),
    ("mass-ratio", ["mass", "--mz", "5000", "--elements", "Cd,Se", "--ratio", "Cd:Se=two"], {}, "--ratio", 2),
    ("mass-n-peaks", ["mass", "--elements", "Cd,Se", "--spectrum", "sp.txt", "--n-peaks", "0"],
     {"sp.txt": "100 1\n101 2\n102 1\n"}, "--n-peaks", 2),
    ("mass-of-missing", ["mass-of", "nofile.xyz"], {}, "nofile.xyz", 2),
    ("mass-of-ligand-range", ["mass-of", "s.xyz", "--ligands", "oleate:1-3"], {"s.xyz": PAIR}, "--ligands", 2),
    ("mass-of-ligand-unknown", ["mass-of", "s.xyz", "--ligands", "unobtainate:3"], {"s.xyz": PAIR},
     "unobtainate", 2),
    ("mass-of-ion", ["mass-of", "s.xyz", "--ion", "bogus"], {"s.xyz": PAIR}, ("--ion", "bogus"), 2),
    ("mass-of-charge-absurd", ["mass-of", "s.xyz", "--charge", "100000"], {"s.xyz": PAIR}, "--charge", 2),
    ("mass-of-fwhm-nan", ["mass-of", "s.xyz", "--fwhm", "nan"], {"s.xyz": PAIR}, "--fwhm", 2),
    ("mass-of-plot-extension", ["mass-of", "s.xyz", "--plot", "m.jpgx"], {"s.xyz": PAIR}, "m.jpgx", 2),
]

#: rows whose refusal lives in modules outside the command-line layer, not yet fixed there
XFAIL = {}


def _params():
    out = []
    for case in CASES:
        cid = case[0]
        marks = [pytest.mark.xfail(reason=XFAIL[cid], strict=True)] if cid in XFAIL else []
        out.append(pytest.param(*case[1:], id=cid, marks=marks))
    return out


def _tree(root):
    found = set()
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in dirs + files:
            found.add(os.path.normpath(os.path.join(rel, name)))
    return found


def _inputs(tmp_path, files):
    expected = set()
    for name, content in files.items():
        path = tmp_path / name
        parts = os.path.normpath(name).split(os.sep)
        for i in range(1, len(parts) + 1):
            expected.add(os.path.join(*parts[:i]))
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(str(path))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return expected


def test_table_is_large_and_covers_every_subcommand():
    from clusterstruct.cli.main import build_parser
    import argparse
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    covered = {case[1][0] for case in CASES}
    assert set(sub.choices) <= covered, set(sub.choices) - covered
    build_kinds = {case[1][1] for case in CASES if case[1][0] == "build"}
    assert {"tetrahedron", "sphere", "carve", "composition", "named", "alloy", "catalog"} <= build_kinds
    assert len(CASES) >= 60
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("argv,files,expect,code", _params())
def test_bad_input_is_refused_in_one_line(argv, files, expect, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = _inputs(tmp_path, files)
    usage_error = False
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse: usage lines and one error line
        rc, usage_error = exc.code, True
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == code, f"exit status {rc}: {err}"
    assert "Traceback" not in err
    assert lines, "no message on stderr"
    if not usage_error:
        assert len(lines) == 1, err
        assert lines[0].startswith(f"clusterstruct {argv[0]}") and ": error: " in lines[0], lines[0]
    for needle in (expect,) if isinstance(expect, str) else expect:
        assert needle in lines[-1], lines[-1]
    assert _tree(tmp_path) == before, f"left behind: {sorted(_tree(tmp_path) - before)}"


# ---- the error boundary itself

def _raising(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc,code,text", [
    (RuntimeError("boom\nsecond line"), 1, "internal error: RuntimeError: boom; second line (run with --traceback"),
    (KeyError("guinier"), 1, "internal error: KeyError: 'guinier'"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (PermissionError(13, "Permission denied", "out/x.csv"), 2, "error: out/x.csv: Permission denied"),
])
def test_boundary_turns_exceptions_into_one_line(exc, code, text, tmp_path, monkeypatch, capsys):
    from clusterstruct.cli import info
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(info, "run", _raising(exc))
    (tmp_path / "s.xyz").write_text(PAIR)
    assert main(["info", "s.xyz"]) == code
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("clusterstruct info: ") and text in lines[0], lines


@pytest.mark.parametrize("where", ["before", "after"])
def test_traceback_option_reraises(where, tmp_path, monkeypatch):
    from clusterstruct.cli import info
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(info, "run", _raising(RuntimeError("boom")))
    (tmp_path / "s.xyz").write_text(PAIR)
    argv = ["--traceback", "info", "s.xyz"] if where == "before" else ["info", "s.xyz", "--traceback"]
    with pytest.raises(RuntimeError, match="boom"):
        main(argv)


def test_help_states_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for line in ("0    success", "1    internal error", "2    bad input", "130  interrupted"):
        assert line in out


@pytest.mark.parametrize("argv,plotter", [
    (["saxs", "s.xyz", "--n-q", "5", "-o", "out.csv", "--plot", "p.png"], "plot_saxs"),
    (["pdf", "s.xyz", "--rmax", "6", "-o", "out.csv", "--plot", "p.png"], "plot_pdf"),
    (["compare-abs", STRUCT, "-o", "out.csv", "--plot", "p.png"], "plot_absorption"),
])
def test_no_output_when_the_plot_fails(argv, plotter, tmp_path, monkeypatch, capsys):
    # the data file is written last: a figure that fails (here: a full disk) leaves nothing behind
    import clusterstruct.plotting as plotting
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.xyz").write_text(PAIR)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", "p.png")
    monkeypatch.setattr(plotting, plotter, full_disk)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"clusterstruct {argv[0]}: error: p.png: No space left on device"
    assert sorted(os.listdir(tmp_path)) == ["s.xyz"]
