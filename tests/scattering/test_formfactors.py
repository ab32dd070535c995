"""Form factors against values computed independently with xraydb (same WK coefficients, other code)."""

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.scattering import atomic_form_factor

# species, Q [1/A], f0 from xraydb 4.5.8 f0(ion, s=Q/4pi); copied from the project's
# reference table xray_f0_checkvalues.csv (see tests/data/README.md).
XRAYDB = [
    ("Zn", 0.0, 29.9911), ("Zn", 1.0, 28.6064), ("Zn", 2.0, 25.7765),
    ("Se", 0.0, 33.9914), ("Se", 1.0, 32.2981), ("Se", 2.0, 28.7498),
    ("H", 0.5, 0.9659), ("H", 2.0, 0.6103),
    ("S", 1.0, 14.7762), ("Cd", 1.0, 45.8425), ("Te", 1.0, 49.4183),
]


@pytest.mark.parametrize("el,q,f0", XRAYDB)
def test_against_xraydb(el, q, f0):
    assert atomic_form_factor(el, q) == pytest.approx(f0, abs=1e-4)


def test_unknown_element():
    with pytest.raises(ClusterstructError, match="unknown element 'Xx'"):
        atomic_form_factor("Xx", 0.1)


def test_q_beyond_table_hints_unit():
    with pytest.raises(ClusterstructError, match="nm"):
        atomic_form_factor("Cd", np.array([1.0, 100.0]))
