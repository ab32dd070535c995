"""Equal-confinement shape factors for the effective-mass models.

f(shape) = lambda_1(shape) / lambda_1(sphere of the same volume), lambda_1 the
lowest Dirichlet eigenvalue of the Laplacian (the ground state of an infinite
well).  The confinement energy of a shape equals that of a sphere of radius
R_eq / sqrt(f).

Regular tetrahedron: lambda_1 a^2 = 150.9727 (edge a), f = 1.41502, computed by
:func:`tetrahedron_eigenvalue` (Rayleigh-Ritz with the basis
lambda0 lambda1 lambda2 lambda3 x polynomials of degree <= p in barycentric
coordinates, integrals exact; p = 8 gives 150.97272, converged to 1e-6 between
p = 7 and 8; an upper bound that decreases with p).  A staircase
finite-difference check gives 143-148 at h = a/80..a/56 (first order in h).
"""

import math
from itertools import product

import numpy as np

from ..errors import ClusterstructError

#: Lowest Dirichlet eigenvalue of a regular tetrahedron of unit edge (Rayleigh-Ritz, p = 8).
TETRA_LAMBDA_A2 = 150.97272
_TETRA_VOLUME_A3 = 1.0 / (6.0 * math.sqrt(2.0))
_J01 = 2.404825557695773


def _sphere_lambda(volume):
    r = (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)
    return math.pi ** 2 / r ** 2


TETRA_FACTOR = TETRA_LAMBDA_A2 / _sphere_lambda(_TETRA_VOLUME_A3)


def shape_factor(shape="sphere", *, aspect=None):
    """f for "sphere" (1), "tetrahedron" (1.41502) or "disc" (needs aspect = thickness/diameter)."""
    if shape == "sphere":
        return 1.0
    if shape == "tetrahedron":
        return TETRA_FACTOR
    if shape == "disc":
        if aspect is None or not aspect > 0:
            raise ClusterstructError("shape 'disc' needs aspect = thickness / diameter > 0")
        dd = 1.0
        thick = aspect * dd
        lam = math.pi ** 2 / thick ** 2 + _J01 ** 2 / (dd / 2) ** 2
        return lam / _sphere_lambda(math.pi * (dd / 2) ** 2 * thick)
    raise ClusterstructError(f"unknown shape {shape!r}; choose sphere, tetrahedron or disc")


def tetrahedron_eigenvalue(degree=8):
    """lambda_1 a^2 of the regular tetrahedron by Rayleigh-Ritz (see module docstring)."""
    import scipy.linalg as sl
    verts = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) / (2 * math.sqrt(2))
    m = np.vstack([verts.T, np.ones(4)])
    grads = np.linalg.inv(m)[:, :3]
    gg = grads @ grads.T
    vol = abs(np.linalg.det(verts[1:] - verts[0])) / 6

    def integral(e):  # exact integral of prod lambda_i^e_i over the tetrahedron
        return 6 * vol * np.prod([math.factorial(int(k)) for k in e]) / math.factorial(int(sum(e)) + 3)

    exps = [np.array([1, 1 + a, 1 + b, 1 + c]) for a, b, c in product(range(degree + 1), repeat=3)
            if a + b + c <= degree]
    n = len(exps)
    stiff, mass = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = exps[i], exps[j]
            mass[i, j] = mass[j, i] = integral(ei + ej)
            s = 0.0
            for p in range(4):
                for q in range(4):
                    if ei[p] and ej[q]:
                        di, dj = ei.copy(), ej.copy()
                        di[p] -= 1
                        dj[q] -= 1
                        s += gg[p, q] * ei[p] * ej[q] * integral(di + dj)
            stiff[i, j] = stiff[j, i] = s
    return float(sl.eigh(stiff, mass, eigvals_only=True, subset_by_index=[0, 0])[0])
