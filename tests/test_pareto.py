"""Pareto fronts and hypervolume: brute-force cross-checks and known fronts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeps.pareto import default_reference, hypervolume, pareto_front, pareto_mask


def brute_force_mask(v: np.ndarray, senses: list[str]) -> np.ndarray:
    s = np.array([1.0 if x == "min" else -1.0 for x in senses])
    w = v * s
    n = len(w)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if np.isnan(w[i]).any():
            continue
        dominated = False
        for j in range(n):
            if j == i or np.isnan(w[j]).any():
                continue
            if (w[j] <= w[i]).all() and (w[j] < w[i]).any():
                dominated = True
                break
        out[i] = not dominated
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
    st.booleans(),
)
def test_mask_matches_brute_force(n, k, seed, coarse):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 4, size=(n, k)).astype(float) if coarse else rng.random((n, k))  # coarse: many ties
    if n > 3:
        v[rng.integers(0, n)] = np.nan
    senses = [("min", "max")[int(x)] for x in rng.integers(0, 2, size=k)]
    assert np.array_equal(pareto_mask(v, senses), brute_force_mask(v, senses))


def test_known_front_and_duplicates():
    v = np.array([[1, 3], [2, 2], [3, 1], [2, 3], [2, 2], [4, 4]], dtype=float)
    assert pareto_mask(v).tolist() == [True, True, True, False, True, False]
    # maximise the second objective: (1,3) dominates (2,3),(2,2)...
    assert pareto_mask(v, ["min", "max"]).tolist() == [True, False, False, False, False, True]


def test_grouped_front():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 2.0, 5.0, 6.0], "y": [2.0, 1.0, 9.0, 10.0]})
    front = pareto_front(df, {"x": "min", "y": "min"}, by="g")
    assert sorted(front.index.tolist()) == [0, 1, 2]
    assert len(pareto_front(df, ["x", "y"])) == 2


def test_hypervolume_known_fronts():
    front = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)
    assert hypervolume(front, [4, 4]) == pytest.approx(6.0)
    assert hypervolume(np.array([[1.0, 1.0, 1.0]]), [2, 3, 4]) == pytest.approx(6.0)
    # two 3-D boxes [0,2]x[0,1]x[0,1] and [0,1]x[0,2]x[0,1] overlap in a unit cube -> 3
    assert hypervolume(np.array([[0, 1, 1], [1, 0, 1]], dtype=float), [2, 2, 2]) == pytest.approx(2 + 2 - 1)
    # maximisation mirrors minimisation
    assert hypervolume(-front, [-4, -4], ["max", "max"]) == pytest.approx(6.0)
    # dominated and out-of-reference points add nothing
    assert hypervolume(np.vstack([front, [[3, 3], [5, 0]]]), [4, 4]) == pytest.approx(6.0)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_hypervolume_3d_monte_carlo(n, seed):
    rng = np.random.default_rng(seed)
    v = rng.random((n, 3))
    ref = np.ones(3)
    samples = rng.random((20000, 3))
    dominated = np.zeros(len(samples), dtype=bool)
    for p in v:
        dominated |= (samples >= p).all(axis=1)
    assert hypervolume(v, ref) == pytest.approx(dominated.mean(), abs=0.02)


def test_default_reference_is_dominated_by_all():
    v = np.array([[1.0, 10.0], [2.0, 5.0]])
    ref = default_reference(v, ["min", "max"])
    assert ref[0] > 2.0 and ref[1] < 5.0


@pytest.mark.parametrize("k", [2, 3])
def test_large_inputs_with_prefilter_match_vectorised_brute_force(k):
    rng = np.random.default_rng(k)
    v = rng.integers(0, 40, size=(5000, k)).astype(float)  # many ties and duplicates
    v[::97] = np.nan
    senses = ["min"] * (k - 1) + ["max"]
    w = v * np.array([1.0 if s == "min" else -1.0 for s in senses])
    ok = ~np.isnan(w).any(axis=1)
    le = (w[:, None, :] <= w[None, :, :]).all(axis=2)  # le[j, i]: j no worse than i everywhere
    lt = (w[:, None, :] < w[None, :, :]).any(axis=2)
    dominated = ((le & lt) & ok[:, None]).any(axis=0)
    assert np.array_equal(pareto_mask(v, senses), ok & ~dominated)


def test_log_tick_labels_are_plain_numbers():
    """Tick labels between 1e-3 and 1e5 are plain numbers (1,000, not 1e+03); outside, short exponents."""
    from sweeps.plots import _plain

    assert [_plain(v) for v in (0.001, 0.5, 1.0, 20.0, 500.0, 1000.0, 2000.0, 50000.0)] == [
        "0.001", "0.5", "1", "20", "500", "1,000", "2,000", "50,000"]
    assert _plain(1e6) == "1e6" and _plain(2e-5) == "2e-5" and _plain(0) == "0"
