"""Relaxing candidates with any ASE calculator.

``relax(atoms, calculator)`` runs an ASE optimiser (BFGS by default) and returns
a relaxed copy with the final energy, maximum force and step count in
``info``.  Any ASE calculator works.  For II-VI clusters the one that installs
from PyPI and needs no download at run time is GFN-xTB through ``tblite``
(parameters ship inside the wheel; elements H-Rn, so Zn, Cd, S, Se, Te and
ligand atoms): ``pip install "clusterstruct[relax]"`` and pass
``calculator="gfn2"`` (or "gfn1").  Other choices to plug in: a Tersoff or
Stillinger-Weber CdTe/CdSe potential through ASE's LAMMPS calculators, or a DFT
code's ASE interface.
"""

import numpy as np

from ..errors import ClusterstructError

OPTIMIZERS = ("BFGS", "FIRE", "LBFGS")


def xtb_calculator(method="GFN2-xTB", *, charge=0, accuracy=1.0, verbosity=0):
    """An ASE calculator for GFN1/GFN2-xTB from ``tblite`` (optional dependency)."""
    try:
        from tblite.ase import TBLite
    except ImportError:
        raise ClusterstructError("relaxation with xTB needs the optional package tblite: "
                                 'pip install "clusterstruct[relax]"') from None
    return TBLite(method=method, charge=charge, accuracy=accuracy, verbosity=verbosity)


def relax(atoms, calculator="gfn2", *, fmax=0.05, steps=200, optimizer="BFGS", charge=None,
          logfile=None):
    """Relax a copy of ``atoms``.

    Parameters
    ----------
    atoms : ase.Atoms
    calculator : ASE calculator or {"gfn1", "gfn2"}
        "gfn1"/"gfn2" build a tblite GFN-xTB calculator (total charge ``charge``,
        default 2 x (n_metal - n_chalcogen) for a bare Zn/Cd chalcogenide core).
    fmax : float
        Convergence: largest force [eV/A].
    steps : int
        Largest number of optimiser steps.
    optimizer : {"BFGS", "FIRE", "LBFGS"}

    Returns
    -------
    ase.Atoms
        Relaxed copy; ``info`` has ``relax_energy_eV``, ``relax_fmax_eV_A``,
        ``relax_steps``, ``relax_converged`` and the method.
    """
    import ase.optimize

    if optimizer not in OPTIMIZERS:
        raise ClusterstructError(f"unknown optimiser {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    out = atoms.copy()
    method = getattr(calculator, "name", type(calculator).__name__)
    if isinstance(calculator, str):
        if charge is None:
            charge = _bare_core_charge(out)
        calculator, method = _calculator_from(calculator, charge)
    out.calc = calculator
    opt = getattr(ase.optimize, optimizer)(out, logfile=logfile)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    forces = out.get_forces()
    out.info["relax_energy_eV"] = float(out.get_potential_energy())
    out.info["relax_fmax_eV_A"] = float(np.sqrt((forces ** 2).sum(axis=1)).max())
    out.info["relax_steps"] = int(opt.nsteps)
    out.info["relax_converged"] = converged
    out.info["relax_method"] = f"{method} {optimizer} fmax={fmax}" + (f" charge={charge}" if charge is not None else "")
    out.calc = None
    return out


# ----------------------------------------------------------------------------- batch relaxation

#: Core atoms moving more than this [A] (rigid translation removed) make a relaxation an explosion.
MAX_DISPLACEMENT_A = 2.0
#: A metal-chalcogen pair beyond this distance [A] counts as broken (or, if it ends bonded, as formed).
BOND_BREAK_A = 3.5
#: Cap bond lengths [A] of the passivating pseudo-ligands.
CAP_BONDS = {("Cd", "Cl"): 2.45, ("Zn", "Cl"): 2.25, ("S", "H"): 1.34, ("Se", "H"): 1.47, ("Te", "H"): 1.66}


class RelaxTimeLimit(Exception):
    """Raised inside a relaxation when its time limit is reached."""


def _tetrahedral_gaps(bonds):
    """Unit vectors completing the given unit bond vectors (1..3) to a tetrahedron."""
    u = [b / np.linalg.norm(b) for b in bonds]
    if len(u) == 3:
        w = -(u[0] + u[1] + u[2])
        return [w / np.linalg.norm(w)]
    if len(u) == 2:
        w = -(u[0] + u[1])
        w /= np.linalg.norm(w)
        n = np.cross(u[0], u[1])
        n /= np.linalg.norm(n)
        half = np.radians(109.4712 / 2)
        return [w * np.cos(half) + n * np.sin(half), w * np.cos(half) - n * np.sin(half)]
    # one bond: three directions at 109.47 deg from it, 120 deg apart about it
    ref = np.array([1.0, 0.0, 0.0]) if abs(u[0][0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    p = np.cross(u[0], ref)
    p /= np.linalg.norm(p)
    q = np.cross(u[0], p)
    return [-u[0] / 3 + np.sqrt(8) / 3 * (np.cos(t) * p + np.sin(t) * q)
            for t in (0.0, 2 * np.pi / 3, 4 * np.pi / 3)]


PASSIVATION_SCHEMES = ("cl-h", "balanced")


def passivate(atoms, scheme="cl-h", *, bond_length=None):
    """Copy of a bare core with pseudo-ligand caps on its one- and two-bonded atoms.

    ``scheme="cl-h"``: every metal with one or two metal-chalcogen bonds gets a Cl
    atom on each missing tetrahedral direction (X-type ligand standing in for a
    carboxylate or halide), every such chalcogen an H (a thiol-like S-H, Se-H, Te-H);
    three-bonded atoms are left open.

    ``scheme="balanced"``: the same H on the chalcogens, but only as many Cl as make
    the whole cluster neutral (2 n_metal - 2 n_chalcogen + n_H), the way a
    synthesis charge-balances a metal-rich core with X-type ligands.  The Cl go
    round the least-bonded metals first (one per metal per round, the open
    direction farthest from the centre first); open sites left over stay open
    (L-type sites), and a core with more open metal sites than Cl needed is
    neutral.  A cluster that cannot be made neutral this way keeps the charge
    left over.

    Cap bond lengths: :data:`CAP_BONDS`.  The charge a bare core needs changes
    by -1 per Cl and +1 per H; ``info["charge"]`` holds
    2 n_metal - 2 n_chalcogen - n_Cl + n_H and ``info["n_caps"]`` the caps
    (appended after the core atoms, whose order is kept).
    """
    from ase import Atoms
    from .descriptors import coordination
    from .lattices import CHALCOGENS, METALS
    if scheme not in PASSIVATION_SCHEMES:
        raise ClusterstructError(f"relax.py: unknown passivation scheme {scheme!r}; "
                                 f"choose one of {', '.join(PASSIVATION_SCHEMES)} or None")
    sym = atoms.get_chemical_symbols()
    if not set(sym) <= METALS | CHALCOGENS:
        raise ClusterstructError("relax.py: passivation is for bare Zn/Cd chalcogenide cores")
    counts, _, pairs = coordination(atoms, bond_length)
    nbrs = [[] for _ in sym]
    for i, j in pairs:
        nbrs[i].append(j)
        nbrs[j].append(i)
    pos = atoms.positions
    centre = pos.mean(axis=0)
    caps, cap_pos = [], []
    open_metal = []                       # per open metal: (bonds, index, [directions, outermost first])
    for i, s in enumerate(sym):
        if counts[i] not in (1, 2):
            continue
        dirs = _tetrahedral_gaps([pos[j] - pos[i] for j in nbrs[i]])
        if s in METALS:
            out_dir = pos[i] - centre
            dirs.sort(key=lambda v: -float(np.dot(v, out_dir)))
            open_metal.append((int(counts[i]), i, dirs))
            if scheme == "balanced":
                continue
        cap = "Cl" if s in METALS else "H"
        for v in dirs:
            caps.append(cap)
            cap_pos.append(pos[i] + CAP_BONDS[(s, cap)] * v)
    n_m = sum(s in METALS for s in sym)
    if scheme == "balanced":
        need = 2 * n_m - 2 * (len(sym) - n_m) + caps.count("H")
        open_metal.sort(key=lambda t: (t[0], t[1]))
        rnd = 0
        while need > 0 and any(rnd < len(d) for _, _, d in open_metal):
            for _, i, dirs in open_metal:
                if need <= 0:
                    break
                if rnd < len(dirs):
                    caps.append("Cl")
                    cap_pos.append(pos[i] + CAP_BONDS[(sym[i], "Cl")] * dirs[rnd])
                    need -= 1
            rnd += 1
    out = atoms.copy()
    if caps:
        out += Atoms(caps, positions=np.array(cap_pos))
    out.info["charge"] = 2 * n_m - 2 * (len(sym) - n_m) - caps.count("Cl") + caps.count("H")
    out.info["n_caps"] = len(caps)
    out.info["passivation"] = f"{scheme}: {caps.count('Cl')} Cl on metals, {caps.count('H')} H on chalcogens"
    return out


#: Methods a relaxation can name (screening specs take these): name -> (label, factory(charge)).
CALCULATORS = {
    "gfn1": ("GFN1-xTB", lambda charge: xtb_calculator("GFN1-xTB", charge=charge)),
    "gfn2": ("GFN2-xTB", lambda charge: xtb_calculator("GFN2-xTB", charge=charge)),
}


def _bare_core_charge(atoms):
    """2 n_metal - 2 n_chalcogen for a bare Zn/Cd chalcogenide core, else 0."""
    from .lattices import CHALCOGENS, METALS
    sym = atoms.get_chemical_symbols()
    if not set(sym) <= METALS | CHALCOGENS:
        return 0
    return 2 * (sum(s in METALS for s in sym) - sum(s in CHALCOGENS for s in sym))


def _calculator_from(method, charge):
    if isinstance(method, str):
        key = method.lower()
        if key not in CALCULATORS:
            raise ClusterstructError(f"relax.py: unknown method {method!r}; "
                                     f"{', '.join(CALCULATORS)} or a calculator factory")
        label, factory = CALCULATORS[key]
        return factory(charge), label
    if callable(method):
        return method(), getattr(method, "__name__", type(method).__name__)
    raise ClusterstructError("relax.py: method must be 'gfn1', 'gfn2' or a zero-argument calculator factory")


def _core_changes(before, after, n_core, bond_length):
    """Bond-length, coordination and displacement changes of the first ``n_core`` atoms."""
    from collections import Counter
    from .descriptors import coordination
    b, a = before[:n_core], after[:n_core]
    c0, l0, p0 = coordination(b, bond_length)
    c1, l1, p1 = coordination(a, bond_length)
    disp = a.positions - b.positions
    disp -= disp.mean(axis=0)
    sym = np.array(b.get_chemical_symbols())

    def hist(c):
        return {str(el): {int(k): int(v) for k, v in sorted(Counter(c[sym == el].tolist()).items())}
                for el in sorted(set(sym))}
    d_after = np.linalg.norm(a.positions[p0[:, 0]] - a.positions[p0[:, 1]], axis=1) if len(p0) else np.zeros(0)
    d_before_new = (np.linalg.norm(b.positions[p1[:, 0]] - b.positions[p1[:, 1]], axis=1)
                    if len(p1) else np.zeros(0))
    return {
        "mean_bond_before_A": float(l0.mean()) if len(l0) else float("nan"),
        "mean_bond_after_A": float(l1.mean()) if len(l1) else float("nan"),
        "coordination_before": hist(c0), "coordination_after": hist(c1),
        "max_displacement_A": float(np.linalg.norm(disp, axis=1).max()),
        "n_bonds_broken": int((d_after > BOND_BREAK_A).sum()),
        "n_bonds_formed": int((d_before_new > BOND_BREAK_A).sum()),
    }


def _relax_one(name, atoms, opts):
    """One relaxation -> result dict (never raises for a failing structure)."""
    import time
    import ase.optimize
    t0 = time.perf_counter()
    res = {"name": name, "ok": False, "reason": None, "atoms": None, "changes": None, "steps": 0,
           "seconds": 0.0, "method": None}
    try:
        work = atoms.copy()
        n_core = len(work)
        if opts["passivate"]:
            work = passivate(work, opts["passivate"])
        charge = work.info.get("charge")
        if charge is None:
            charge = _bare_core_charge(work)
        calc, label = _calculator_from(opts["method"], charge)
        res["method"] = (f"{label} {opts['optimizer']} fmax={opts['fmax']} charge={charge}"
                         + (f" passivate={opts['passivate']}" if opts["passivate"] else ""))
        start = work.copy()
        resume = opts.get("start", {}).get(name)
        if resume is not None:
            resume = np.asarray(resume, dtype=float)
            if resume.shape != work.positions.shape:
                raise ClusterstructError(f"relax.py: {name}: start positions have shape {resume.shape}, "
                                         f"the (capped) structure {work.positions.shape}")
            work.positions = resume
            res["method"] += " (continued from an interrupted run)"
        work.calc = calc
        opt = getattr(ase.optimize, opts["optimizer"])(work, logfile=None)

        def check():
            if time.perf_counter() - t0 > opts["time_limit_s"]:
                raise RelaxTimeLimit(f"time limit {opts['time_limit_s']:g} s reached after {opt.nsteps} steps")
        opt.attach(check, interval=1)
        converged = bool(opt.run(fmax=opts["fmax"], steps=opts["max_steps"]))
        res["steps"] = int(opt.nsteps)
        energy = float(work.get_potential_energy())
        fmax_now = float(np.sqrt((work.get_forces() ** 2).sum(axis=1)).max())
        work.calc = None
        bond = _core_bond(atoms)
        ch = _core_changes(start, work, n_core, bond)
        res["changes"] = ch
        problems = []
        if ch["max_displacement_A"] > opts["max_displacement_A"]:
            problems.append(f"explosion: a core atom moved {ch['max_displacement_A']:.2f} A "
                            f"(> {opts['max_displacement_A']:g} A)")
        if ch["n_bonds_broken"] or ch["n_bonds_formed"]:
            problems.append(f"explosion: {ch['n_bonds_broken']} bonds broken, {ch['n_bonds_formed']} formed "
                            f"beyond {BOND_BREAK_A:g} A")
        if not converged:
            problems.append(f"not converged in {opts['max_steps']} steps (fmax {fmax_now:.3f} eV/A)")
        if problems:
            res["reason"] = "; ".join(problems)
        else:
            work.info.update({"relaxed": True, "relax_method": res["method"], "relax_energy_eV": energy,
                              "relax_fmax_eV_A": fmax_now, "relax_steps": res["steps"]})
            work.info["construction"] = (atoms.info.get("construction", "") + f"; relaxed {res['method']}").lstrip("; ")
            res["atoms"], res["ok"] = work, True
    except RelaxTimeLimit as exc:
        res["reason"] = str(exc)
        res["steps"] = int(opt.nsteps)
        res["partial"] = work.positions.copy()   # where it stopped: a later run can continue
    except Exception as exc:  # a failing calculator is recorded, not raised: one line with its type
        res["reason"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    res["seconds"] = time.perf_counter() - t0
    return res


def _core_bond(atoms):
    from .descriptors import _default_bond
    try:
        return _default_bond(np.array(atoms.get_chemical_symbols()))
    except ClusterstructError:
        return 2.6


def _child(conn, name, atoms, opts):
    try:
        conn.send(_relax_one(name, atoms, opts))
    finally:
        conn.close()


def relax_many(structures, *, method="gfn2", fmax=0.05, max_steps=200, time_limit_s=600.0, passivate=None,
               optimizer="BFGS", workers=1, max_displacement_A=MAX_DISPLACEMENT_A, start=None):
    """Relax several structures, one task each, with a time limit and recorded failures.

    Parameters
    ----------
    structures : mapping name -> ase.Atoms, or iterable of (name, ase.Atoms)
    method : {"gfn1", "gfn2"} or callable
        GFN-xTB through tblite (total charge 2 n_metal - 2 n_chalcogen of a bare core,
        corrected for caps), or a zero-argument factory returning an ASE calculator
        (a module-level function when ``workers > 1``).
    fmax : float
        Convergence: largest force [eV/A].
    max_steps : int
        Optimiser steps; not converged by then is a failure.
    time_limit_s : float
        Per structure.  In-process (``workers=1``) the limit is checked after every
        optimiser step; with ``workers > 1`` each task runs in its own process, which
        is also terminated 5 s past the limit.
    passivate : {None, "cl-h", "balanced"}
        Pseudo-ligand caps before relaxing (:func:`passivate`); the reported changes
        are those of the core atoms.
    optimizer : {"BFGS", "FIRE", "LBFGS"}
    workers : int
        Parallel processes (1: in this process).
    max_displacement_A : float
        A core atom moving farther (rigid translation removed) is an explosion.
    start : mapping name -> (n, 3) array, optional
        Positions to start from instead of the built (and capped) structure, e.g. the
        ``partial`` positions of a run that reached its time limit; the reported changes
        are still against the unrelaxed structure.

    Returns
    -------
    list of dict
        In input order: ``name``, ``ok``, ``reason`` (None when ok), ``atoms`` (the relaxed
        structure, core first, ``info["relaxed"] = True``; None on failure), ``changes``
        (mean metal-chalcogen bond before/after, coordination histograms before/after,
        max displacement, bonds broken/formed beyond :data:`BOND_BREAK_A`), ``steps``,
        ``seconds`` and ``method``.  Failures (calculator errors, time limit, explosions,
        no convergence) are recorded with the reason and no structure; a run stopped by
        its time limit also returns ``partial``, the positions (caps included) it reached.
    """
    if optimizer not in OPTIMIZERS:
        raise ClusterstructError(f"relax.py: unknown optimiser {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if passivate is not None and passivate not in PASSIVATION_SCHEMES:
        raise ClusterstructError(f"relax.py: unknown passivation {passivate!r}; "
                                 f"choose None or one of {', '.join(PASSIVATION_SCHEMES)}")
    if not time_limit_s > 0:
        raise ClusterstructError(f"relax.py: time_limit_s must be > 0, got {time_limit_s!r}")
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ClusterstructError(f"relax.py: workers must be an integer >= 1, got {workers!r}")
    items = list(structures.items()) if hasattr(structures, "items") else list(structures)
    opts = {"method": method, "fmax": float(fmax), "max_steps": int(max_steps),
            "time_limit_s": float(time_limit_s), "passivate": passivate, "optimizer": optimizer,
            "max_displacement_A": float(max_displacement_A), "start": dict(start or {})}
    if workers == 1:
        return [_relax_one(name, atoms, opts) for name, atoms in items]
    return _run_processes(items, opts, workers)


def _run_processes(items, opts, workers):
    import multiprocessing as mp
    import time
    ctx = mp.get_context("spawn")
    results, running, queue = {}, {}, list(enumerate(items))
    while queue or running:
        while queue and len(running) < workers:
            k, (name, atoms) = queue.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, name, atoms, opts), daemon=True)
            proc.start()
            child.close()
            running[k] = (proc, parent, name, time.perf_counter())
        time.sleep(0.05)
        for k, (proc, parent, name, t0) in list(running.items()):
            if parent.poll():
                try:
                    results[k] = parent.recv()
                except EOFError:
                    results[k] = _failed(name, "worker ended without a result", time.perf_counter() - t0)
            elif not proc.is_alive():
                results[k] = _failed(name, f"worker process exited with code {proc.exitcode}",
                                     time.perf_counter() - t0)
            elif time.perf_counter() - t0 > opts["time_limit_s"] + 5.0:
                proc.terminate()
                results[k] = _failed(name, f"time limit {opts['time_limit_s']:g} s: worker terminated",
                                     time.perf_counter() - t0)
            else:
                continue
            proc.join(timeout=5)
            parent.close()
            del running[k]
    return [results[k] for k in range(len(items))]


def _failed(name, reason, seconds):
    return {"name": name, "ok": False, "reason": reason, "atoms": None, "changes": None, "steps": 0,
            "seconds": seconds, "method": None}
