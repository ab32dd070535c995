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
    from .lattices import CHALCOGENS, METALS

    if optimizer not in OPTIMIZERS:
        raise ClusterstructError(f"unknown optimiser {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    out = atoms.copy()
    method = getattr(calculator, "name", type(calculator).__name__)
    if isinstance(calculator, str):
        key = calculator.lower()
        if key not in ("gfn1", "gfn2"):
            raise ClusterstructError(f"unknown calculator {calculator!r}; pass an ASE calculator or gfn1/gfn2")
        if charge is None:
            sym = out.get_chemical_symbols()
            charge = 2 * (sum(s in METALS for s in sym) - sum(s in CHALCOGENS for s in sym)) \
                if set(sym) <= METALS | CHALCOGENS else 0
        method = {"gfn1": "GFN1-xTB", "gfn2": "GFN2-xTB"}[key]
        calculator = xtb_calculator(method, charge=charge)
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
