"""One result type per concept (issue 10): every map is a ReducedMap, every threshold a Threshold in a Thresholds
with one JSON schema, every label an Exactness, every model reachable through the registry."""

import json

import pytest
import sympy as sp

import catapult.theory as T
from catapult.theory.exactness import Exactness
from catapult.theory.gram import VectorModel
from catapult.theory.maps import INTERFACE, ReducedMap
from catapult.theory.symbols import lam0, n
from catapult.theory.thresholds import THRESHOLD_KEYS, THRESHOLDS_KEYS, Threshold


MAPS = {"uv": lambda: T.derive("uv", "mse"),
        "deep2": lambda: T.derive("deep", depth=2),
        "deep3": lambda: T.derive("deep", "log(cosh(f))", depth=3),
        "samples": lambda: T.derive("samples", m=2, d=2)}


@pytest.mark.parametrize("name", MAPS)
def test_every_map_is_a_reduced_map_with_the_whole_interface(name):
    m = MAPS[name]()
    assert isinstance(m, ReducedMap)
    for attr in INTERFACE:
        assert hasattr(m, attr), attr
    assert isinstance(m.exactness, Exactness)
    assert set(m.update) == set(m.symbols) == {str(s) for s in m.state}
    assert set(m.update_slope) == set(m.update)
    d = m.to_json()
    assert {"model", "loss", "state", "update", "exact", "exactness"} <= set(d)
    json.dumps(d)
    assert m.latex().startswith("\\begin{aligned}") and str(m)


def test_observables_are_f_and_lam_or_the_outputs_and_theta():
    assert set(MAPS["uv"]().observables) == {"f", "lam"}
    dm = MAPS["deep2"]()
    assert set(dm.observables) == {"f", "lam"} and dm.observables["f"] is dm.f
    assert set(MAPS["samples"]().observables) == {"f1", "f2", "Theta"}


def test_deep_constants_and_init_are_part_of_the_map():
    dm = MAPS["deep3"]()
    assert {str(k) for k in dm.constants} == {"A", "C", "rho"}
    assert dm.init["m2_11"] == sp.sqrt(n) and MAPS["uv"]().init == {}


def test_invariants_of_a_map_without_them_are_an_empty_list_with_the_reason():
    for name in ("deep2", "samples"):
        inv = T.derive_invariants(MAPS[name]())
        assert inv == [] and "not derived" in inv.reason
    inv = T.derive_invariants(MAPS["uv"]())
    assert len(inv) == 4 and inv.reason == ""


def test_exactness_labels_serialise_as_before():
    assert json.dumps([e for e in Exactness]) == json.dumps(
        ["exact", "exact (with extra state)", "leading order in 1/n", "derived necessary condition", "measured",
         "not derived"])
    assert MAPS["uv"]().to_json()["exactness"] == "exact"


THRESHOLDS = {"uv": lambda: T.thresholds("uv", "mse"),
              "uv-logcosh": lambda: T.thresholds("uv", "log(cosh(f - 1))"),
              "deep2": lambda: T.thresholds("deep", depth=2),
              "deep3": lambda: T.thresholds("deep", "logistic", p="7/10", depth=3),
              "samples": lambda: T.thresholds("samples", m=2, d=2, X=[[2, "1/4"], ["-1/4", 1]], Y=[0, 1])}


@pytest.mark.parametrize("name", THRESHOLDS)
def test_one_thresholds_schema(name):
    t = THRESHOLDS[name]()
    d = t.to_json()
    assert tuple(d) == THRESHOLDS_KEYS
    assert set(d["thresholds"]) == set(d["labels"]) == set(d["reasons"]) >= {"eta_crit", "eta_max"}
    for k, v in d["thresholds"].items():
        assert tuple(v) == THRESHOLD_KEYS and v["name"] == k
        assert (v["value"] is None) == (v["exactness"] == "not derived")
        assert v["exactness"] in {e.value for e in Exactness}
    json.dumps(d)


def test_a_missing_value_is_not_derived_with_a_reason():
    with pytest.raises(ValueError):
        Threshold("eta_max", None, Exactness.LEADING, "", "why")
    with pytest.raises(ValueError):
        Threshold("eta_max", None, Exactness.NOT_DERIVED, "")
    with pytest.raises(ValueError):
        Threshold("eta_max", 4 / lam0, Exactness.NOT_DERIVED, "", "why")


@pytest.mark.parametrize("loss,c", [("mse", 1), ("2*f**2", 4), ("(f - 1)**2/2", 1)])
def test_depth_two_thresholds_are_the_uv_ones(loss, c):
    """L = 2 is the uv model: eta_crit = 2/(c lam0), eta_max = 4/(c lam0) (Lewkowycz et al. 2020)."""
    d, u = T.thresholds("deep", loss, depth=2), T.thresholds("uv", loss)
    assert d.eta_crit.value == u.eta_crit.value == 2 / (c * lam0)
    assert d.eta_max.value == u.eta_max.value == 4 / (c * lam0)


def test_deep_eta_max_is_not_derived_for_depth_three():
    t = THRESHOLDS["deep3"]()
    assert t.eta_max.value is None and t.eta_max.exactness == Exactness.NOT_DERIVED
    assert t.eta_crit.value == sp.Rational(200, 21) / lam0 and t.eta_crit.minimiser == sp.log(sp.Rational(7, 3))


def test_samples_eta_crit_at_lam0_and_domain():
    t = THRESHOLDS["samples"]()
    assert t.eta_crit.at(4) == sp.Rational(1, 2)       # lam0 stands for lam_max(Theta0 H)
    assert t.minimisers == [0, 1]                      # f_a* = y_a for squared loss
    bad = T.thresholds("samples", m=2, d=2, X=[[1, 1], [2, 2]], Y=[0, 1])
    assert bad.eta_crit.value is None and "rank-deficient" in bad.eta_crit.reason


def test_registry_names_objects_and_user_models():
    assert isinstance(T.get_model("uv"), VectorModel)
    assert T.derive(T.get_model("deep", depth=3)).L == 3 == T.derive("deep", depth=3).L
    ab = VectorModel("ab5", ("a", "b"), lambda G: 5 * G["a", "b"] / sp.sqrt(n))
    assert T.derive(ab, "mse").exact and T.thresholds(ab).eta_max.value == 4 / lam0
    T.register_model("ab5", lambda: ab)
    try:
        assert T.thresholds("ab5").eta_crit.value == 2 / lam0
        with pytest.raises(T.TheoryInputError, match="already registered"):
            T.register_model("ab5", lambda: ab)
    finally:
        T.unregister_model("ab5")
    with pytest.raises(T.TheoryInputError, match="unknown model"):
        T.get_model("ab5")
    with pytest.raises(T.TheoryInputError, match="needs m"):
        T.derive("samples")
    with pytest.raises(T.TheoryInputError, match="returned"):
        T.register_model("broken", lambda: 3)
        try:
            T.get_model("broken")
        finally:
            T.unregister_model("broken")
