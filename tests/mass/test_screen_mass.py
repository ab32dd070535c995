"""Envelope-aware mass targets in screening specs."""

import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.mass import envelope
from clusterstruct.screen.spec import validate
from clusterstruct.screen.work import score_terms


def spec(target):
    return validate({"candidates": [{"kind": "named", "name": "cdse13-cage"}], "targets": [target]})


def test_old_mass_target_unchanged():
    t = spec({"kind": "mass", "mass_Da": 2488.57, "tolerance_Da": 5})["targets"][0]
    assert t == {"kind": "mass", "weight": 1.0, "material": None, "mass_Da": 2488.57, "tolerance_Da": 5.0}


def test_envelope_mass_target_scores_against_the_most_abundant_peak():
    from clusterstruct.structures.named import cdse13
    s = spec({"kind": "mass", "mass_Da": 2488.57, "tolerance_Da": 5, "ion": ["M", "Na"], "charge": 1})
    assert s["targets"][0]["envelope"] == {"forms": [["M", 1], ["Na", 1]], "ligands": {}}
    atoms = cdse13()
    out = score_terms(s, atoms, {"mass_Da": 2488.005})
    d = envelope("Cd13Se13", charge=1).most_abundant - 2488.57   # nearer than [M+Na]+
    assert out["dmass_Da"] == pytest.approx(d, abs=1e-9)
    assert out["terms"][0] == pytest.approx((d / 5) ** 2)
    s = spec({"kind": "mass", "mass_Da": 2700, "tolerance_Da": 5, "ligands": {"oleate": 1}, "charge": 1})
    out = score_terms(s, atoms, {"mass_Da": 2488.005})
    assert out["dmass_Da"] == pytest.approx(envelope("Cd13Se13C18H33O2", charge=1).most_abundant - 2700, abs=1e-9)


@pytest.mark.parametrize("extra,msg", [({"ion": "Li"}, "unknown ion form"), ({"ligands": {"stearate": 1}}, "unknown ligand"),
                                       ({"charge": 1.5}, "integer")])
def test_bad_envelope_keys(extra, msg):
    with pytest.raises(ClusterstructError, match=msg):
        spec({"kind": "mass", "mass_Da": 2488.57, **extra})
