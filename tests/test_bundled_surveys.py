"""The three bundled surveys simulated from a declared truth file: employee engagement,
product feedback and a satisfaction index (``questionnaires/<name>.yaml`` with
``data/<name>/simulation.yaml`` and the data it makes).

Each questionnaire loads and declares its report; the committed data regenerate byte for
byte; they pass the response checks; and the declared truth comes back out: the weighted
key-driver analysis ranks each segment's true top driver first (or second), and raking to
the targets moves the outcome mean towards its population value.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from surveykit.cli import main
from surveykit.drivers import key_drivers
from surveykit.errors import SurveykitError
from surveykit.questionnaire import load_questionnaire
from surveykit.responses import check_responses, read_responses
from surveykit.simulate import TRUTH_FILES, simulate_from_truth
from surveykit.weighting import rake

ROOT = Path(__file__).resolve().parents[1]
SURVEYS = ("employee_engagement", "product_feedback", "satisfaction_index")


class Bundle:
    """One bundled survey: questionnaire, committed responses, targets and truth."""

    def __init__(self, name: str):
        self.name = name
        self.qpath = ROOT / "questionnaires" / f"{name}.yaml"
        self.dir = ROOT / "data" / name
        self.q = load_questionnaire(self.qpath)
        self.truth = json.loads((self.dir / "truth.json").read_text(encoding="utf-8"))
        self.df = read_responses(self.dir / "responses.csv", self.q)
        self._weights = None

    @property
    def weights(self) -> pd.Series:
        if self._weights is None:
            self._weights = rake(self.df, self.dir / "targets.yaml").weights
        return self._weights


@pytest.fixture(scope="module", params=SURVEYS)
def bundle(request) -> Bundle:
    return Bundle(request.param)


@pytest.fixture(scope="module")
def bundles() -> dict[str, Bundle]:
    return {name: Bundle(name) for name in SURVEYS}


def _index(q, col: str, x: pd.Series) -> pd.Series:
    scale = q.scale_of(col)
    return (x - scale.low) / (scale.high - scale.low) * 100


def _driver_frame(b: Bundle) -> pd.DataFrame:
    """Outcome and driver columns as the truth defines them (items, or construct scores:
    the mean of the items' 0-100 indices, reverse-keyed items reversed)."""
    d = b.truth["drivers"]
    out = pd.DataFrame({d["outcome"]: b.q.valid_values(b.df, d["outcome"]),
                        d["segment_variable"]: b.df[d["segment_variable"]]})
    latents = b.truth["latent_variables"]
    for name in d["drivers"]:
        if name in latents:
            parts = []
            for item, lam in latents[name]["loadings_raw"].items():
                idx = _index(b.q, item, b.q.valid_values(b.df, item))
                parts.append(100 - idx if lam < 0 else idx)
            out[name] = pd.concat(parts, axis=1).mean(axis=1)
        else:
            out[name] = b.q.valid_values(b.df, name)
    return out


# -- the questionnaires ------------------------------------------------------------------
def test_questionnaire_is_valid_and_declares_its_report(bundle, capsys):
    assert main(["questionnaire", str(bundle.qpath)]) == 0
    assert "valid" in capsys.readouterr().out
    q = bundle.q
    roles, report = q.roles, q.model.report
    assert roles.respondent_id == "resp_id" and roles.duration == "duration_sec"
    assert roles.segments[0] in roles.weighting and roles.customer_id is None
    assert report is not None and report.outcome == bundle.truth["drivers"]["outcome"]
    assert report.constructs == [c.id for c in q.constructs] and len(q.constructs) >= 4
    assert 8 <= len(roles.drivers) <= 20 and report.drivers == roles.drivers
    assert report.loyalty and report.metrics and report.profile
    assert all(construct.min_items is not None for construct in q.constructs)


def test_employee_engagement_declares_the_domain(bundles):
    q = bundles["employee_engagement"].q
    assert q.roles.segments == ["department"] and q.question("department").type == "single"
    assert q.scales["agree5"].codes[0].label == "Strongly disagree"
    grids = [qq for qq in q.questions if qq.type == "grid"]
    assert len(grids) == 6 and all(qq.scale == "agree5" for qq in grids)
    enps = q.question("enps")
    assert enps.type == "nps" and "recommend this company as a place to work" in enps.text
    assert q.construct_items("workload")[1] == ["wl_overwhelmed"]
    assert [qq.id for qq in q.questions if qq.type == "open"] == ["comment"]
    assert q.pii_columns == [] and q.model.report.open_text == ["comment"]
    assert {"tenure", "location"} <= set(q.model.report.profile)


def test_product_feedback_declares_the_domain(bundles):
    q = bundles["product_feedback"].q
    assert q.labels("plan") == {1: "Free", 2: "Pro", 3: "Team", 4: "Enterprise"}
    assert q.scale_of("csat").valid_codes == [1, 2, 3, 4, 5]
    effort = q.scale_of("effort")
    assert effort.valid_codes == list(range(1, 8)) and effort.direction == "descending"
    metrics = {(m.column, m.stat): m for m in q.model.report.metrics}
    assert metrics[("effort", "mean")].better == "lower"
    assert metrics[("nps", "nps")].better == "higher"
    assert q.question("features_used").type == "multi"
    assert q.question("feature_sat").scale == "sat5" and len(q.columns_of("feature_sat")) == 12
    assert q.model.report.open_text == ["improve"] and q.pii_columns == ["email"]


def test_satisfaction_index_declares_the_domain(bundles):
    q = bundles["satisfaction_index"].q
    assert [c.id for c in q.constructs] == ["image", "expectations", "quality", "value",
                                            "satisfaction", "loyalty"]
    for c in q.constructs:
        for item in c.items:
            assert q.scale_of(item).valid_codes == list(range(1, 11)), item
    assert "overall_sat" in q.construct_items("satisfaction")[0]
    kinds = {v.kind for v in q.variables().values()}
    assert not kinds & {"nps", "open", "customer_id"}
    assert q.question("complaint_handling").ask_if == "complained == 1"
    metric = q.model.report.metrics[0]
    assert (metric.column, metric.stat) == ("overall_sat", "index")


# -- the committed data ------------------------------------------------------------------
def test_simulate_from_the_truth_file_reproduces_the_committed_data(bundle, tmp_path, capsys):
    out = tmp_path / bundle.name
    assert main(["simulate", "--questionnaire", str(bundle.qpath),
                 "--truth", str(bundle.dir / "simulation.yaml"), "--out", str(out)]) == 0
    assert "responses.csv" in capsys.readouterr().out
    for name in TRUTH_FILES:
        assert (out / name).read_bytes() == (bundle.dir / name).read_bytes(), name
    size = sum((bundle.dir / name).stat().st_size for name in TRUTH_FILES)
    assert size < 1_500_000
    assert len(bundle.df) == bundle.truth["n"] and 1500 <= len(bundle.df) <= 3000


def test_committed_data_pass_the_response_checks(bundle):
    result = check_responses(bundle.q, bundle.df)
    assert result.n_errors == 0, result.summary()
    df = bundle.df
    assert list(df.columns) == [c for c, v in bundle.q.variables().items()
                                if v.kind != "derived"]
    for question in bundle.q.questions:
        asked = bundle.q.asked(df, question.id)
        answered = bundle.q.answered(df, question.id)
        assert not (answered & ~asked).any(), question.id
        if question.required:
            assert (answered | ~asked).all(), question.id
    assert bundle.truth["problems"]["planted"] is False
    assert bundle.truth["generic_columns"] == ["duration_sec"]   # everything else declared


# -- the declared truth comes back out -----------------------------------------------------
def test_weighted_key_drivers_recover_each_segments_top_driver(bundle):
    d = bundle.truth["drivers"]
    frame = _driver_frame(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = key_drivers(frame, d["outcome"], d["drivers"], weights=bundle.weights,
                             by=d["segment_variable"])
    models = result.models.set_index("segment")
    tested = 0
    for seg, entry in d["by_segment"].items():
        if seg == "Total":
            continue
        # the truth is consistent: the declared largest weight is the population's top driver
        assert entry["ranking"][0] == entry["declared_top"][0], seg
        key = float(seg)
        if models.loc[key, "n"] < 300:
            continue
        tested += 1
        top = d["top_drivers"][seg][0]
        assert top in result.top(2, key), (seg, top, result.top(3, key))
    assert tested == len(d["by_segment"]) - 1        # every segment has n >= 300
    firsts = {d["top_drivers"][s][0] for s in d["by_segment"] if s != "Total"}
    assert len(firsts) == len(d["by_segment"]) - 1   # drivers differ by segment


def test_raking_moves_the_outcome_towards_its_population_value(bundle):
    outcome = bundle.truth["drivers"]["outcome"]
    truth = bundle.truth["population"]["columns"][outcome]["mean"]
    y = bundle.q.valid_values(bundle.df, outcome)
    ok = y.notna()
    unweighted = float(y[ok].mean())
    weighted = float(np.average(y[ok], weights=bundle.weights[ok]))
    assert abs(weighted - truth) < abs(unweighted - truth)
    assert bundle.truth["sample_skew"]["bias_direction"][outcome] == (
        "up" if unweighted > truth else "down")
    # the sample is visibly skewed on the segment variable
    seg = bundle.truth["segment_variable"]
    skew = bundle.truth["sample_skew"]
    pop, smp = skew["population_percent"][seg], skew["observed_sample_share"][seg]
    assert 0.5 * sum(abs(pop[c] - 100 * smp[c]) for c in pop) > 8


def test_truth_records_constructs_loadings_and_population_values(bundle):
    t, q = bundle.truth, bundle.q
    latents = t["latent_variables"]
    for name, lv in latents.items():
        if lv["kind"] == "construct" and name in {c.id for c in q.constructs}:
            items, reverse = q.construct_items(name)
            assert set(lv["items"]) == set(items), name
            assert sorted(lv["reverse"]) == sorted(reverse), name
        for item, lam in lv["loadings_raw"].items():
            assert 0.5 <= abs(lam) <= 1 and (lam < 0) == (item in lv["reverse"]), item
    assert set(t["drivers"]["top_drivers"]) == {"Total", *t["segments"]}
    pop = t["population"]
    assert set(pop["construct_index"]) == {c.id for c in q.constructs}
    for col, stats in pop["columns"].items():
        if "mean" in stats:
            scale = q.scale_of(col)
            assert scale.low < stats["mean"] < scale.high, col
    shares = [t["population_by_segment"][s]["share"] for s in t["segments"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)


def test_reverse_keyed_item_answers_reversed(bundles):
    b = bundles["employee_engagement"]
    x = b.df[["wl_manageable", "wl_time", "wl_overwhelmed"]].astype(float)
    r = x.corr()
    assert r.loc["wl_manageable", "wl_time"] > 0.4
    assert r.loc["wl_manageable", "wl_overwhelmed"] < -0.3


def test_open_answers_follow_their_themes(bundles):
    b = bundles["employee_engagement"]
    resp = pd.read_csv(b.dir / "truth_respondents.csv")
    comments = b.df["comment"]
    assert 0.25 < comments.notna().mean() < 0.45
    assert (resp["comment_themes"].notna() == comments.notna().to_numpy()).all()
    counts = b.truth["open_text_counts"]["comment"]
    assert set(counts) == set(b.truth["declared"]["open_text"]["comment"]["themes"])
    workload = resp["comment_themes"].fillna("").str.contains("workload")
    assert resp.loc[workload, "workload"].mean() < resp.loc[~workload, "workload"].mean() - 0.3
    phrases = b.truth["declared"]["open_text"]["comment"]["themes"]["pay"]["phrases"]
    assert comments.dropna().str.contains(phrases[0], regex=False).any()


def test_multi_response_follows_the_segment_probabilities(bundles):
    b = bundles["product_feedback"]
    df = b.df
    opts = [c for c in b.q.columns_of("features_used")]
    none = df["features_used_99"] == 1
    assert not (none & (df[[c for c in opts if c != "features_used_99"]] == 1).any(axis=1)).any()
    use = df.groupby("plan")["features_used_6"].mean()      # integrations
    assert use[4.0] > use[1.0] + 0.4
    assert b.truth["multi"]["features_used"]["population_share"]["1"] == pytest.approx(0.85)
    emails = df["email"].dropna()
    assert len(emails) and emails.str.endswith("@example.com").all()
    assert (df.loc[df["contact_ok"] == 2, "email"].isna()).all()


# -- the truth file's own checks -------------------------------------------------------------
def test_truth_file_errors_are_located(bundles, tmp_path):
    b = bundles["employee_engagement"]
    text = (b.dir / "simulation.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "simulation.yaml"
    bad.write_text(text.replace("mgr_trust: 0.78", "mgr_trusty: 0.78"), encoding="utf-8")
    line = next(i for i, s in enumerate(bad.read_text().splitlines(), 1) if "mgr_trusty" in s)
    with pytest.raises(SurveykitError, match=rf"constructs\.manager_support\.items\.mgr_trusty "
                                             rf"\(line {line}\): 'mgr_trusty' is not a column"):
        simulate_from_truth(b.q, bad)
    truth = YAML(typ="safe").load(text)
    truth["questionnaire"] = "pc_customers"
    with pytest.raises(SurveykitError, match="written for 'pc_customers'"):
        simulate_from_truth(b.q, truth)
    truth = YAML(typ="safe").load(text)
    del truth["profile"]["location"]
    with pytest.raises(SurveykitError, match="weighting variable 'location'"):
        simulate_from_truth(b.q, truth)
    assert main(["simulate", "--questionnaire", str(b.qpath), "--truth",
                 str(tmp_path / "nothing.yaml"), "--out", str(tmp_path / "x")]) == 2


def test_a_truth_file_can_plant_quality_problems(bundles):
    b = bundles["satisfaction_index"]
    sim = simulate_from_truth(b.q, b.dir / "simulation.yaml", n=300, problems=3)
    counts = sim.truth["problems"]["counts"]
    assert counts["speeder"] == counts["duplicate_id"] == 3 and len(sim.problems) >= 18
    found = check_responses(b.q, sim.responses).table
    assert {"out_of_range", "duplicate_id", "answered_not_asked"} <= set(found["rule"])
