"""A search's anytime curve: the best score so far against the training time spent, and how
long the search took to come near its best (views.anytime, views.time_to_near_best)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark import views


def trials(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial_id", "status", "score", "seconds"])


@pytest.mark.any_backend
def test_the_curve_runs_in_trial_order_and_failed_trials_cost_time():
    table = trials(("10", "completed", 0.80, 3600),  # ids sort as numbers: 2 before 10
                   ("2", "completed", 0.70, 1800), ("0", "failed", None, 1800),
                   ("1", "completed", 0.78, 1800))
    curve = views.anytime(table)
    assert curve["trial_id"].tolist() == ["0", "1", "2", "10"]
    assert curve["minutes"].tolist() == [30, 60, 90, 150]
    assert curve["best"].tolist()[1:] == [0.78, 0.78, 0.80] and pd.isna(curve["best"][0])


@pytest.mark.any_backend
def test_near_best_is_the_first_time_within_half_a_point():
    curve = views.anytime(trials(("0", "completed", 0.70, 3600), ("1", "completed", 0.796, 3600),
                                 ("2", "completed", 0.79, 3600), ("3", "completed", 0.80, 3600)))
    reached = views.time_to_near_best(curve)
    assert reached == {"best": 0.80, "minutes_to_best": 240, "minutes_to_near": 120}
    assert views.time_to_near_best(views.anytime(trials()))["best"] is None
