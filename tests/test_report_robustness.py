"""Defects of the reports on small or unusual questionnaires (engineer `robust`): a factor
count the battery identifies, one way to read a battery's keys, the n of pairwise
statistics, labels mid-sentence, and no alpha for formative constructs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit import measurement as m
from surveykit._util import lower_first
from surveykit.errors import MeasurementError
from surveykit.questionnaire import questionnaire_from_text

FIX = Path(__file__).parent / "fixtures"

QYAML = """
id: small
title: Small survey
scales:
  ten: {codes: {1: "1 - poor", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7", 8: "8",
                9: "9", 10: "10 - excellent"}}
questions:
  - {id: region, type: single, text: Region, options: {1: North, 2: South}}
  - {id: cusa, type: rating, scale: ten, text: Overall satisfaction}
  - id: g4
    type: grid
    scale: ten
    text: How satisfied are you with
    items: [{id: a1, text: Speed}, {id: a2, text: Coverage}, {id: a3, text: Price},
            {id: a4, text: Billing clarity, reverse: true}]
  - id: g3
    type: grid
    scale: ten
    text: How satisfied are you with the shop
    items: [{id: b1, text: Staff}, {id: b2, text: Waiting time}, {id: b3, text: Advice}]
constructs:
  - {id: NET, label: Network, items: [a1, a2]}
  - {id: COST, label: Cost, items: [a3, a4], reverse: [a4]}
  - {id: SHOP, label: Shop experience, items: [b1, b2, b3]MODE}
paths:
  SHOP: [NET, COST]
report:
  outcome: cusa
  metrics: [{column: cusa, stat: mean}]
  battery: [BATTERY]
roles:
  respondent_id: rid
"""


def _survey(battery: str = "g4", mode: str = ""):
    from surveykit.survey import Survey

    q = questionnaire_from_text(QYAML.replace("BATTERY", battery).replace("MODE", mode))
    rng = np.random.default_rng(11)
    n = 400
    f1, f2, f3 = rng.normal(size=(3, n))

    def rate(f):
        return np.clip(np.round(6 + 1.6 * f + rng.normal(0, 0.8, n)), 1, 10)

    df = pd.DataFrame({"rid": np.arange(n), "region": rng.integers(1, 3, n),
                       "a1": rate(f1), "a2": rate(f1), "a3": rate(f2), "a4": 11 - rate(f2),
                       "b1": rate(f3), "b2": rate(f3), "b3": rate(f3)})
    df["cusa"] = np.clip(np.round(6 + f1 + f2 + rng.normal(0, 1, n)), 1, 10)
    return Survey(questionnaire=q, data=df, weights=None)


# -- 1. a factor count the battery identifies ------------------------------------------------
def test_a_four_item_battery_gets_the_factors_it_identifies():
    from surveykit.reporting.overview import Overview

    s = Overview(_survey("g4"), "region").factor_structure()
    text = " ".join(s.findings)
    # parallel analysis sees the two pairs; 2 factors from 4 items have df -1 < 0
    assert "suggests 2 factors" in text
    assert "4 items identify at most 1 factor" in text and "uses 1" in text
    assert "could not be run" not in text
    assert s.tables[0][1].shape == (4, 2)          # Item + one factor column


def test_a_three_item_battery_gets_one_factor():
    from surveykit.reporting.overview import Overview

    s = Overview(_survey("g3"), "region").factor_structure()
    text = " ".join(s.findings)
    assert "Parallel analysis of the 3 rated items suggests 1 factor" in text
    assert "uses 1" in text and "could not be run" not in text


def test_max_factors_is_the_largest_identified_count_and_efa_says_it():
    # df = ((p - k)^2 - (p + k)) / 2: p=4: k=1 -> 2, k=2 -> -1; p=6: k=3 -> 0, k=4 -> -3
    assert [m.max_factors(p) for p in (3, 4, 5, 6)] == [1, 1, 2, 3]
    d = _survey().data
    with pytest.raises(MeasurementError, match="is not identified .* use at most 1"):
        m.efa(d, ["a1", "a2", "a3", "a4"], 2)


# -- 2. the battery's keys are read the one way ----------------------------------------------
def test_the_battery_reads_reverse_keys_and_ranges_from_the_questionnaire():
    from surveykit.reporting.overview import Overview

    q = _survey().questionnaire
    keys = m.from_questionnaire(q, items=["a1", "a4", "b1"])
    assert keys["reverse"] == ["a4"]                       # the grid's reverse: true
    assert keys["scale_range"] == {"a1": (1, 10), "a4": (1, 10), "b1": (1, 10)}
    assert keys["item_labels"]["a4"] == q.variable("a4").label
    assert keys["model"] == {}
    # a construct's reverse key counts for a battery item too
    assert m.from_questionnaire(q, items=["a3", "a4"])["reverse"] == ["a4"]
    s = Overview(_survey("g4"), "region").factor_structure()
    assert "with 1 reverse-keyed item re-coded first" in s.findings[0]


# -- 3. the n of pairwise statistics, as psych -----------------------------------------------
def test_efa_and_kmo_report_psychs_n_under_pairwise():
    ref = json.loads((FIX / "r_psych" / "psych_pairwise_reference.json").read_text())
    d = pd.read_csv(FIX / "r_psych" / "items_missing.csv")
    items = ["q1", "q2", "q3", "q4", "s1", "s2", "s3", "s4", "v1", "v2", "v3", "v4"]
    rev = {"reverse": ["s4"], "scale_range": (1, 7)}
    e = m.efa(d, items, 3, **rev)
    assert e.n == ref["fa_minres_oblimin"]["n_obs"] == ref["n_rows"] == 500   # fa's n.obs
    k = m.kmo(d, items, **rev)
    assert k.n == 500
    pair = f"{ref['n_pair_min']} to {ref['n_pair_max']} per item pair"    # 423 to 453
    for res in (e, k):
        assert f"n = 500 rows, {pair}" in res.summary().splitlines()[0]
    lw = m.efa(d, items, 3, missing="listwise", **rev)
    complete = int(d[items].notna().all(axis=1).sum())
    assert lw.n == complete and f"n = {complete} complete rows of 500" in repr(lw) + \
        lw.summary()


# -- 4. labels mid-sentence -------------------------------------------------------------------
@pytest.mark.parametrize("label, mid", [
    ("Overall satisfaction", "overall satisfaction"), ("NPS", "NPS"),
    ("Meridian Mobile", "Meridian Mobile"), ("Price and value", "price and value"),
    ("iPhone users", "iPhone users"), ("Technology / IT", "technology / IT"),
    ("Overall NPS", "overall NPS"), ("I agree", "I agree"), ("", "")])
def test_lower_first_keeps_names_and_acronyms(label, mid):
    assert lower_first(label) == mid


# -- 5. no alpha for formative constructs ----------------------------------------------------
def test_formative_constructs_are_left_out_of_the_reliability_table():
    from surveykit.reporting.overview import Overview

    both = Overview(_survey(), "region").reliability()
    assert list(both.tables[0][1]["Construct"]) == ["Network", "Cost", "Shop experience"]
    s = Overview(_survey(mode=", mode: B"), "region").reliability()
    table = s.tables[0][1]
    assert list(table["Construct"]) == ["Network", "Cost"]
    assert table["Alpha"].tolist() == both.tables[0][1]["Alpha"].tolist()[:2]
    assert " of 2 constructs reach Cronbach's alpha" in s.findings[0]
    assert any(n.startswith("Left out: Shop experience, formative (mode B") for n in s.notes)
