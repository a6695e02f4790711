"""kamlib.scoring.gains: gains curves of a back-test, by hand."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from kamlib.scoring.gains import CURVE_POINTS, gains_curves


def test_gains_curves_by_hand():
    score = np.array([3.0, 2.0, 1.0])
    baseline = np.array([np.nan, 1.0, 2.0])  # a missing key ranks last
    value = np.array([6.0, 3.0, 1.0])
    curves = gains_curves(score, baseline, value, points=3)
    assert list(curves.columns) == ["ranking", "account_share", "value_share"]
    at = curves.set_index(["ranking", "account_share"])["value_share"]
    # by score (= the perfect order here): 6, 3, 1 → 0.6 at 1/3, 0.9 at 2/3; 0.75 halfway
    assert_allclose([at["score", 0.0], at["score", 0.5], at["score", 1.0]], [0, 0.75, 1])
    assert_allclose(at["perfect", 0.5], 0.75)
    # by baseline: 1, 3, 6 → 0.1 at 1/3, 0.4 at 2/3; 0.25 halfway
    assert_allclose(at["baseline", 0.5], 0.25)


def test_tied_accounts_form_one_straight_step():
    curves = gains_curves(np.array([1.0, 1.0, 0.0]), np.zeros(3), np.array([2.0, 2.0, 6.0]))
    score = curves[curves["ranking"] == "score"]
    assert len(score) == CURVE_POINTS
    # the two tied accounts hold 4 of 10 over 2/3 of the accounts: 0.3 at half
    assert_allclose(np.interp(0.5, score["account_share"], score["value_share"]), 0.3)
