"""Screening specs (TOML): validation with exact key names, and lazy candidate generation.

A spec has four parts (see ``examples/screen_msc.toml``)::

    [screen]        seed, batch_size
    [[candidates]]  generator blocks: kind = "tetrahedron" | "sphere" | "polyhedron" |
                    "composition" | "named" | "files" with lists or {min, max, step} ranges for their
                    parameters, plus optional rattle = {sigma = 0.05, copies = 2},
                    ligands = {x = "acetate", l = "methylamine", heads = false},
                    alloy = {element = "Te", fraction = [0.25, 0.5], pattern = "random"},
                    label = "family name"
    [compute]       saxs = {q_min, q_max, n_q, q_unit}, optics = {model},
                    relax = {method, passivate, fmax, max_steps, time_limit_s}
    [[targets]]     kind = "saxs" (file, q_unit, weight) | "absorption" (peak_nm, tolerance_nm,
                    material) | "mass" (mass_Da, tolerance_Da, material; optional ion, charge,
                    ligands = {oleate = 34}: envelope-aware, see clusterstruct.screen.work) |
                    "pdf" (file, qmin, qmax, qdamp; optional qbroad, rmin, rmax, refine,
                    tolerance, material, weight; see below)

Candidate families
------------------
``sphere`` blocks take ``stacking`` (cubic fractions 0..1 or A/B/C letter sequences: a
faulted close-packed stacking, see :func:`clusterstruct.structures.carve`) with
``stacking_seed`` (seeds of the random faults, default 0); ``polyhedron`` blocks carve a
zinc-blende ``shape`` ("tetrahedron", "octahedron" or "cube") whose facets lie at
``distance`` [A] from the centre.  ``ligands.heads = true`` keeps only the ligands' donor
atoms (O of carboxylates, N of amines): the Cd-O/N pairs a PDF sees, without the organic
tails.  ``files`` blocks read structures from files (``paths = ["structures/*.xyz", "relaxed.xyz"]``:
patterns globbed relative to the spec file, any format ASE reads, the last frame of a
trajectory): relaxed models or the user's own, one candidate per file (plus rattled copies,
ligands and alloys like any block).  A pattern that matches nothing, a missing file or one
that cannot be read is a one-line error naming the key.  Each candidate belongs to a *family* (recorded with PDF targets, see
:func:`family_of`): the block's ``label`` when given, else the builder, material and
lattice or stacking ("files" for a files block), with "+ligands", "+ligand heads", "alloy"
and "rattled" marks.

PDF targets
-----------
``file`` is a measured G(r) (.gr, read by :func:`clusterstruct.pdf.load_gr`); ``qmin``,
``qmax`` [1/A] and ``qdamp`` [1/A] are needed unless the file header holds them (a value in
the spec wins over the header); ``qbroad`` defaults to the header's or 0; ``rmin``/``rmax``
(fit range, default 1.5 and 20 A); ``refine`` (default ["scale", "zoom", "uiso", "delta2"];
"qdamp" and the model options "surface_uiso" (one Uiso for the under-coordinated surface atoms)
and "strain" (a radial strain of the outer shell's pairs) may be added, one parameter each, see
:mod:`clusterstruct.pdf.fit`); ``tolerance`` (default 0.1) scales the score term (rw_pdf /
tolerance)^2, see :mod:`clusterstruct.screen.work`.

Every error names the key path (``candidates[2].radius.step``) and stops the run before any
work.  Relative file paths are taken relative to the spec file.

Candidate generation is lazy: :func:`iter_tasks` yields small dicts (builder name and
arguments, rattle copy index, id), never Atoms; ids are the enumeration order, so a spec and
its seed fully determine every candidate (rattles use ``default_rng([seed, id])``).
"""

import copy
import hashlib
import itertools
import os
import tomllib

import numpy as np

from ..errors import ClusterstructError

KINDS = {
    "tetrahedron": {"required": {"material", "n"}, "optional": {"a"}},
    "sphere": {"required": {"material", "radius"}, "optional": {"lattice", "centre", "termination", "min_bonds", "stacking",
                                                                 "stacking_seed"}},
    "composition": {"required": {"material", "metal", "chalcogen"}, "optional": {"lattice", "top"}},
    "polyhedron": {"required": {"material", "shape", "distance"},
                   "optional": {"centre", "termination", "min_bonds"}},
    "named": {"required": {"name"}, "optional": set()},
    "files": {"required": {"paths"}, "optional": set()},
}
#: Zinc-blende polyhedra of a ``polyhedron`` block: {hkl} facet family and centrosymmetry.
POLYHEDRA = {"tetrahedron": ((1, 1, 1), False), "octahedron": ((1, 1, 1), True), "cube": ((1, 0, 0), False)}
COMMON = {"kind", "rattle", "ligands", "alloy", "label"}
TOP_KEYS = {"screen", "candidates", "compute", "targets"}
SCREEN_KEYS = {"seed", "batch_size", "name"}
COMPUTE_KEYS = {"saxs", "optics", "relax"}
#: ``[compute] relax``: each candidate relaxed before it is evaluated (GFN-xTB through tblite).
RELAX_KEYS = {"method", "passivate", "fmax", "max_steps", "time_limit_s"}
RELAX_DEFAULTS = {"method": "gfn1", "passivate": "balanced", "fmax": 0.1, "max_steps": 300, "time_limit_s": 600.0}
SAXS_KEYS = {"q_min", "q_max", "n_q", "q_unit"}
TARGET_KEYS = {
    "saxs": {"kind", "file", "q_unit", "weight", "q_min", "q_max", "material"},
    "absorption": {"kind", "peak_nm", "tolerance_nm", "material", "weight"},
    "mass": {"kind", "mass_Da", "tolerance_Da", "material", "weight", "ion", "charge", "ligands"},
    "pdf": {"kind", "file", "qmin", "qmax", "qdamp", "qbroad", "rmin", "rmax", "refine", "tolerance", "material",
            "weight"},
}
#: What a pdf target may refine (psize needs a bulk source and is not offered to candidates).
PDF_REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp", "surface_uiso", "strain")
PDF_REFINE_DEFAULT = ["scale", "zoom", "uiso", "delta2"]


class SpecError(ClusterstructError):
    """An invalid screening spec; the message names the key."""


def _fail(source, key, msg):
    raise SpecError(f"{source}: {key}: {msg}")


#: Most values a {min, max, step} range may expand to (a typo such as step = 0.001 would
#: otherwise build a list of a billion values).
MAX_RANGE_VALUES = 100_000
#: Default limit on the number of candidates of one spec (raise it with --max-candidates).
MAX_CANDIDATES = 10_000_000


def _values(source, key, value, kind=float):
    """A scalar, a list, or a {min, max, step} range -> list of values."""
    if isinstance(value, dict):
        extra = set(value) - {"min", "max", "step"}
        if extra:
            _fail(source, f"{key}.{sorted(extra)[0]}", "unknown key (a range takes min, max, step)")
        for k in ("min", "max", "step"):
            if k not in value:
                _fail(source, f"{key}.{k}", "missing in range")
        lo, hi, st = (float(value[k]) for k in ("min", "max", "step"))
        if st <= 0:
            _fail(source, f"{key}.step", f"must be > 0, got {st:g}")
        if hi < lo:
            _fail(source, f"{key}.max", f"({hi:g}) is below min ({lo:g})")
        n = int(np.floor((hi - lo) / st + 0.5)) + 1
        if n > MAX_RANGE_VALUES:
            _fail(source, key, f"range min={lo:g} max={hi:g} step={st:g} has {n:,} values (limit "
                               f"{MAX_RANGE_VALUES:,}); use a larger step or a narrower range")
        vals = list(np.round(np.arange(lo, hi + st / 2, st), 10))
        return [kind(v) for v in vals]
    vals = value if isinstance(value, list) else [value]
    if not vals:
        _fail(source, key, "empty list")
    try:
        return [kind(v) for v in vals]
    except (TypeError, ValueError):
        _fail(source, key, f"expected {kind.__name__} values, got {value!r}")


def read_spec_text(path):
    """(text, path as str) of a spec file; a missing or non-UTF-8 file is a one-line SpecError."""
    src = os.fspath(path)
    if not os.path.exists(src):
        raise SpecError(f"{src}: no such spec file")
    try:
        with open(src, encoding="utf-8") as fh:
            return fh.read(), src
    except UnicodeDecodeError as exc:
        raise SpecError(f"{src}: not UTF-8 text (byte {exc.start}); TOML specs must be UTF-8") from None


def load_spec(path):
    """Read and validate a spec file; returns a dict with normalised values and ``_source``/``_text``."""
    text, src = read_spec_text(path)
    return spec_from_text(text, source=src, base=os.path.dirname(os.path.abspath(src)))


def spec_from_text(text, *, source="spec", base="."):
    """Parse and validate TOML ``text`` (as :func:`load_spec` does with a file's content)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML ({exc})") from None
    spec = validate(raw, source=source, base=base)
    spec["_text"] = text
    spec["_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    return spec


def validate(raw, *, source="spec", base="."):
    """Validate a parsed spec (dict); see the module docstring for the schema."""
    from ..structures.lattices import CENTRES, MATERIALS
    from ..structures.named import NAMED
    raw = copy.deepcopy(raw)
    for key in raw:
        if key not in TOP_KEYS:
            _fail(source, key, f"unknown key; the spec takes {', '.join(sorted(TOP_KEYS))}")
    screen = raw.get("screen", {})
    for key in screen:
        if key not in SCREEN_KEYS:
            _fail(source, f"screen.{key}", "unknown key")
    seed = screen.get("seed", 0)
    batch = screen.get("batch_size", 20)
    if not isinstance(seed, int) or seed < 0:
        _fail(source, "screen.seed", f"must be an integer >= 0, got {seed!r}")
    if not isinstance(batch, int) or batch < 1:
        _fail(source, "screen.batch_size", f"must be an integer >= 1, got {batch!r}")
    blocks = raw.get("candidates")
    if not blocks:
        _fail(source, "candidates", "at least one [[candidates]] block is needed")
    out_blocks = []
    for i, blk in enumerate(blocks):
        where = f"candidates[{i}]"
        kind = blk.get("kind")
        if kind not in KINDS:
            _fail(source, f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        allowed = KINDS[kind]["required"] | KINDS[kind]["optional"] | COMMON
        for key in blk:
            if key not in allowed:
                _fail(source, f"{where}.{key}", f"unknown key for kind {kind!r}")
        for key in KINDS[kind]["required"]:
            if key not in blk:
                _fail(source, f"{where}.{key}", "missing")
        norm = {"kind": kind, "label": blk.get("label", "")}
        if "material" in blk:
            mats = _values(source, f"{where}.material", blk["material"], str)
            for m in mats:
                if m not in MATERIALS:
                    _fail(source, f"{where}.material", f"unknown material {m!r}; known: {', '.join(MATERIALS)}")
            norm["material"] = mats
        if kind == "tetrahedron":
            ns = _values(source, f"{where}.n", blk["n"], int)
            if any(not 2 <= n <= 15 for n in ns):
                _fail(source, f"{where}.n", "tetrahedron sizes must lie within 2..15")
            norm["n"] = ns
            if "a" in blk:
                norm["a"] = _values(source, f"{where}.a", blk["a"])
        elif kind == "sphere":
            radii = _values(source, f"{where}.radius", blk["radius"])
            if any(r <= 0 for r in radii):
                _fail(source, f"{where}.radius", "radii must be > 0 A")
            norm["radius"] = radii
            norm["lattice"] = _values(source, f"{where}.lattice", blk.get("lattice", "zincblende"), str)
            norm["centre"] = _values(source, f"{where}.centre", blk.get("centre", "metal"), str)
            for c in norm["centre"]:
                if c not in CENTRES:
                    _fail(source, f"{where}.centre", f"unknown centre {c!r}; choose {', '.join(CENTRES)}")
            norm["termination"] = _values(source, f"{where}.termination", blk.get("termination", "as-cut"), str)
            norm["min_bonds"] = _values(source, f"{where}.min_bonds", blk.get("min_bonds", 2), int)
            if "stacking" in blk:
                if "lattice" in blk:
                    _fail(source, f"{where}.lattice", "not used with stacking (a faulted stacking replaces the "
                                                      "lattice); remove one of them")
                norm["lattice"] = [None]
                norm["stacking"] = _stacking(source, f"{where}.stacking", blk["stacking"])
                norm["stacking_seed"] = _values(source, f"{where}.stacking_seed", blk.get("stacking_seed", 0), int)
                if any(sd < 0 for sd in norm["stacking_seed"]):
                    _fail(source, f"{where}.stacking_seed", "seeds must be >= 0")
            elif "stacking_seed" in blk:
                _fail(source, f"{where}.stacking_seed", "needs stacking (cubic fractions or A/B/C letters)")
        elif kind == "polyhedron":
            norm["shape"] = _values(source, f"{where}.shape", blk["shape"], str)
            for sh in norm["shape"]:
                if sh not in POLYHEDRA:
                    _fail(source, f"{where}.shape", f"unknown polyhedron {sh!r}; choose {', '.join(POLYHEDRA)}")
            norm["distance"] = _values(source, f"{where}.distance", blk["distance"])
            if any(not d > 0 for d in norm["distance"]):
                _fail(source, f"{where}.distance", "facet distances must be > 0 A")
            norm["centre"] = _values(source, f"{where}.centre", blk.get("centre", "metal"), str)
            for c in norm["centre"]:
                if c not in CENTRES:
                    _fail(source, f"{where}.centre", f"unknown centre {c!r}; choose {', '.join(CENTRES)}")
            norm["termination"] = _values(source, f"{where}.termination", blk.get("termination", "as-cut"), str)
            norm["min_bonds"] = _values(source, f"{where}.min_bonds", blk.get("min_bonds", 2), int)
        elif kind == "composition":
            norm["metal"] = _values(source, f"{where}.metal", blk["metal"], int)
            norm["chalcogen"] = _values(source, f"{where}.chalcogen", blk["chalcogen"], int)
            if any(v < 1 for v in norm["metal"] + norm["chalcogen"]):
                _fail(source, f"{where}.metal", "atom counts must be >= 1")
            norm["lattice"] = _values(source, f"{where}.lattice", blk.get("lattice", "zincblende"), str)
            top = blk.get("top", 3)
            if not isinstance(top, int) or not 1 <= top <= 50:
                _fail(source, f"{where}.top", f"must be an integer 1..50, got {top!r}")
            norm["top"] = top
        elif kind == "files":
            norm["paths"] = _structure_files(source, f"{where}.paths", blk["paths"], base)
        else:
            names = _values(source, f"{where}.name", blk["name"], str)
            for n in names:
                if n not in NAMED:
                    _fail(source, f"{where}.name", f"unknown candidate {n!r}; known: {', '.join(NAMED)}")
            norm["name"] = names
        for lat in norm.get("lattice", []):
            if lat is not None and lat not in ("zincblende", "wurtzite"):
                _fail(source, f"{where}.lattice", f"unknown lattice {lat!r}")
        norm["rattle"] = _rattle(source, where, blk.get("rattle"))
        norm["ligands"] = _ligands(source, where, blk.get("ligands"))
        norm["alloy"] = _alloy(source, where, blk.get("alloy"))
        out_blocks.append(norm)
    compute = raw.get("compute", {})
    for key in compute:
        if key not in COMPUTE_KEYS:
            _fail(source, f"compute.{key}", f"unknown key; choose {', '.join(sorted(COMPUTE_KEYS))}")
    saxs = dict({"q_min": 0.02, "q_max": 0.6, "n_q": 200, "q_unit": "A-1"}, **compute.get("saxs", {}))
    for key in saxs:
        if key not in SAXS_KEYS:
            _fail(source, f"compute.saxs.{key}", "unknown key")
    if saxs["q_unit"] not in ("A-1", "nm-1"):
        _fail(source, "compute.saxs.q_unit", f"must be A-1 or nm-1, got {saxs['q_unit']!r}")
    from ..units import Q_UNITS
    f = Q_UNITS[saxs["q_unit"]]
    for key in ("q_min", "q_max"):
        if isinstance(saxs[key], bool) or not isinstance(saxs[key], (int, float)):
            _fail(source, f"compute.saxs.{key}", f"must be a number, got {saxs[key]!r}")
    if not 0 < saxs["q_min"] < saxs["q_max"]:
        _fail(source, "compute.saxs.q_max", "need 0 < q_min < q_max")
    if not isinstance(saxs["n_q"], int) or saxs["n_q"] < 2:
        _fail(source, "compute.saxs.n_q", "must be an integer >= 2")
    q = np.geomspace(saxs["q_min"] * f, saxs["q_max"] * f, saxs["n_q"])
    optics = compute.get("optics", {})
    if set(optics) - {"model"}:
        _fail(source, f"compute.optics.{sorted(set(optics) - {'model'})[0]}", "unknown key")
    from ..optics.models import MODELS
    if "model" in optics and optics["model"] not in MODELS:
        _fail(source, "compute.optics.model", f"unknown optics model {optics['model']!r}; choose {', '.join(MODELS)}")
    relax = _relax_options(source, compute.get("relax"))
    targets = []
    for i, t in enumerate(raw.get("targets", [])):
        where = f"targets[{i}]"
        kind = t.get("kind")
        if kind not in TARGET_KEYS:
            _fail(source, f"{where}.kind", f"must be one of {', '.join(TARGET_KEYS)}, got {kind!r}")
        for key in t:
            if key not in TARGET_KEYS[kind]:
                _fail(source, f"{where}.{key}", f"unknown key for a {kind} target")
        tt = {"kind": kind, "weight": _positive(source, f"{where}.weight", t.get("weight", 1.0)),
              "material": t.get("material")}
        if kind == "saxs":
            if "file" not in t:
                _fail(source, f"{where}.file", "missing")
            path = t["file"] if os.path.isabs(t["file"]) else os.path.join(base, t["file"])
            if not os.path.exists(path):
                _fail(source, f"{where}.file", f"no such file: {path}")
            tt.update({"file": path, "q_unit": t.get("q_unit"), "q_min": t.get("q_min"), "q_max": t.get("q_max")})
        elif kind == "absorption":
            for key in ("peak_nm",):
                if key not in t:
                    _fail(source, f"{where}.{key}", "missing")
            peak = _positive(source, f"{where}.peak_nm", t["peak_nm"])
            if not 200 <= peak <= 1500:
                _fail(source, f"{where}.peak_nm", "must lie within 200..1500 nm")
            tt.update({"peak_nm": peak, "tolerance_nm": _positive(source, f"{where}.tolerance_nm",
                                                                  t.get("tolerance_nm", 15.0))})
        elif kind == "pdf":
            tt.update(_pdf_target(source, where, t, base))
        else:
            if "mass_Da" not in t:
                _fail(source, f"{where}.mass_Da", "missing")
            tt.update({"mass_Da": _positive(source, f"{where}.mass_Da", t["mass_Da"]),
                       "tolerance_Da": _positive(source, f"{where}.tolerance_Da", t.get("tolerance_Da", 10.0))})
            if {"ion", "charge", "ligands"} & set(t):
                tt["envelope"] = _mass_envelope(source, where, t)
        if tt["material"] is not None and tt["material"] not in MATERIALS:
            _fail(source, f"{where}.material", f"unknown material {tt['material']!r}")
        targets.append(tt)
    return {"seed": seed, "batch_size": batch, "name": screen.get("name", "screen"), "blocks": out_blocks,
            "q": q, "saxs": saxs, "optics_model": optics.get("model"), "targets": targets,
            "relax": relax, "_source": source}


def _relax_options(source, raw):
    """Normalised ``[compute] relax`` table, or None when the spec has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        _fail(source, "compute.relax", "must be a table, e.g. relax = {method = \"gfn1\", time_limit_s = 600}")
    for key in raw:
        if key not in RELAX_KEYS:
            _fail(source, f"compute.relax.{key}", f"unknown key; choose {', '.join(sorted(RELAX_KEYS))}")
    out = dict(RELAX_DEFAULTS, **raw)
    from ..structures.relax import CALCULATORS, PASSIVATION_SCHEMES
    if out["method"] not in CALCULATORS:
        _fail(source, "compute.relax.method", f"unknown method {out['method']!r}; choose {', '.join(CALCULATORS)}")
    if out["passivate"] == "none":
        out["passivate"] = None
    elif out["passivate"] not in PASSIVATION_SCHEMES:
        _fail(source, "compute.relax.passivate",
              f"unknown scheme {out['passivate']!r}; choose {', '.join(PASSIVATION_SCHEMES)} or none")
    out["fmax"] = _positive(source, "compute.relax.fmax", out["fmax"])
    out["time_limit_s"] = _positive(source, "compute.relax.time_limit_s", out["time_limit_s"])
    if isinstance(out["max_steps"], bool) or not isinstance(out["max_steps"], int) or out["max_steps"] < 1:
        _fail(source, "compute.relax.max_steps", f"must be an integer >= 1, got {out['max_steps']!r}")
    return out


def _mass_envelope(source, where, t):
    """Ion forms (ion x charge) and ligand counts of an envelope-aware mass target."""
    from ..mass.envelopes import check_ion
    from ..mass.search import LIGANDS
    ions = t.get("ion", "M")
    ions = ions if isinstance(ions, list) else [ions]
    charges = t.get("charge", 1)
    charges = charges if isinstance(charges, list) else [charges]
    forms = []
    for ion in ions:
        for z in charges:
            if isinstance(z, bool) or not isinstance(z, int):
                _fail(source, f"{where}.charge", f"must be an integer or a list of integers, got {z!r}")
            try:
                forms.append(list(check_ion(ion, z)))
            except ClusterstructError as exc:
                _fail(source, f"{where}.ion", str(exc))
    ligs = t.get("ligands", {})
    if not isinstance(ligs, dict):
        _fail(source, f"{where}.ligands", "must be a table of name = count, e.g. {oleate = 34}")
    for name, n in ligs.items():
        if name not in LIGANDS:
            _fail(source, f"{where}.ligands.{name}", f"unknown ligand or adduct; choose {', '.join(LIGANDS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            _fail(source, f"{where}.ligands.{name}", f"must be an integer >= 0, got {n!r}")
    return {"forms": forms, "ligands": dict(ligs)}


def _stacking(source, key, value):
    """Stacking values of a sphere block: cubic fractions 0..1 or strings of A/B/C letters."""
    vals = value if isinstance(value, list) else [value]
    if not vals:
        _fail(source, key, "empty list")
    out = []
    for v in vals:
        if isinstance(v, str):
            if len(v) < 2 or set(v) - set("ABC") or any(a == b for a, b in zip(v, v[1:])):
                _fail(source, key, f"{v!r} is not a close-packed sequence (letters A, B, C, no letter twice in a "
                                   "row, at least two)")
            out.append(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            _fail(source, key, f"expected cubic fractions within 0..1 or A/B/C letters, got {v!r}")
        else:
            out.append(float(v))
    return out


def _number(source, key, value, *, minimum=None, above=None):
    """A finite number from the spec (>= minimum or > above), or a one-line error naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        _fail(source, key, f"must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        _fail(source, key, f"must be >= {minimum:g}, got {value!r}")
    if above is not None and value <= above:
        _fail(source, key, f"must be > {above:g}, got {value!r}")
    return float(value)


def _pdf_target(source, where, t, base):
    """Normalised settings of a pdf target (file read once here, so a bad file stops the run early)."""
    from ..pdf.data import load_gr
    if "file" not in t:
        _fail(source, f"{where}.file", "missing")
    if not isinstance(t["file"], str):
        _fail(source, f"{where}.file", f"must be a file name, got {t['file']!r}")
    path = t["file"] if os.path.isabs(t["file"]) else os.path.join(base, t["file"])
    if not os.path.exists(path):
        _fail(source, f"{where}.file", f"no such file: {path}")
    try:
        data = load_gr(path)
    except ClusterstructError as exc:
        _fail(source, f"{where}.file", str(exc))
    out = {"file": path}
    for key, lo, gt, default in (("qmin", 0.0, None, None), ("qmax", None, 0.0, None), ("qdamp", 0.0, None, None),
                                 ("qbroad", 0.0, None, 0.0)):
        if key in t:
            out[key] = _number(source, f"{where}.{key}", t[key], minimum=lo, above=gt)
        elif data.meta.get(key) is not None:
            out[key] = _number(source, f"{where}.{key} (from the header of {path})", data.meta[key], minimum=lo,
                               above=gt)
        elif default is not None:
            out[key] = default
        else:
            _fail(source, f"{where}.{key}", f"missing (not in the header of {path} either)")
    if out["qmax"] <= out["qmin"]:
        _fail(source, f"{where}.qmax", f"({out['qmax']:g}) must exceed qmin ({out['qmin']:g})")
    if out["qmax"] > 75:
        _fail(source, f"{where}.qmax", f"{out['qmax']:g} 1/A is beyond the form-factor table (75 1/A)")
    if out["qdamp"] > 0.3:
        _fail(source, f"{where}.qdamp", f"{out['qdamp']:g} 1/A is beyond the fit's range for it (0..0.3)")
    out["rmin"] = _number(source, f"{where}.rmin", t.get("rmin", 1.5), minimum=0.0)
    out["rmax"] = _number(source, f"{where}.rmax", t.get("rmax", 20.0), above=0.0)
    if out["rmax"] <= out["rmin"]:
        _fail(source, f"{where}.rmax", f"({out['rmax']:g}) must exceed rmin ({out['rmin']:g})")
    n_fit = int(((data.r >= out["rmin"]) & (data.r <= out["rmax"])).sum())
    if n_fit < 10:
        _fail(source, f"{where}.rmax", f"the fit range {out['rmin']:g}-{out['rmax']:g} A holds {n_fit} points of "
                                       f"{path} (r {data.r[0]:g}-{data.r[-1]:g} A); at least 10 are needed")
    refine = t.get("refine", PDF_REFINE_DEFAULT)
    refine = refine if isinstance(refine, list) else [refine]
    if not refine or any(not isinstance(p, str) or p not in PDF_REFINABLE for p in refine):
        _fail(source, f"{where}.refine", f"expected a non-empty list from {', '.join(PDF_REFINABLE)}, got "
                                         f"{t.get('refine')!r}")
    if len(set(refine)) != len(refine):
        _fail(source, f"{where}.refine", f"names a parameter twice: {refine!r}")
    out["refine"] = list(refine)
    out["tolerance"] = _positive(source, f"{where}.tolerance", t.get("tolerance", 0.1))
    return out


def _structure_files(source, key, value, base):
    """Absolute paths of a files block: each pattern globbed relative to the spec, every file read once.

    A pattern without wildcards must name an existing file; one with wildcards must match at
    least one.  Matches are sorted within each pattern and a file named twice is kept once (the
    enumeration order, hence the ids, stays fixed).  Each file is read here with
    :func:`clusterstruct.io.read_structure` (last frame), so an unreadable one stops the run
    before any work.
    """
    import glob
    from ..io import read_structure
    pats = value if isinstance(value, list) else [value]
    if not pats or any(not isinstance(p, str) or not p.strip() for p in pats):
        _fail(source, key, f"expected a file pattern or a non-empty list of them, got {value!r}")
    out = []
    for pat in pats:
        full = pat if os.path.isabs(pat) else os.path.join(base, pat)
        if glob.has_magic(full):
            found = sorted(p for p in glob.glob(full) if os.path.isfile(p))
            if not found:
                _fail(source, key, f"{pat!r} matches no file (looked in {os.path.dirname(full) or '.'})")
        elif not os.path.isfile(full):
            _fail(source, key, f"no such file: {full}")
        else:
            found = [full]
        for path in found:
            path = os.path.abspath(path)
            if path in out:
                continue
            try:
                read_structure(path)
            except ClusterstructError as exc:
                _fail(source, key, f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else exc}")
            out.append(path)
    return out


def _positive(source, key, value):
    """A finite number > 0 from the spec, or a one-line error naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        _fail(source, key, f"must be a number > 0, got {value!r}")
    return float(value)


def _rattle(source, where, r):
    if r is None:
        return {"sigma": 0.0, "copies": 0}
    if set(r) - {"sigma", "copies"}:
        _fail(source, f"{where}.rattle.{sorted(set(r) - {'sigma', 'copies'})[0]}", "unknown key")
    sigma, copies = float(r.get("sigma", 0.05)), int(r.get("copies", 1))
    if sigma < 0 or copies < 0:
        _fail(source, f"{where}.rattle", "sigma and copies must be >= 0")
    return {"sigma": sigma, "copies": copies}


def _ligands(source, where, lig):
    if lig is None:
        return None
    if set(lig) - {"x", "l", "heads"}:
        _fail(source, f"{where}.ligands.{sorted(set(lig) - {'x', 'l', 'heads'})[0]}", "unknown key")
    out = {"x": lig.get("x", "acetate"), "l": lig.get("l", "methylamine")}
    if "heads" in lig:
        if not isinstance(lig["heads"], bool):
            _fail(source, f"{where}.ligands.heads", f"must be true or false, got {lig['heads']!r}")
        if lig["heads"]:
            out["heads"] = True
    return out


def _alloy(source, where, al):
    if al is None:
        return None
    if set(al) - {"element", "fraction", "pattern"}:
        _fail(source, f"{where}.alloy.{sorted(set(al) - {'element', 'fraction', 'pattern'})[0]}", "unknown key")
    fr = _values(source, f"{where}.alloy.fraction", al.get("fraction", 0.5))
    if any(not 0 <= f <= 1 for f in fr):
        _fail(source, f"{where}.alloy.fraction", "fractions must lie within 0..1")
    return {"element": al.get("element", "Te"), "fraction": fr, "pattern": al.get("pattern", "random")}


def family_of(spec, task):
    """The family of a candidate: its block's ``label``, else builder, material and lattice/stacking.

    Marks are added for decorations: "+ligands" (or "+ligand heads"), "alloy <element>" and
    "rattled sigma=<s>" for rattled copies (copy > 0), so an unrattled model and its rattled
    ensemble are counted apart.
    """
    blk = spec["blocks"][task["block"]]
    if blk.get("label"):
        name = blk["label"]
    else:
        b = task["builder"]
        mat = task.get("material", "")
        if b == "tetrahedron":
            name = f"tetrahedron {mat}"
        elif b == "sphere":
            if task.get("stacking") is not None:
                st = task["stacking"]
                name = f"sphere {mat} stacked " + (st if isinstance(st, str) else f"cubic {st:g}")
            else:
                name = f"sphere {mat} {task['lattice']}"
        elif b == "polyhedron":
            name = f"{task['shape']} {mat} zincblende"
        elif b == "composition":
            name = f"composition {mat} {task['lattice']}"
        elif b == "files":
            name = "files"
        else:
            name = f"named {task['name']}"
    if blk["ligands"]:
        name += " +ligand heads" if blk["ligands"].get("heads") else " +ligands"
    if task.get("alloy_fraction") is not None:
        name += f" alloy {blk['alloy']['element']}"
    if task.get("copy", 0) > 0 and blk["rattle"]["sigma"] > 0:
        name += f" rattled sigma={blk['rattle']['sigma']:g}"
    return name


def _block_variants(blk):
    """Builder-argument dicts of one block, in a fixed order."""
    kind = blk["kind"]
    if kind == "tetrahedron":
        for m, n in itertools.product(blk["material"], blk["n"]):
            for a in blk.get("a", [None]):
                yield {"builder": "tetrahedron", "material": m, "n": n, "a": a}
    elif kind == "sphere":
        for m, lat, r, c, t, mb in itertools.product(blk["material"], blk["lattice"], blk["radius"],
                                                     blk["centre"], blk["termination"], blk["min_bonds"]):
            base = {"builder": "sphere", "material": m, "lattice": lat, "radius": r, "centre": c,
                    "termination": t, "min_bonds": mb}
            if "stacking" not in blk:
                yield base
                continue
            for st in blk["stacking"]:
                # letter sequences are not random: one seed
                for sd in (blk["stacking_seed"] if not isinstance(st, str) else [0]):
                    yield dict(base, stacking=st, stacking_seed=sd)
    elif kind == "polyhedron":
        for m, sh, d, c, t, mb in itertools.product(blk["material"], blk["shape"], blk["distance"], blk["centre"],
                                                    blk["termination"], blk["min_bonds"]):
            yield {"builder": "polyhedron", "material": m, "shape": sh, "distance": d, "centre": c,
                   "termination": t, "min_bonds": mb}
    elif kind == "files":
        for path in blk["paths"]:
            yield {"builder": "files", "path": path}
    elif kind == "composition":
        for m, nm, nx, lat in itertools.product(blk["material"], blk["metal"], blk["chalcogen"], blk["lattice"]):
            for rank in range(1, blk["top"] + 1):
                yield {"builder": "composition", "material": m, "metal": nm, "chalcogen": nx,
                       "lattice": lat, "rank": rank, "top": blk["top"]}
    else:
        for n in blk["name"]:
            yield {"builder": "named", "name": n}


def iter_tasks(spec):
    """Lazily yield task dicts with consecutive ids (the enumeration order)."""
    tid = 0
    for b, blk in enumerate(spec["blocks"]):
        fractions = blk["alloy"]["fraction"] if blk["alloy"] else [None]
        for args in _block_variants(blk):
            for frac in fractions:
                for copy_index in range(blk["rattle"]["copies"] + 1):
                    yield {"id": tid, "block": b, **args, "alloy_fraction": frac, "copy": copy_index}
                    tid += 1


def iter_batches(spec):
    """Lazily yield (batch_index, [tasks]) with ``batch_size`` tasks each."""
    batch, k = [], 0
    for task in iter_tasks(spec):
        batch.append(task)
        if len(batch) == spec["batch_size"]:
            yield k, batch
            batch, k = [], k + 1
    if batch:
        yield k, batch


def _n_variants(blk):
    """Number of builder-argument dicts :func:`_block_variants` yields for ``blk`` (no enumeration)."""
    kind = blk["kind"]
    if kind == "tetrahedron":
        return len(blk["material"]) * len(blk["n"]) * len(blk.get("a", [None]))
    if kind == "sphere":
        n = int(np.prod([len(blk[k]) for k in ("material", "lattice", "radius", "centre", "termination",
                                               "min_bonds")], dtype=object))
        if "stacking" in blk:
            n *= sum(1 if isinstance(st, str) else len(blk["stacking_seed"]) for st in blk["stacking"])
        return n
    if kind == "polyhedron":
        return int(np.prod([len(blk[k]) for k in ("material", "shape", "distance", "centre", "termination",
                                                  "min_bonds")], dtype=object))
    if kind == "files":
        return len(blk["paths"])
    if kind == "composition":
        return int(np.prod([len(blk[k]) for k in ("material", "metal", "chalcogen", "lattice")],
                           dtype=object)) * blk["top"]
    return len(blk["name"])


def count_tasks(spec):
    """Number of candidates the spec describes, computed without enumerating them."""
    total = 0
    for blk in spec["blocks"]:
        fractions = len(blk["alloy"]["fraction"]) if blk["alloy"] else 1
        total += _n_variants(blk) * fractions * (blk["rattle"]["copies"] + 1)
    return total


def check_size(spec, max_candidates=None):
    """Refuse a spec with more candidates than ``max_candidates`` (default :data:`MAX_CANDIDATES`)."""
    limit = MAX_CANDIDATES if max_candidates is None else int(max_candidates)
    n = count_tasks(spec)
    if n > limit:
        raise SpecError(f"{spec.get('_source', 'spec')}: describes {n:,} candidates, more than the limit "
                        f"{limit:,}; narrow the ranges or copies, or raise it with --max-candidates")
    return n
