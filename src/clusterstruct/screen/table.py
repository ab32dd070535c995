"""Tables of a screening results file: columns, per-group ranking, text, CSV and JSON.

One column set serves every output (``results`` in the terminal, ``--csv``, ``--json`` and
``read_results(..., as_frame=True)``); it is derived from what the file holds, so fields
and target kinds added later appear without changes here.

Columns (in this order)
-----------------------
==========================  =========================================================
``id``, ``status``          candidate id; "ok" or "failed"
``score``                   weighted mean of the applicable targets' terms (lower is better)
one column per target       that target's score term, named ``<kind> <label>`` from the
                            stored spec targets (:func:`target_labels`: ``abs 311nm``,
                            ``mass 3350``, ``saxs <file stem>``, ``pdf <file stem>``, or
                            ``<kind>[k]``); NaN where it does not apply or was undefined
named quantities            chi2_saxs, dpeak_nm (predicted - target peak), dmass_Da (mass -
                            target), peak_nm, peak_unc_nm, mass_Da, rg_number_A,
                            rg_electron_A, dmax_A, n_atoms, then every other numeric
                            per-record field of the file (rw_pdf, pdf_scale, ...) by name
text                        formula, material (core material from the formula),
                            group (the material the targets were chosen by, as stored),
                            duplicate_of (-1: unique), description, score_note, error,
                            geometry_key
``<target> state``          per target: "not applicable", "computed" or "undefined"
==========================  =========================================================

Array fields (the SAXS profile, positions, atomic numbers) are not columns of the CSV or
JSON exports; ``read_results(path, as_frame=True, arrays=True)`` adds them as object
columns, and :func:`clusterstruct.screen.structure_of` gives a record's structure.

Ranking: unique (``duplicate_of == -1``), successful records, by score ascending
(undefined scores last, ties by id), separately within each group.  Grouping
(``group_by``): ``"material"`` (the core material: candidates of different materials meet
different targets and are never ranked together), ``"target"`` (the set of targets that
apply: candidates scored on the same targets share a ranking) or ``"none"`` (one ranking).
"""

import csv
import io
import json
import os
import re
import shutil
import sys
import textwrap

import numpy as np

from ..errors import ClusterstructError

#: short names of target kinds in column names
KIND_ABBREV = {"absorption": "abs"}
#: the numeric per-record fields in column order; others found in a file follow them
NAMED = ["chi2_saxs", "dpeak_nm", "dmass_Da", "rw_pdf", "peak_nm", "peak_unc_nm", "mass_Da", "rg_number_A",
         "rg_electron_A", "dmax_A", "n_atoms"]
TEXT = ["formula", "material", "group", "duplicate_of", "description", "score_note", "error", "geometry_key"]
#: fields of read_results that are not per-record scalars
NOT_COLUMNS = {"id", "status", "score", "terms", "term_state", "profiles", "q", "attrs"}
STATES = np.array(["not applicable", "computed", "undefined"], dtype=object)
GROUP_BY = ("material", "target", "none")


def targets_of(attrs):
    """The spec targets stored in a results file's attributes (list of dicts)."""
    text = attrs.get("targets")
    if text is not None:
        try:
            found = json.loads(text.decode() if isinstance(text, bytes) else str(text))
            if isinstance(found, list):
                return found
        except ValueError:
            pass
    spec = attrs.get("spec")
    if spec is not None:  # files written before the targets attribute: the spec's own text
        import tomllib
        try:
            found = tomllib.loads(spec.decode() if isinstance(spec, bytes) else str(spec)).get("targets", [])
            return found if isinstance(found, list) else []
        except tomllib.TOMLDecodeError:
            return []
    return []


def target_label(target, k):
    """Short column name of target ``k``: kind (abbreviated) and what it is aimed at."""
    kind = str(target.get("kind") or "target")
    short = KIND_ABBREV.get(kind, kind)
    if target.get("label"):
        detail = str(target["label"])
    elif isinstance(target.get("peak_nm"), (int, float)):
        detail = f"{target['peak_nm']:g}nm"
    elif isinstance(target.get("mass_Da"), (int, float)):
        detail = f"{target['mass_Da']:g}"
    elif target.get("file"):
        detail = os.path.splitext(os.path.basename(str(target["file"])))[0]
    else:
        detail = ""
    detail = " ".join(detail.split())
    return f"{short} {detail}" if detail else f"{short}[{k}]"


def target_labels(targets, n=None):
    """Unique column names of the targets (``n``: number of term columns in the file).

    Labels that two targets share get the target index appended (``mass 3350 [0]``);
    term columns without a stored target are named ``target[k]``.
    """
    n = len(targets) if n is None else n
    labels = [target_label(t, k) if k < len(targets) else f"target[{k}]" for k, t in
              enumerate(list(targets[:n]) + [{}] * max(0, n - len(targets)))]
    plain = list(labels)
    for k, lab in enumerate(plain):
        if plain.count(lab) > 1 or lab in NAMED or lab in TEXT or lab in NOT_COLUMNS:
            labels[k] = f"{lab} [{k}]"
    return labels


_ELEMENT = re.compile(r"[A-Z][a-z]?")


def _materials(formulas):
    """Core material of each formula ("" when none: failed record or not a II-VI core)."""
    from ..units import material_of
    cache = {}
    out = np.empty(len(formulas), dtype=object)
    for i, f in enumerate(formulas):
        if f not in cache:
            try:
                cache[f] = material_of(_ELEMENT.findall(f))[0] if f else ""
            except ClusterstructError:
                cache[f] = ""
        out[i] = cache[f]
    return out


def _term_arrays(res):
    n = len(res["id"])
    terms, state = res.get("terms"), res.get("term_state")
    if terms is None or np.ndim(terms) != 2 or len(terms) != n:
        return np.zeros((n, 0)), np.zeros((n, 0), np.int8)
    if state is None or np.shape(state) != np.shape(terms):
        state = np.where(np.isfinite(terms), 1, 0).astype(np.int8)
    return np.asarray(terms, np.float64), np.asarray(state)


def record_columns(res):
    """Ordered dict of 1-D columns (one entry per record) from a :func:`read_results` dict."""
    n = len(res["id"])
    terms, state = _term_arrays(res)
    labels = target_labels(targets_of(res.get("attrs", {})), terms.shape[1])
    cols = {"id": np.asarray(res["id"], np.int64),
            "status": np.where(np.asarray(res["status"]) == 1, "ok", "failed").astype(object),
            "score": np.asarray(res["score"], np.float64)}
    for k, lab in enumerate(labels):
        cols[lab] = terms[:, k]
    extra = sorted(k for k, v in res.items() if k not in NOT_COLUMNS and k not in NAMED and k not in TEXT
                   and isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == n)
    for k in NAMED + extra:
        if k in res:
            v = np.asarray(res[k])
            cols[k] = v.astype(np.int64) if v.dtype.kind in "iub" else v
    cols["formula"] = np.asarray(res["formula"], dtype=object)
    cols["material"] = _materials(cols["formula"])
    for k in TEXT[2:]:
        if k in res:
            cols[k] = np.asarray(res[k], np.int64) if k == "duplicate_of" else np.asarray(res[k], dtype=object)
    for k, lab in enumerate(labels):
        cols[f"{lab} state"] = STATES[np.clip(state[:, k], 0, 2)]
    return cols, labels, state


class Group:
    """One ranking: its key, the targets that apply in it, and its ranked record rows."""

    def __init__(self, key, title, targets, order, rows):
        self.key, self.title, self.targets = key, title, targets
        self.order = order  # ranked record rows, best first (all of them)
        self.rows = rows    # every record row of the group (ranked or not)

    def top(self, top):
        return self.order[:top] if top else self.order


def rank_groups(cols, state, labels, group_by="material"):
    """Groups of records, each ranked separately (see the module docstring)."""
    if group_by not in GROUP_BY:
        raise ClusterstructError(f"--group-by: expected one of {', '.join(GROUP_BY)}, got {group_by!r}")
    n = len(cols["id"])
    applies = state != 0
    if group_by == "material":
        keys = [m or "unknown material" for m in cols["material"]]
    elif group_by == "target":
        keys = [tuple(np.flatnonzero(applies[i]).tolist()) for i in range(n)]
    else:
        keys = ["all"] * n
    ok = (cols["status"] == "ok") & (cols["duplicate_of"] == -1)
    failed = cols["status"] != "ok"
    by_key = {}
    for i, key in enumerate(keys):
        if not failed[i]:  # a failed record has no material and no targets: it is in no ranking
            by_key.setdefault(key, []).append(i)
    groups = []
    for key in sorted(by_key, key=lambda k: (len(k), k) if isinstance(k, tuple) else (0, k)):
        rows = np.array(by_key[key], np.int64)
        used = np.flatnonzero(applies[rows].any(axis=0)).tolist() if len(labels) else []
        names = [labels[k] for k in used]
        if group_by == "target":
            mats = sorted({m for m in cols["material"][rows] if m})
            title = (f"targets: {', '.join(names)}" if names else "no target applies") + \
                f" ({', '.join(mats) or 'unknown material'})"
        else:
            title = str(key)
        ranked = rows[ok[rows]]
        score = cols["score"][ranked]
        order = ranked[np.lexsort((cols["id"][ranked], np.where(np.isfinite(score), score, np.inf)))]
        groups.append(Group(key if not isinstance(key, tuple) else "targets: " + (", ".join(names) or "none"),
                            title, used, order, rows))
    return groups


def _target_sets(state, rows):
    return {tuple(np.flatnonzero(state[i] != 0).tolist()) for i in rows}


# ---------------------------------------------------------------------------------------
# text table


def _num(v, fmt):
    return format(v, fmt) if v == v else "-"


def _cell_columns(cols, state, labels, group, rows):
    """(header, align, [cell per row]) of the group's table (description handled apart)."""
    out = [("rank", ">", [str(r) for r in range(1, len(rows) + 1)]),
           ("id", ">", [str(cols["id"][i]) for i in rows]),
           ("score", ">", [_num(cols["score"][i], ".4g") for i in rows]),
           ("formula", "<", [str(cols["formula"][i]) for i in rows])]
    for k in group.targets:
        cells = []
        for i in rows:
            st = state[i, k]
            cells.append("n/a" if st == 0 else "undef" if st == 2 else _num(cols[labels[k]][i], ".4g"))
        out.append((labels[k], ">", cells))

    def present(name):
        return name in cols and np.isfinite(np.asarray(cols[name][rows], float)).any()

    for name, fmt in (("chi2_saxs", ".4g"), ("rw_pdf", ".4f"), ("dpeak_nm", "+.1f"), ("dmass_Da", "+.1f")):
        if present(name):
            out.append((name, ">", [_num(cols[name][i], fmt) for i in rows]))
    if present("peak_nm"):
        unc = cols.get("peak_unc_nm")
        out.append(("peak_nm", ">", [_num(cols["peak_nm"][i], ".1f") +
                                     (f"±{unc[i]:.1f}" if unc is not None and unc[i] == unc[i] else "")
                                     for i in rows]))
    out.append(("mass_Da", ">", [_num(cols["mass_Da"][i], ".1f") for i in rows]))
    out.append(("Rg_A", ">", [_num(cols["rg_number_A"][i], ".2f") for i in rows]))
    return out


def terminal_width():
    """Columns of the terminal (``COLUMNS`` when set; 120 when not a terminal)."""
    return max(40, shutil.get_terminal_size((120, 24)).columns)


def format_table(cols, state, labels, groups, *, top=20, width=None, group_by="material"):
    """The ranking as text: a heading per group, per-target columns, descriptions wrapped.

    Descriptions and notes are wrapped at word boundaries to the width left of the terminal
    (``width``), never cut; a description token longer than the line is kept whole.
    """
    width = width or terminal_width()
    lines = []
    if group_by == "none":
        sets = set()
        for g in groups:
            sets |= _target_sets(state, g.order)
        if len(sets) > 1:
            lines.append("NOTE: these candidates met different targets, so their scores are not comparable; "
                         "rank them with --group-by material or --group-by target")
    for g in groups:
        rows = g.top(top)
        shown = f"top {len(rows)} of {len(g.order)} ranked" if len(rows) < len(g.order) else \
            f"{len(g.order)} ranked"
        extra = len(g.rows) - len(g.order)
        lines.append("")
        lines.append(f"== {g.title} ==  {shown}" + (f", {extra} duplicate{'s' if extra > 1 else ''} not ranked" if extra else "") +
                     ("" if group_by == "target" else
                      f"; targets: {', '.join(labels[k] for k in g.targets) or 'none apply'}"))
        if not len(rows):
            continue
        table = _cell_columns(cols, state, labels, g, rows)
        widths = [max(len(h), *(len(c) for c in cells)) for h, _, cells in table]
        prefix_w = sum(widths) + 2 * len(widths)
        desc_w = width - prefix_w
        below = desc_w < 30  # too narrow: descriptions go on their own lines under the row
        if below:
            desc_w = max(30, width - 6)
        head = "  ".join(f"{h:{a}{w}}" for (h, a, _), w in zip(table, widths))
        lines.append(head + ("" if below else "  description [note]"))
        for j, i in enumerate(rows):
            cells = "  ".join(f"{c[j]:{a}{w}}" for (_, a, c), w in zip(table, widths))
            text = str(cols["description"][i])
            if cols["score_note"][i]:
                text += f" [{cols['score_note'][i]}]"
            wrapped = textwrap.wrap(text, desc_w, break_long_words=False, break_on_hyphens=False) or [""]
            if below:
                lines.append(cells)
                lines.extend(" " * 6 + w for w in wrapped)
            else:
                lines.append(cells + "  " + wrapped[0])
                lines.extend(" " * (prefix_w) + w for w in wrapped[1:])
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# isomer groups

#: Two isomers are told apart by a target when their score terms differ by more than this
#: (a term is a squared deviation in units of the target's tolerance or sigma, so 1 is
#: one tolerance / one sigma).
ISOMER_TERM_SEPARATION = 1.0

#: ... and by an observable when it differs by more than this between them.
ISOMER_OBSERVABLES = (("peak_nm", "nm", 0.05), ("rg_number_A", "A", 0.005), ("dmax_A", "A", 0.005),
                      ("chi2_saxs", "", 1e-9), ("rw_pdf", "", 1e-6))

_COPY = re.compile(r"(?:^|\s)copy=\d+(?=\s|$)")


def structure_key(description):
    """A record's structure without its rattled-copy number (copies of one structure share it)."""
    return _COPY.sub("", str(description)).strip()


def isomer_groups(cols, state, labels):
    """Compositions screened as two or more different structures (rattled copies excluded).

    A structure is a record description without its ``copy=N`` part; an isomer group is a
    formula held by two or more such structures.  Each structure is represented by its
    best-scoring record.  Returns a list (formula order) of dicts: ``formula``,
    ``structures`` (best first: ``id``, ``score``, ``description``, ``n_records`` and the
    values of :data:`ISOMER_OBSERVABLES` and of each applicable target's term),
    ``told_apart_by`` and ``not_told_apart_by`` (the targets and observables whose values
    differ, or not, between the two best structures; a target separates them when its
    terms differ by more than :data:`ISOMER_TERM_SEPARATION`), and ``told_apart_by`` split
    into ``targets_apart`` and ``observables_apart`` (what a measurement not yet in the
    spec could use).
    """
    ok = np.flatnonzero((cols["status"] == "ok") & (cols["duplicate_of"] == -1))
    by_formula = {}
    for i in ok:
        by_formula.setdefault(str(cols["formula"][i]), {}).setdefault(
            structure_key(cols["description"][i]), []).append(i)
    out = []
    for form in sorted(by_formula):
        structs = by_formula[form]
        if len(structs) < 2:
            continue
        reps = []
        for key, rows in structs.items():
            rows = np.array(rows)
            sc = cols["score"][rows]
            best = rows[np.argmin(np.where(np.isfinite(sc), sc, np.inf))]
            rec = {"id": int(cols["id"][best]), "score": float(cols["score"][best]), "description": key,
                   "n_records": int(len(rows))}
            for name, _, _ in ISOMER_OBSERVABLES:
                if name in cols:
                    rec[name] = float(cols[name][best])
            rec["terms"] = {labels[k]: float(cols[labels[k]][best]) for k in range(len(labels)) if state[best, k] == 1}
            reps.append(rec)
        reps.sort(key=lambda r: (r["score"] if r["score"] == r["score"] else np.inf, r["id"]))
        a, b = reps[0], reps[1]
        apart, same = [], []
        for lab in a["terms"]:
            if lab in b["terms"]:
                (apart if abs(a["terms"][lab] - b["terms"][lab]) > ISOMER_TERM_SEPARATION else same).append(lab)
        for name, unit, tol in ISOMER_OBSERVABLES:
            va, vb = a.get(name, np.nan), b.get(name, np.nan)
            if va == va and vb == vb:
                (apart if abs(va - vb) > tol else same).append(name)
        targets = set(a["terms"])
        out.append({"formula": form, "structures": reps, "told_apart_by": apart, "not_told_apart_by": same,
                    "targets_apart": [x for x in apart if x in targets],
                    "observables_apart": [x for x in apart if x not in targets]})
    return out


def format_isomers(groups, *, top=5):
    """Text of :func:`isomer_groups`: per group the best structures and what separates the first two."""
    if not groups:
        return ""
    lines = ["", "== isomer groups (one composition, different structures; rattled copies counted "
                 "with their structure) =="]
    for g in groups:
        reps = g["structures"]
        lines.append(f"{g['formula']}: {len(reps)} structures")
        for r in reps[:top]:
            obs = "  ".join(f"{name} {r[name]:.{2 if unit else 4}f}" for name, unit, _ in ISOMER_OBSERVABLES
                            if name in r and r[name] == r[name])
            lines.append(f"  id {r['id']:>7d}  score {_num(r['score'], '.4g'):>9s}  {obs}  {r['description']}"
                         + (f" ({r['n_records']} records)" if r["n_records"] > 1 else ""))
        if len(reps) > top:
            lines.append(f"  ... {len(reps) - top} more")
        lines.append(f"  best two: told apart by targets: {', '.join(g['targets_apart']) or 'none'}; "
                     f"by observables (no target yet): {', '.join(g['observables_apart']) or 'none'}; "
                     f"alike in: {', '.join(g['not_told_apart_by']) or '-'}")
    return "\n".join(lines)


LEGEND = ("per-target columns: each target's score term (lower is better; n/a: does not apply, undef: "
          "could not be computed); dpeak_nm = predicted - target peak, dmass_Da = mass - target")


# ---------------------------------------------------------------------------------------
# CSV and JSON


def _ranks(groups, n):
    rank = np.zeros(n, np.int64)
    group = np.full(n, "", dtype=object)
    for g in groups:
        group[g.rows] = g.key
        rank[g.order] = np.arange(1, len(g.order) + 1)
    return group, rank


def export_columns(cols, groups):
    """Columns of the CSV/JSON export: ``rank_group`` and ``rank`` (0: not ranked), then every column."""
    n = len(cols["id"])
    group, rank = _ranks(groups, n)
    return dict({"rank_group": group, "rank": rank}, **cols)


def _cell(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v)) if np.isfinite(v) else ""
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def csv_text(cols, groups):
    """Every record as CSV (header line, no comments): ranked rows by group and rank, then the others.

    Empty cells are NaN (not applicable, undefined or not computed); ``rank`` is 0 for a
    record in no ranking (failed or a duplicate).
    """
    ex = export_columns(cols, groups)
    n = len(cols["id"])
    order = [int(i) for g in groups for i in g.order]
    seen = np.zeros(n, bool)
    seen[order] = True
    order += np.flatnonzero(~seen).tolist()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(ex))
    arrays = list(ex.values())
    for i in order:
        w.writerow([_cell(a[i]) for a in arrays])
    return buf.getvalue()


def write_csv(path, cols, groups):
    """Write :func:`csv_text` to ``path`` (atomically) or to stdout for ``-``."""
    text = csv_text(cols, groups)
    if path == "-":
        sys.stdout.write(text)
        return
    from .._atomicio import write_text_atomic
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise ClusterstructError(f"{path}: cannot write the CSV ({exc.strerror or exc})") from None


def _py(v):
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def json_rows(cols, groups, top):
    """The table's rows (``top`` per group; 0: all) with every column, NaN as None."""
    ex = export_columns(cols, groups)
    return [{k: _py(a[i]) for k, a in ex.items()} for g in groups for i in g.top(top)]


def json_groups(groups, labels):
    return [{"group": g.key, "title": g.title, "targets": [labels[k] for k in g.targets],
             "n_ranked": int(len(g.order)), "n_records": int(len(g.rows))} for g in groups]
