"""Synthetic survey respondents with a declared ground truth.

:func:`simulate` draws respondents that obey a questionnaire's routing and scales. For the
PC customer questionnaire (``questionnaires/pc_customers.yaml``) the answers come from a
declared ground truth (:func:`default_truth`):

- the sample composition (segment x city tier x gender) is skewed away from the population
  by known selection factors, so unweighted estimates are biased and weighting helps;
- latent factors drive the grid items with known standardized loadings;
- attribute performance drives overall satisfaction with driver weights that differ by
  segment; satisfaction drives NPS and repurchase intent and lowers complaints;
- three needs segments (latent classes) drive the attitude grid;
- a CRM extract links spend and recency to loyalty.

A small, known set of rows then carries planted quality problems (straight-liners, speeders,
out-of-range codes, text in numeric columns, routing breaks, "none of these" conflicts,
duplicate ids). Population values (``truth["population"]``) come from a very large draw of
the POPULATION composition, so they are what a well-weighted estimate should approach.

For any other questionnaire the generator is generic (plausible codes on every scale, routing
obeyed via :meth:`Questionnaire.asked`), and ``truth`` only records what was done.

:func:`write_demo` writes the demo folder byte-for-byte reproducibly from its seed; the
``surveykit simulate`` command calls it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._util import atomic_write
from .errors import SurveykitError
from .questionnaire import Questionnaire

__all__ = ["Simulation", "simulate", "default_truth", "write_demo", "PROBLEM_RULES"]

PROBLEM_RULES = ("straight_lining", "speeder", "out_of_range", "non_numeric",
                 "answered_not_asked", "asked_not_answered", "exclusive_conflict", "duplicate_id")

DEMO_FILES = ("responses.csv", "targets.yaml", "truth.json", "planted_problems.csv", "crm.csv",
              "truth_respondents.csv")


class SimulationError(SurveykitError, ValueError):
    """Bad arguments to the simulator (n, seed, truth that does not fit the questionnaire)."""


# ---------------------------------------------------------------------------------------
# the declared ground truth of the PC demo
# ---------------------------------------------------------------------------------------
SEGMENTS = {1: "Students", 2: "Young professionals", 3: "Older users", 4: "Large enterprises",
            5: "SMEs", 6: "Government & education"}
REGIONS = {1: "Tier 1", 2: "New tier 1", 3: "Tier 2", 4: "Tier 3", 5: "Tier 4 / rural"}
NEEDS = {1: "Performance seekers", 2: "Value seekers", 3: "Service seekers"}

ATTRIBUTE_FACTORS = {
    "performance": {"sat_cpu": 0.82, "sat_gpu": 0.78, "sat_screen": 0.70, "sat_cooling": 0.65},
    "mobility": {"sat_battery": 0.78, "sat_portab": 0.80, "sat_keyboard": 0.62},
    "dependability": {"sat_reliab": 0.80, "sat_updates": 0.70, "sat_compat": 0.72,
                      "sat_security": 0.68},
    "brand_value": {"sat_value": 0.72, "sat_brand": 0.78, "sat_innov": 0.70},
    "service_quality": {"svc_speed": 0.80, "svc_resolution": 0.82, "svc_warranty": 0.70,
                        "svc_network": 0.72, "svc_onsite": 0.68, "svc_online": 0.74,
                        "svc_staff": 0.66, "svc_delivery": 0.55},
}
ATTITUDE_FACTORS = {
    "perf_orient": {"att_latest": 0.0, "att_paymore": 0.0, "att_specs": 0.0},
    "value_orient": {"att_compare": 0.0, "att_deal": 0.0, "att_promo": 0.0},
    "service_orient": {"att_service": 0.0, "att_inperson": 0.0, "att_onevendor": 0.0},
}


def default_truth() -> dict:
    """The declared ground truth of the PC customer demo (a JSON-able dict).

    Keys: ``composition`` (population shares and sample selection factors), ``factors``
    (standardized loadings), ``factor_correlations``, ``item_means`` (centre of each 0-10
    item), ``factor_shifts`` (factor means by segment and region, in SD units),
    ``drivers`` (outcome, attributes, weights and top drivers by segment), ``links``
    (satisfaction -> NPS, repurchase, complaint), ``needs_segments``, ``missing`` rates,
    ``problems`` (rows per planted rule) and ``crm``. :func:`simulate` adds the
    population values, the sample skew and the needs-segment separation.

    Examples
    --------
    >>> truth = default_truth()
    >>> truth["drivers"]["top"]["3"][0]
    'svc_speed'
    """
    attrs = ["sat_cpu", "sat_screen", "sat_battery", "sat_portab", "sat_reliab", "sat_compat",
             "sat_security", "sat_value", "sat_brand", "svc_speed"]
    small = dict.fromkeys(attrs, 0.02)

    def w(**big):
        return {a: big.get(a, small[a]) for a in attrs}

    weights = {
        "1": w(sat_value=0.42, sat_battery=0.22, sat_portab=0.06),          # students: price
        "2": w(sat_cpu=0.38, sat_screen=0.20, sat_portab=0.08),            # young pros: perf
        "3": w(svc_speed=0.40, sat_value=0.20, sat_battery=0.06),          # older: service
        "4": w(sat_security=0.36, sat_reliab=0.20, svc_speed=0.08),        # large: security
        "5": w(sat_value=0.38, svc_speed=0.20, sat_reliab=0.06),           # SMEs: cost, service
        "6": w(sat_security=0.38, sat_value=0.26, sat_compat=0.04),        # gov & edu
    }
    top = {s: sorted(ws, key=ws.get, reverse=True)[:2] for s, ws in weights.items()}
    return {
        "questionnaire": "pc_customers",
        "composition": {
            "segment": {"population": {"1": 14.0, "2": 24.0, "3": 22.0, "4": 14.0, "5": 16.0,
                                       "6": 10.0},
                        "selection_factor": {"1": 0.9, "2": 1.45, "3": 0.6, "4": 0.9, "5": 1.1,
                                             "6": 1.3},
                        "labels": {str(k): v for k, v in SEGMENTS.items()}},
            "region_given_segment": {
                "1": [0.22, 0.24, 0.24, 0.18, 0.12], "2": [0.26, 0.26, 0.22, 0.15, 0.11],
                "3": [0.12, 0.15, 0.24, 0.24, 0.25], "4": [0.30, 0.26, 0.22, 0.14, 0.08],
                "5": [0.14, 0.18, 0.26, 0.23, 0.19], "6": [0.14, 0.16, 0.24, 0.24, 0.22]},
            "region": {"selection_factor": {"1": 1.9, "2": 1.25, "3": 0.9, "4": 0.7, "5": 0.5},
                       "labels": {str(k): v for k, v in REGIONS.items()}},
            "gender": {"population_within_individuals": {"1": 49.0, "2": 49.0, "3": 2.0},
                       "selection_factor": {"1": 1.35, "2": 0.75, "3": 1.0}},
        },
        "factors": {f: dict(v) for f, v in ATTRIBUTE_FACTORS.items()},
        "factor_correlations": {
            "product": 0.45, "product_service": 0.35,
            "note": "every pair of the four product factors correlates 0.45; each with "
                    "service_quality 0.35 (within segment)"},
        "item_means": {"sat_cpu": 7.3, "sat_gpu": 6.9, "sat_screen": 7.2, "sat_battery": 6.3,
                       "sat_portab": 6.9, "sat_cooling": 6.4, "sat_keyboard": 7.0,
                       "sat_reliab": 7.1, "sat_updates": 6.5, "sat_compat": 7.1,
                       "sat_security": 6.9, "sat_value": 6.4, "sat_brand": 7.3, "sat_innov": 6.7,
                       "svc_speed": 6.2, "svc_resolution": 6.6, "svc_warranty": 6.9,
                       "svc_network": 6.5, "svc_onsite": 6.8, "svc_online": 6.4,
                       "svc_staff": 6.7, "svc_delivery": 7.4},
        "item_sd": 1.7,
        "factor_shifts": {
            "segment": {"1": {"brand_value": -0.25, "mobility": 0.1},
                        "2": {"performance": 0.3, "mobility": 0.2, "brand_value": 0.2},
                        "3": {"service_quality": -0.35, "performance": -0.1},
                        "4": {"dependability": 0.25, "service_quality": 0.2},
                        "5": {"service_quality": -0.15, "brand_value": -0.1},
                        "6": {"dependability": 0.05}},
            "region": {"1": {"service_quality": 0.35, "brand_value": 0.1},
                       "2": {"service_quality": 0.15},
                       "3": {},
                       "4": {"service_quality": -0.2},
                       "5": {"service_quality": -0.4, "brand_value": -0.1}},
        },
        "drivers": {
            "outcome": "overall_sat",
            "segment_variable": "segment",
            "attributes": attrs,
            "weights": weights,
            "top": top,
            "segment_mean": {"1": 7.0, "2": 7.7, "3": 6.5, "4": 7.5, "5": 6.9, "6": 7.1},
            "region_shift": {"1": 0.3, "2": 0.15, "3": 0.0, "4": -0.15, "5": -0.3},
            "noise_sd": 0.9,
            "model": "overall_sat = round(clip(segment_mean[s] + region_shift[r] + "
                     "sum_j weights[s][j] * (x_j - item_means[j]) + N(0, noise_sd), 0, 10)); "
                     "x_j is the 0-10 code of attribute j (its true value where the answer "
                     "is don't know / not used); weights are per scale point",
        },
        "links": {
            "nps": {"from": "overall_sat", "intercept": 0.3, "slope": 1.05, "noise_sd": 1.0,
                    "model": "nps = round(clip(intercept + slope * overall_sat + "
                             "N(0, noise_sd), 0, 10))"},
            "repurchase": {"from": "overall_sat", "slope": 0.6, "centre": 7.0,
                           "cutpoints": [-1.9, -1.0, -0.1, 1.1],
                           "model": "ordinal probit: z = slope * (overall_sat - centre) + "
                                    "N(0, 1); repurchase = 1 + number of cutpoints below z"},
            "complaint": {"from": ["overall_sat", "svc_speed"], "intercept": -1.55,
                          "slope_overall_sat": -0.45, "slope_svc_speed": -0.2,
                          "model": "P(complaint == 1) = logistic(intercept + "
                                   "slope_overall_sat * (overall_sat - 7) + "
                                   "slope_svc_speed * (svc_speed - 6.2))"},
        },
        "needs_segments": {
            "items": ["att_latest", "att_paymore", "att_specs", "att_compare", "att_deal",
                      "att_promo", "att_service", "att_inperson", "att_onevendor"],
            "k": 3,
            "labels": {str(k): v for k, v in NEEDS.items()},
            "traits": ["perf_orient", "value_orient", "service_orient"],
            "trait_means": {"1": [1.05, -0.5, -0.3], "2": [-0.5, 1.05, -0.3],
                            "3": [-0.4, -0.3, 1.05]},
            "trait_sd_within": 0.55,
            "item_noise_sd": {"att_latest": 0.5, "att_paymore": 0.6, "att_specs": 0.8,
                              "att_compare": 0.55, "att_deal": 0.65, "att_promo": 0.75,
                              "att_service": 0.5, "att_inperson": 0.7, "att_onevendor": 0.8},
            "reverse_items": ["att_specs"],
            "class_probabilities_by_segment": {
                "1": [0.25, 0.60, 0.15], "2": [0.55, 0.25, 0.20], "3": [0.10, 0.35, 0.55],
                "4": [0.25, 0.15, 0.60], "5": [0.15, 0.50, 0.35], "6": [0.15, 0.40, 0.45]},
        },
        "missing": {
            "dont_know": {"sat_gpu": 0.02, "sat_updates": 0.03, "sat_compat": 0.02,
                          "sat_security": 0.03, "default_attribute": 0.01, "service": 0.01,
                          "repurchase": 0.02},
            "not_used": {"individual": {"svc_speed": 0.06, "svc_resolution": 0.10,
                                        "svc_warranty": 0.05, "svc_network": 0.15,
                                        "svc_onsite": 0.55, "svc_online": 0.20,
                                        "svc_staff": 0.25, "svc_delivery": 0.03},
                         "organisation": {"svc_speed": 0.05, "svc_resolution": 0.06,
                                          "svc_warranty": 0.04, "svc_network": 0.10,
                                          "svc_onsite": 0.20, "svc_online": 0.15,
                                          "svc_staff": 0.50, "svc_delivery": 0.05}},
            "email_given": 0.12,
            "comment_given": 0.25,
        },
        "problems": {"rows_per_rule": 6},
        "crm": {"as_of": "2026-11-01", "survey_ids_missing": 40, "crm_only_rows": 200},
        "population_draw": 400_000,
    }


# ---------------------------------------------------------------------------------------
# the result object
# ---------------------------------------------------------------------------------------
@dataclass
class Simulation:
    """What :func:`simulate` returns.

    Attributes
    ----------
    responses : DataFrame
        Raw data as a survey platform exports it: one row per respondent, numeric codes,
        declared missing codes (98 don't know, 97 not used) present, NaN where a question
        was not asked, 0/1 multi-response columns where asked; with ``problems=True`` also
        the planted quality problems.
    truth : dict
        The declared and computed ground truth (JSON-able).
    problems : DataFrame
        ``resp_id, question, rule, row, detail``: one row per planted problem.
    crm : DataFrame
        CRM extract keyed by ``customer_id`` (empty for non-PC questionnaires).
    targets : dict
        Population margins for weighting (``total, unit, margins``).
    respondents : DataFrame
        Per-respondent truth of the clean sample: ``resp_id``, true ``segment``,
        ``needs_segment`` and latent factor scores.
    """

    responses: pd.DataFrame
    truth: dict
    problems: pd.DataFrame
    crm: pd.DataFrame
    targets: dict
    respondents: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """Counts of respondents, columns and planted problems by rule."""
        rows = [("respondents", len(self.responses)), ("columns", self.responses.shape[1]),
                ("CRM rows", len(self.crm))]
        counts = self.problems["rule"].value_counts() if len(self.problems) else {}
        rows += [(f"planted: {r}", int(counts.get(r, 0))) for r in PROBLEM_RULES]
        return pd.DataFrame(rows, columns=["item", "value"])

    def to_frame(self) -> pd.DataFrame:
        """The responses (a copy)."""
        return self.responses.copy()

    def _repr_html_(self) -> str:
        return ("<b>Simulation</b> of "
                f"{self.truth.get('questionnaire', '?')} (seed {self.truth.get('seed')})"
                + self.summary().to_html(index=False))

    def __repr__(self) -> str:
        return (f"Simulation(n={len(self.responses)}, columns={self.responses.shape[1]}, "
                f"problems={len(self.problems)})")


# ---------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------
def simulate(questionnaire: Questionnaire, n: int = 4000, seed: int = 20261122,
             truth: dict | None = None, *, problems: bool = True) -> Simulation:
    """Simulate ``n`` respondents to ``questionnaire`` from a declared ground truth.

    Parameters
    ----------
    questionnaire : Questionnaire
        A loaded questionnaire. The PC customer questionnaire gets the full ground-truth
        model; any other questionnaire gets generic answers that obey its scales and routing.
    n : int
        Number of respondents (rows), at least 100 with planted problems, else at least 10.
    seed : int
        Seed of the random generator; the same seed gives identical output.
    truth : dict, optional
        Ground truth; ``None`` uses :func:`default_truth` for the PC questionnaire.
    problems : bool
        Plant the known quality problems (listed in ``Simulation.problems``). With
        ``False`` the data are clean: routing obeyed, codes on their scales, no rule tripped.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")  # doctest: +SKIP
    >>> sim = simulate(q, n=4000, seed=20261122)  # doctest: +SKIP
    >>> sim.truth["drivers"]["top"]["2"]  # doctest: +SKIP
    ['sat_cpu', 'sat_screen']
    """
    if not isinstance(questionnaire, Questionnaire):
        raise SimulationError("simulate() needs a loaded Questionnaire; use "
                              "surveykit.questionnaire.load_questionnaire(path) first")
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise SimulationError(f"n must be an integer number of respondents, got {n!r}")
    min_n = 100 if problems else 10
    if n < min_n:
        raise SimulationError(f"n={n} is too small; use n >= {min_n}"
                              + (" (planted problems need rows)" if problems else ""))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SimulationError(f"seed must be a non-negative integer, got {seed!r}")
    n, seed = int(n), int(seed)
    sample_ss, pop_ss, problem_ss, crm_ss = np.random.SeedSequence(seed).spawn(4)
    pc = _is_pc(questionnaire)
    if truth is None:
        truth = default_truth() if pc else {"questionnaire": questionnaire.id}
    truth = json.loads(json.dumps(truth))  # a private, JSON-clean copy
    if "drivers" in truth:
        _check_truth(questionnaire, truth, pc)
        model = _PCModel(questionnaire, truth)
        intended, respondents = model.sample(np.random.default_rng(sample_ss), n)
    else:
        model = None
        intended, respondents = {}, pd.DataFrame()
    rng = np.random.default_rng(sample_ss.spawn(1)[0])
    clean = _assemble(questionnaire, n, intended, rng)
    if model is not None:
        model.finish_truth(clean, np.random.default_rng(pop_ss), seed)
        targets = model.targets(n)
        crm = model.crm(clean, respondents, np.random.default_rng(crm_ss))
    else:
        targets, crm = _generic_targets(questionnaire, clean), pd.DataFrame()
    truth.update({"seed": seed, "n": n, "questionnaire": questionnaire.id})
    if problems:
        rows_per_rule = int(truth.get("problems", {}).get("rows_per_rule", 6))
        responses, planted = _plant_problems(questionnaire, clean,
                                             np.random.default_rng(problem_ss), rows_per_rule)
    else:
        responses = clean
        planted = pd.DataFrame(columns=["resp_id", "question", "rule", "row", "detail"])
    truth["problems"] = {"rows_per_rule": int(truth.get("problems", {}).get("rows_per_rule", 6)),
                         "planted": bool(problems),
                         "counts": {r: int((planted["rule"] == r).sum()) for r in PROBLEM_RULES}}
    return Simulation(responses=responses, truth=_json_clean(truth), problems=planted, crm=crm,
                      targets=targets, respondents=respondents)


def write_demo(questionnaire: Questionnaire, out_dir, *, n: int = 4000,
               seed: int = 20261122) -> list[Path]:
    """Simulate and write the demo folder, byte-for-byte reproducible from ``seed``.

    Writes ``responses.csv``, ``targets.yaml``, ``truth.json``, ``planted_problems.csv``,
    ``crm.csv`` and ``truth_respondents.csv`` (stable number formatting, sorted keys, no
    timestamps), each through a temporary file.

    Examples
    --------
    >>> write_demo(q, "data/demo", n=4000, seed=20261122)  # doctest: +SKIP
    [PosixPath('data/demo/responses.csv'), ...]
    """
    sim = simulate(questionnaire, n, seed)
    out = Path(out_dir)
    texts = {
        "responses.csv": _csv_text(sim.responses),
        "targets.yaml": _targets_yaml(sim.targets, sim.truth, questionnaire),
        "truth.json": json.dumps(sim.truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        "planted_problems.csv": _csv_text(sim.problems),
        "crm.csv": _csv_text(sim.crm),
        "truth_respondents.csv": _csv_text(sim.respondents),
    }
    return [atomic_write(out / name, texts[name].encode("utf-8")) for name in DEMO_FILES]


# ---------------------------------------------------------------------------------------
# generic assembly: every question, routing via the questionnaire
# ---------------------------------------------------------------------------------------
def _is_pc(q: Questionnaire) -> bool:
    cols = q.variables()
    need = {"cust_type", "age", "org_size", "org_type", "region", "overall_sat", "nps",
            "repurchase", "complaint", "segment", *ATTRIBUTE_FACTORS["performance"]}
    return need <= set(cols)


TRUTH_KEYS = ("composition", "factors", "factor_correlations", "item_means", "item_sd",
              "factor_shifts", "drivers", "links", "needs_segments", "missing", "crm")


def _check_truth(q: Questionnaire, truth: dict, pc: bool) -> None:
    """A ground-truth model must be complete and name columns the questionnaire has."""
    if not pc:
        raise SimulationError(f"the ground-truth model (truth['drivers']) is written for the PC "
                              f"customer questionnaire; {q.id!r} lacks its columns. Pass "
                              "truth=None for generic answers that obey routing and scales")
    missing = [k for k in TRUTH_KEYS if k not in truth]
    if missing:
        raise SimulationError(f"truth lacks {', '.join(missing)}; start from default_truth() "
                              "and change the values you need")
    cols = q.variables()
    named = [i for items in truth["factors"].values() for i in items]
    named += list(truth["drivers"]["attributes"]) + list(truth["needs_segments"]["items"])
    unknown = sorted({c for c in named if c not in cols})
    if unknown:
        raise SimulationError(f"truth names columns the questionnaire {q.id!r} does not have: "
                              f"{', '.join(unknown)}")
    factor_items = {i for items in truth["factors"].values() for i in items}
    loose = [a for a in truth["drivers"]["attributes"] if a not in factor_items]
    if loose:
        raise SimulationError(f"driver attributes {', '.join(loose)} have no factor loading; "
                              "add them to truth['factors']")
    for seg, weights in truth["drivers"]["weights"].items():
        extra = sorted(set(weights) - set(truth["drivers"]["attributes"]))
        if extra:
            raise SimulationError(f"drivers.weights[{seg!r}] names {', '.join(extra)}, which "
                                  "are not in drivers.attributes")


def _valid_codes(q: Questionnaire, name: str) -> list:
    var = q.variable(name)
    return [c for c in var.value_labels if isinstance(c, int | float)]


def _generic_column(q: Questionnaire, name: str, rng, n: int, latent: np.ndarray):
    """Plausible values of one column when the truth says nothing about it."""
    var = q.variable(name)
    if var.kind in ("single", "rating", "grid_item", "nps", "rank_option"):
        codes = sorted(_valid_codes(q, name))
        if not codes:
            return np.full(n, np.nan)
        if var.kind == "single":
            return rng.choice(codes, size=n).astype(float)
        z = 0.6 * latent + 0.8 * rng.standard_normal(n)
        pos = np.clip(np.rint((z + 2.2) / 4.4 * (len(codes) - 1)), 0, len(codes) - 1)
        return np.asarray(codes, dtype=float)[pos.astype(int)]
    if var.kind == "numeric":
        lo = var.min if var.min is not None else 0.0
        hi = var.max if var.max is not None else lo + 100.0
        return np.rint(rng.uniform(lo, hi, n))
    if var.kind == "multi_option":
        return (rng.random(n) < 0.3).astype(float)
    return np.full(n, np.nan, dtype=object)


def _assemble(q: Questionnaire, n: int, intended: dict, rng) -> pd.DataFrame:
    """Build the clean raw frame: intended values where given, generic ones elsewhere, then
    routing applied question by question (routing only reads earlier questions)."""
    roles = q.roles
    cols: dict[str, object] = {}
    latent = rng.standard_normal(n)
    for name, var in q.variables().items():
        if var.kind == "derived":
            continue
        if name in intended:
            cols[name] = intended[name]
        elif name == roles.respondent_id:
            cols[name] = np.arange(100001, 100001 + n)
        elif var.kind == "duration":
            cols[name] = np.rint(rng.lognormal(np.log(600), 0.2, n))
        elif var.kind == "customer_id":
            ids = rng.choice(900000, size=n, replace=False) + 100000
            cols[name] = np.array([f"C{i:06d}" for i in ids], dtype=object)
        else:
            cols[name] = _generic_column(q, name, rng, n, latent)
    df = pd.DataFrame(cols)
    for question in q.questions:
        names = [c for c in q.columns_of(question.id) if c in df.columns]
        asked = q.asked(df, question.id).to_numpy()
        df.loc[~asked, names] = np.nan
        _complete(q, question, df, asked, rng, intended)
        if question.type == "grid":  # before any later question is routed on its items
            _break_straight_lines(q, df, [it.id for it in question.items])
    return df


def _complete(q: Questionnaire, question, df: pd.DataFrame, asked: np.ndarray, rng,
              intended: dict) -> None:
    """Make asked answers consistent: multi options 0/1 with exclusives alone, other-specify
    text only when ticked, rank positions unique, required answers present."""
    qid, kind = question.id, question.type
    if kind == "multi":
        opts = question.options
        cols = [f"{qid}_{o.code}" for o in opts]
        block = df[cols].to_numpy(dtype=float, copy=True)
        block[asked] = np.nan_to_num(block[asked], nan=0.0)
        excl = [i for i, o in enumerate(opts) if o.exclusive]
        normal = [i for i, o in enumerate(opts) if not o.exclusive]
        for i in excl:  # an exclusive option clears every other
            on = asked & (block[:, i] == 1)
            block[np.ix_(on, [j for j in range(len(opts)) if j != i])] = 0
        if question.required:
            none = asked & (np.nansum(np.where(np.isnan(block), 0, block), axis=1) == 0)
            target = excl[0] if excl else None
            if none.any():
                if target is not None:
                    block[none, target] = 1
                else:
                    pick = rng.choice(normal, size=int(none.sum()))
                    block[np.flatnonzero(none), pick] = 1
        df[cols] = block
        for o in opts:
            if o.other:
                tcol, ocol = f"{qid}_{o.code}_text", f"{qid}_{o.code}"
                ticked = df[ocol].to_numpy() == 1
                text = df[tcol] if tcol in intended else pd.Series(np.nan, index=df.index,
                                                                   dtype=object)
                text = text.astype(object).where(ticked, np.nan)
                text[ticked & text.isna().to_numpy()] = "Other"
                df[tcol] = text
    elif kind == "rank":
        cols = [f"{qid}_{o.code}" for o in question.options]
        if not any(c in intended for c in cols):
            k = question.rank_max or len(cols)
            order = np.argsort(rng.random((len(df), len(cols))), axis=1)[:, :k]
            block = np.full((len(df), len(cols)), np.nan)
            rows = np.arange(len(df))[:, None]
            block[rows, order] = np.arange(1, k + 1)
            block[~asked] = np.nan
            df[cols] = block
    elif kind == "single":
        for o in (question.options or []):
            if o.other:
                tcol = f"{qid}_{o.code}_text"
                ticked = df[qid].to_numpy() == o.code
                text = df[tcol].astype(object).where(ticked, np.nan)
                text[ticked & text.isna().to_numpy()] = "Other"
                df[tcol] = text
    if question.required and kind not in ("multi", "rank", "open"):
        for name in q.columns_of(qid):
            if name.endswith("_text"):
                continue
            hole = asked & df[name].isna().to_numpy()
            if hole.any():
                df.loc[hole, name] = _generic_column(q, name, rng, int(hole.sum()),
                                                     rng.standard_normal(int(hole.sum())))
    if question.required and kind == "open":
        hole = asked & df[qid].isna().to_numpy()
        df[qid] = df[qid].astype(object)
        df.loc[hole, qid] = "No comment"


def _break_straight_lines(q: Questionnaire, df: pd.DataFrame, items: list[str]) -> None:
    """Clean data must not look straight-lined: where three or more answered items of a grid
    share one valid code, move one item by a scale point (deterministically)."""
    if len(items) < 3:
        return
    codes = sorted(_valid_codes(q, items[0]))
    if len(codes) < 2:
        return
    block = df[items].to_numpy(dtype=float, copy=True)
    valid = np.isin(block, codes)
    lo = np.where(valid, block, np.inf).min(axis=1)
    hi = np.where(valid, block, -np.inf).max(axis=1)
    flat = (valid.sum(axis=1) >= 3) & (lo == hi)
    for r in np.flatnonzero(flat):
        j = int(np.flatnonzero(valid[r])[r % int(valid[r].sum())])
        v = block[r, j]
        block[r, j] = v - 1 if v > codes[0] else v + 1
    df[items] = block


def _generic_targets(q: Questionnaire, df: pd.DataFrame) -> dict:
    margins = []
    for name in q.roles.weighting:
        if name in df.columns:
            codes = _valid_codes(q, name)
            if codes:
                share = np.round(100.0 / len(codes), 1)
                margins.append({"variable": name,
                                "targets": dict.fromkeys(codes, float(share))})
    return {"total": len(df), "unit": "percent", "margins": margins}


# ---------------------------------------------------------------------------------------
# the PC model
# ---------------------------------------------------------------------------------------
def _probs(x) -> np.ndarray:
    p = np.asarray(x, dtype=float)
    return p / p.sum()


def _pick(rng, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix -> 0-based index."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random((len(probs), 1)) > cum).sum(axis=1)


def _round_codes(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.rint(x), lo, hi)


class _PCModel:
    """The generating model behind :func:`default_truth`."""

    product = ["performance", "mobility", "dependability", "brand_value"]

    def __init__(self, q: Questionnaire, truth: dict):
        self.q, self.truth = q, truth
        self.factors = list(truth["factors"])
        self.items = {i: f for f, items in truth["factors"].items() for i in items}
        comp = truth["composition"]
        self.segments = [int(s) for s in comp["segment"]["population"]]
        self.regions = list(range(1, len(comp["region_given_segment"]["1"]) + 1))
        self.genders = [int(g) for g in comp["gender"]["population_within_individuals"]]

    # -- composition ------------------------------------------------------------------
    def cells(self, *, sample: bool) -> tuple[list[tuple[int, int, int]], np.ndarray]:
        """(segment, region, gender or 0) cells with population (or sample) probabilities."""
        comp = self.truth["composition"]
        seg_p = comp["segment"]["population"]
        gen_p = comp["gender"]["population_within_individuals"]
        cells, probs = [], []
        for s in self.segments:
            reg = _probs(comp["region_given_segment"][str(s)])
            genders = self.genders if s <= 3 else [0]
            for r in self.regions:
                for g in genders:
                    p = seg_p[str(s)] / 100 * reg[r - 1] * (gen_p[str(g)] / 100 if g else 1.0)
                    if sample:
                        p *= comp["segment"]["selection_factor"][str(s)]
                        p *= comp["region"]["selection_factor"][str(r)]
                        p *= comp["gender"]["selection_factor"][str(g)] if g else 1.0
                    cells.append((s, r, g))
                    probs.append(p)
        return cells, _probs(probs)

    def margins(self, *, sample: bool) -> dict:
        cells, p = self.cells(sample=sample)
        seg = {s: 0.0 for s in self.segments}
        reg = {r: 0.0 for r in self.regions}
        gen = {g: 0.0 for g in self.genders}
        for (s, r, g), pi in zip(cells, p, strict=True):
            seg[s] += pi
            reg[r] += pi
            if g:
                gen[g] += pi
        tot = sum(gen.values())
        return {"segment": {k: 100 * v for k, v in seg.items()},
                "region": {k: 100 * v for k, v in reg.items()},
                "gender": {k: 100 * v / tot for k, v in gen.items()}}

    def targets(self, n: int) -> dict:
        m = self.margins(sample=False)
        return {"total": n, "unit": "percent", "margins": [
            {"variable": "segment", "targets": _hundred(m["segment"])},
            {"variable": "region", "targets": _hundred(m["region"])},
            {"variable": "gender", "within": {"cust_type": 1}, "targets": _hundred(m["gender"])},
        ]}

    # -- the outcome chain (used for the sample and for the population draw) ------------
    def core(self, rng, seg: np.ndarray, reg: np.ndarray) -> dict:
        t, n = self.truth, len(seg)
        k = len(self.factors)
        corr = np.full((k, k), t["factor_correlations"]["product"])
        for i, f in enumerate(self.factors):
            if f not in self.product:
                corr[i, :] = corr[:, i] = t["factor_correlations"]["product_service"]
        np.fill_diagonal(corr, 1.0)
        chol = np.linalg.cholesky(corr)
        F = rng.standard_normal((n, k)) @ chol.T
        for level, codes in (("segment", seg), ("region", reg)):
            for code, shifts in t["factor_shifts"][level].items():
                rows = codes == int(code)
                for f, d in shifts.items():
                    F[rows, self.factors.index(f)] += d
        out = {"F": F}
        sd = t["item_sd"]
        for item, f in self.items.items():
            lam = t["factors"][f][item]
            z = lam * F[:, self.factors.index(f)] + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
            out[item] = _round_codes(t["item_means"][item] + sd * z, 0, 10)
        d = t["drivers"]
        mean = np.zeros(n)
        lin = np.zeros(n)
        for s in self.segments:
            rows = seg == s
            mean[rows] = d["segment_mean"][str(s)]
            for a, w in d["weights"][str(s)].items():
                lin[rows] += w * (out[a][rows] - t["item_means"][a])
        for r, shift in d["region_shift"].items():
            mean[reg == int(r)] += shift
        overall = _round_codes(mean + lin + d["noise_sd"] * rng.standard_normal(n), 0, 10)
        ln = t["links"]
        nps = _round_codes(ln["nps"]["intercept"] + ln["nps"]["slope"] * overall
                           + ln["nps"]["noise_sd"] * rng.standard_normal(n), 0, 10)
        rp = ln["repurchase"]
        zr = rp["slope"] * (overall - rp["centre"]) + rng.standard_normal(n)
        repurchase = 1.0 + (zr[:, None] > np.asarray(rp["cutpoints"])[None, :]).sum(axis=1)
        cp = ln["complaint"]
        eta = (cp["intercept"] + cp["slope_overall_sat"] * (overall - 7)
               + cp["slope_svc_speed"] * (out["svc_speed"] - 6.2))
        complaint = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), 1.0, 2.0)
        out.update(overall_sat=overall, nps=nps, repurchase=repurchase, complaint=complaint)
        return out

    # -- the sample ---------------------------------------------------------------------
    def sample(self, rng, n: int) -> tuple[dict, pd.DataFrame]:
        t = self.truth
        cells, p = self.cells(sample=True)
        idx = rng.choice(len(cells), size=n, p=p)
        cell = np.asarray(cells)[idx]
        seg, reg, gen = cell[:, 0], cell[:, 1], cell[:, 2].astype(float)
        ind = seg <= 3
        core = self.core(rng, seg, reg)
        v: dict[str, object] = {}
        v["cust_type"] = np.where(ind, 1.0, 2.0)
        v["region"] = reg.astype(float)
        v["gender"] = np.where(ind, gen, np.nan)
        # age within the segment's band
        age = np.full(n, np.nan)
        age[seg == 1] = rng.integers(18, 25, (seg == 1).sum())
        age[seg == 2] = rng.integers(25, 41, (seg == 2).sum())
        older = seg == 3
        age[older] = np.clip(np.rint(41 + rng.gamma(2.2, 7.5, older.sum())), 41, 88)
        v["age"] = age
        occ_p = {1: [0.86, 0.01, 0.02, 0.02, 0.05, 0, 0.04],
                 2: [0.03, 0.25, 0.27, 0.17, 0.25, 0, 0.03],
                 3: [0, 0.12, 0.08, 0.05, 0.35, 0.30, 0.10]}
        occ = np.full(n, np.nan)
        for s, pr in occ_p.items():
            rows = seg == s
            occ[rows] = 1 + _pick(rng, np.tile(_probs(pr), (rows.sum(), 1)))
        retire = older & (age >= 62) & (rng.random(n) < 0.6)
        occ[retire] = 6
        v["occupation"] = occ
        gaming_p = np.select([seg == 1, seg == 2], [0.45, 0.35], 0.08)
        v["use_1"] = (rng.random(n) < 0.8).astype(float)
        v["use_2"] = (rng.random(n) < gaming_p).astype(float)
        v["use_3"] = (rng.random(n) < np.where(occ == 4, 0.85, 0.12)).astype(float)
        v["use_4"] = (rng.random(n) < np.where(occ == 3, 0.7, 0.08)).astype(float)
        v["use_5"] = (rng.random(n) < 0.7).astype(float)
        # organisations: type and size consistent with the segment rules
        org_type = np.full(n, np.nan)
        org_size = np.full(n, np.nan)
        large, sme, gov = seg == 4, seg == 5, seg == 6
        org_type[large] = np.where(rng.random(large.sum()) < 0.75, 1, 2)
        big = 4 + _pick(rng, np.tile(_probs([0.45, 0.25, 0.30]), (large.sum(), 1)))
        small_ent = 1 + _pick(rng, np.tile(_probs([0.2, 0.4, 0.4]), (large.sum(), 1)))
        org_size[large] = np.where((org_type[large] == 1) & (rng.random(large.sum()) < 0.1),
                                   small_ent, big)
        org_type[sme] = 2
        org_size[sme] = 1 + _pick(rng, np.tile(_probs([0.15, 0.5, 0.35]), (sme.sum(), 1)))
        org_type[gov] = np.where(rng.random(gov.sum()) < 0.55, 3, 4)
        org_size[gov] = 1 + _pick(rng, np.tile(_probs([0.05, 0.15, 0.2, 0.3, 0.15, 0.15]),
                                               (gov.sum(), 1)))
        v["org_type"], v["org_size"] = org_type, org_size
        v["it_role"] = np.where(ind, np.nan,
                                1 + _pick(rng, np.tile(_probs([0.4, 0.35, 0.25]), (n, 1))))
        # grids with don't know / not used
        miss = t["missing"]
        for item in self.items:
            x = core[item].copy()
            if item.startswith("svc_"):
                nu_ind = miss["not_used"]["individual"].get(item, 0.0)
                nu_org = miss["not_used"]["organisation"].get(item, 0.0)
                u = rng.random(n)
                x[u < np.where(ind, nu_ind, nu_org)] = 97
                x[(x != 97) & (rng.random(n) < miss["dont_know"]["service"])] = 98
            else:
                rate = miss["dont_know"].get(item, miss["dont_know"]["default_attribute"])
                x[rng.random(n) < rate] = 98
            v[item] = x
        for name in ("overall_sat", "nps", "complaint"):
            v[name] = core[name]
        rep = core["repurchase"].copy()
        rep[rng.random(n) < miss["dont_know"]["repurchase"]] = 98
        v["repurchase"] = rep
        self._complaint_reasons(rng, v, core, ind)
        needs, traits = self._attitudes(rng, v, seg)
        self._purchase(rng, v, seg, needs, core, ind)
        v["duration_sec"] = self._duration(rng, n, ind, core["complaint"])
        ids = rng.choice(900000, size=n, replace=False) + 100000
        v["customer_id"] = np.array([f"C{i:06d}" for i in ids], dtype=object)
        v["resp_id"] = np.arange(100001, 100001 + n)
        respondents = pd.DataFrame({"resp_id": v["resp_id"], "segment": seg,
                                    "needs_segment": needs})
        for j, f in enumerate(self.factors):
            respondents[f] = np.round(core["F"][:, j], 4)
        for j, f in enumerate(self.truth["needs_segments"]["traits"]):
            respondents[f] = np.round(traits[:, j], 4)
        self._needs = needs
        return v, respondents

    def _complaint_reasons(self, rng, v, core, ind) -> None:
        n = len(ind)
        yes = core["complaint"] == 1
        slow = core["svc_speed"] <= 5
        probs = {1: np.where(core["sat_reliab"] <= 5, 0.6, 0.3),
                 2: np.where(slow, 0.65, 0.2), 3: np.full(n, 0.2),
                 4: np.where(ind, 0.15, 0.08), 5: np.full(n, 0.12),
                 6: np.where(core["sat_updates"] <= 5, 0.45, 0.15), 7: np.full(n, 0.05)}
        for code, p in probs.items():
            v[f"complaint_reasons_{code}"] = np.where(yes, (rng.random(n) < p).astype(float),
                                                      np.nan)
        none = yes & ~np.any([v[f"complaint_reasons_{c}"] == 1 for c in probs], axis=0)
        v["complaint_reasons_1"][none] = 1.0
        texts = np.array(["Invoice was wrong", "Missing accessories in the box",
                          "Sales promise not kept", "Charger stopped working"], dtype=object)
        v["complaint_reasons_7_text"] = np.where(v["complaint_reasons_7"] == 1,
                                                 texts[rng.integers(0, len(texts), n)], np.nan)

    def _attitudes(self, rng, v, seg) -> tuple[np.ndarray, np.ndarray]:
        ns = self.truth["needs_segments"]
        n = len(seg)
        probs = np.vstack([_probs(ns["class_probabilities_by_segment"][str(s)]) for s in seg])
        needs = 1 + _pick(rng, probs)
        means = np.asarray([ns["trait_means"][str(c)] for c in (1, 2, 3)])
        traits = means[needs - 1] + ns["trait_sd_within"] * rng.standard_normal((n, 3))
        cut = np.array([-1.5, -0.6, 0.2, 1.0])
        offsets = {"att_latest": -0.1, "att_paymore": 0.1, "att_specs": 0.3,
                   "att_compare": -0.2, "att_deal": 0.1, "att_promo": 0.0,
                   "att_service": -0.3, "att_inperson": 0.2, "att_onevendor": 0.1}
        for j, item in enumerate(ns["items"]):
            sign = -1.0 if item in ns["reverse_items"] else 1.0
            z = sign * traits[:, j // 3] - offsets.get(item, 0.0)
            z = z + ns["item_noise_sd"][item] * rng.standard_normal(n)
            v[item] = 1.0 + (z[:, None] > cut[None, :]).sum(axis=1)
        return needs, traits

    def _purchase(self, rng, v, seg, needs, core, ind) -> None:
        n = len(seg)
        ch = {1: [0.12, 0.43, 0.10, 0.10, 0.22, 0.03, 0, 0],
              2: [0.22, 0.50, 0.12, 0.12, 0, 0.04, 0, 0],
              3: [0.10, 0.25, 0.05, 0.45, 0, 0.15, 0, 0],
              4: [0.05, 0.10, 0, 0.05, 0, 0.25, 0.20, 0.35],
              5: [0.10, 0.25, 0.02, 0.10, 0, 0.43, 0.02, 0.08],
              6: [0.02, 0.05, 0, 0.03, 0.05, 0.15, 0.60, 0.10]}
        v["channel"] = 1.0 + _pick(rng, np.vstack([_probs(ch[s]) for s in seg]))
        info = {1: [0.55, 0.50, 0.35, 0.10, 0.20, 0.02, 0.02],
                2: [0.65, 0.45, 0.25, 0.10, 0.30, 0.10, 0.03],
                3: [0.20, 0.08, 0.55, 0.40, 0.12, 0.05, 0.10],
                4: [0.30, 0.05, 0.10, 0.03, 0.35, 0.60, 0.35],
                5: [0.30, 0.10, 0.20, 0.10, 0.25, 0.30, 0.45],
                6: [0.20, 0.03, 0.10, 0.03, 0.25, 0.55, 0.30]}
        p = np.vstack([info[s] for s in seg])
        ticks = rng.random((n, 7)) < p
        other = rng.random(n) < 0.03
        empty = ~(ticks.any(axis=1) | other)
        top_source = np.argmax(p, axis=1)
        rescue = empty & (rng.random(n) < 0.75)
        ticks[np.flatnonzero(rescue), top_source[rescue]] = True
        none = (rng.random(n) < 0.03) | (empty & ~rescue)
        ticks[none] = False
        other[none] = False
        for j in range(7):
            v[f"info_sources_{j + 1}"] = ticks[:, j].astype(float)
        v["info_sources_8"] = other.astype(float)
        v["info_sources_99"] = none.astype(float)
        texts = np.array(["Trade fair", "Company newsletter", "Price comparison site",
                          "Tech forum"], dtype=object)
        v["info_sources_8_text"] = np.where(other, texts[rng.integers(0, 4, n)], np.nan)
        # decision factors: top 3 by Gumbel-perturbed utilities (Plackett-Luce)
        base = {1: [0.6, 0.2, 0.9, 1.0, 1.6, 0.2, 0.4, 0.1, 0.0, 0.6],
                2: [1.5, 1.0, 0.8, 0.8, 0.4, 0.5, 0.6, 0.2, 0.1, 0.5],
                3: [0.2, 0.8, 0.7, 0.1, 1.2, 0.6, 0.9, 1.3, 0.2, 0.1],
                4: [0.5, 0.1, 0.3, 0.3, 0.6, 0.5, 1.3, 1.0, 1.5, 0.0],
                5: [0.5, 0.1, 0.3, 0.2, 1.5, 0.3, 1.0, 1.0, 0.6, 0.0],
                6: [0.3, 0.1, 0.2, 0.1, 1.2, 0.3, 1.0, 0.8, 1.4, 0.0]}
        boost = {1: [0.8, 0.3, 0, 0, -0.4, 0, 0, 0, 0, 0],
                 2: [-0.3, 0, 0, 0, 0.9, 0, 0, 0, 0, 0],
                 3: [0, 0, 0, 0, 0, 0, 0.3, 0.9, 0, 0]}
        util = np.vstack([base[s] for s in seg]) + np.vstack([boost[c] for c in needs])
        util = util + rng.gumbel(size=util.shape)
        order = np.argsort(-util, axis=1)[:, :3]
        ranks = np.full((n, 10), np.nan)
        ranks[np.arange(n)[:, None], order] = np.arange(1, 4)
        for j in range(10):
            v[f"decision_factors_{j + 1}"] = ranks[:, j]
        # pain points: linked to attribute satisfaction and customer type
        pp = {1: np.full(n, 0.22), 2: np.full(n, 0.18),
              3: np.where(core["sat_battery"] <= 5, 0.55, 0.15),
              4: np.where(core["sat_cooling"] <= 5, 0.5, 0.12),
              5: np.where(core["svc_speed"] <= 5, 0.55, 0.08),
              6: np.where(ind, 0.05, 0.30), 7: np.where(ind, 0.06, 0.28),
              8: np.where(seg == 1, 0.45, 0.20)}
        ticks = np.column_stack([rng.random(n) < pp[c] for c in range(1, 9)])
        other = rng.random(n) < 0.04
        none = ~(ticks.any(axis=1) | other)
        for j in range(8):
            v[f"pain_points_{j + 1}"] = ticks[:, j].astype(float)
        v["pain_points_9"] = other.astype(float)
        v["pain_points_99"] = none.astype(float)
        texts = np.array(["Too much pre-installed software", "Webcam quality",
                          "Few ports", "Hard to upgrade memory"], dtype=object)
        v["pain_points_9_text"] = np.where(other, texts[rng.integers(0, 4, n)], np.nan)
        comments = {
            3: "Battery drains far too fast, I have to carry the charger everywhere.",
            4: "Fan gets loud and the case gets hot under load.",
            5: "It took more than three days to get a reply from service.",
            8: "Good machine but too expensive for what you get.",
            2: "Too many models with specs I do not need.",
        }
        comment = np.full(n, np.nan, dtype=object)
        give = rng.random(n) < self.truth["missing"]["comment_given"]
        for code, text in comments.items():
            comment[give & (v[f"pain_points_{code}"] == 1) & pd.isna(comment)] = text
        happy = give & pd.isna(comment) & (core["overall_sat"] >= 8)
        comment[happy] = "Very happy with it, keep it up."
        rest = give & pd.isna(comment)
        comment[rest] = "Nothing special to add."
        v["pain_text"] = comment
        v["email"] = np.full(n, np.nan, dtype=object)  # filled from CRM in crm()
        self._email_given = rng.random(n) < self.truth["missing"]["email_given"]

    def _duration(self, rng, n, ind, complaint) -> np.ndarray:
        base = np.where(ind, 620.0, 700.0) + np.where(complaint == 1, 45.0, 0.0)
        d = base * np.exp(0.28 * rng.standard_normal(n))
        return np.rint(np.clip(d, 0.6 * 620, 3.5 * 700))

    # -- truth computed from draws -------------------------------------------------------
    def finish_truth(self, clean: pd.DataFrame, rng, seed: int) -> None:
        t = self.truth
        N = int(t.get("population_draw", 400_000))
        cells, p = self.cells(sample=False)
        counts = _allocate(N, p)
        cell = np.repeat(np.asarray(cells), counts, axis=0)
        seg, reg = cell[:, 0], cell[:, 1]
        core = self.core(rng, seg, reg)
        pop = pd.DataFrame({"segment": seg, "region": reg, "overall_sat": core["overall_sat"],
                            "nps": core["nps"], "repurchase": core["repurchase"],
                            "complaint": core["complaint"]})
        t["population"] = _metrics(pop)
        t["population_by_segment"] = {str(s): _metrics(g) for s, g in pop.groupby("segment")}
        t["population_by_region"] = {str(r): _metrics(g) for r, g in pop.groupby("region")}
        t["population_note"] = (f"computed from {N} draws of the population composition "
                                "(targets), same model and seed family as the sample")
        # what the clean sample shows without weights
        derived = self.q.derive(clean)
        samp = pd.DataFrame({
            "segment": derived["segment"], "region": clean["region"],
            "overall_sat": clean["overall_sat"], "nps": clean["nps"],
            "repurchase": clean["repurchase"].where(clean["repurchase"] <= 5),
            "complaint": clean["complaint"]})
        sample_metrics = _metrics(samp)
        margins_pop, margins_smp = self.margins(sample=False), self.margins(sample=True)
        observed = {v: (samp[v].value_counts(normalize=True) * 100).sort_index()
                    for v in ("segment", "region")}
        gender = clean["gender"][clean["cust_type"] == 1]
        observed["gender"] = (gender.value_counts(normalize=True) * 100).sort_index()
        t["sample_skew"] = {
            "description": "respondents are selected with probability proportional to "
                           "selection_factor[segment] * selection_factor[region] * "
                           "selection_factor[gender] (individuals); young professionals, "
                           "tier-1 cities and men are over-represented, older users and "
                           "tier-3/4 cities under-represented",
            "expected_sample_percent": {k: {str(c): round(x, 2) for c, x in m.items()}
                                        for k, m in margins_smp.items()},
            "population_percent": {k: {str(c): round(x, 2) for c, x in m.items()}
                                   for k, m in margins_pop.items()},
            "observed_sample_percent": {k: {str(int(c)): round(float(x), 2)
                                            for c, x in s.items()}
                                        for k, s in observed.items()},
            "unweighted_sample": sample_metrics,
            "bias_direction": {m: ("up" if sample_metrics[m] > t["population"][m] else "down")
                               for m in ("overall_sat_mean", "nps", "repurchase_top2",
                                         "complaint_rate")},
        }
        # needs segments: separation in the latent item space and on observed codes
        ns = t["needs_segments"]
        means = np.asarray([ns["trait_means"][str(c)] for c in (1, 2, 3)])
        sign = np.array([-1.0 if i in ns["reverse_items"] else 1.0 for i in ns["items"]])
        centroids = means[:, np.repeat(np.arange(3), 3)] * sign
        noise = np.array([ns["item_noise_sd"][i] for i in ns["items"]])
        within = np.sqrt(ns["trait_sd_within"] ** 2 + np.mean(noise ** 2))
        pairs = [(0, 1), (0, 2), (1, 2)]
        dist = np.mean([np.linalg.norm(centroids[a] - centroids[b]) for a, b in pairs])
        ns["separation"] = float(dist / within)
        ns["separation_definition"] = ("mean Euclidean distance between the 3 class centroids "
                                       "in the latent 9-item space / within-class item sd")
        obs = clean[ns["items"]].to_numpy(dtype=float)
        lab = self._needs
        cents = np.vstack([obs[lab == c].mean(axis=0) for c in (1, 2, 3)])
        wsd = np.sqrt(np.mean([obs[lab == c].var(axis=0).mean() for c in (1, 2, 3)]))
        ns["separation_observed"] = float(np.mean([np.linalg.norm(cents[a] - cents[b])
                                                   for a, b in pairs]) / wsd)
        ns["sample_shares"] = {str(c): round(float((lab == c).mean()), 4) for c in (1, 2, 3)}
        # loadings of the attitude items on their traits (population mixture)
        seg_p = _probs([t["composition"]["segment"]["population"][str(s)]
                        for s in self.segments])
        cls_p = seg_p @ np.vstack([_probs(ns["class_probabilities_by_segment"][str(s)])
                                   for s in self.segments])
        mu = cls_p @ means
        var_t = cls_p @ (means - mu) ** 2 + ns["trait_sd_within"] ** 2
        for j, item in enumerate(ns["items"]):
            k = j // 3
            lam = np.sqrt(var_t[k] / (var_t[k] + noise[j] ** 2))
            t["factors"].setdefault(ns["traits"][k], {})[item] = float(
                sign[j] * lam)
        t["factors_note"] = ("standardized loadings on the latent (continuous) item before it "
                             "is cut into codes; negative = reverse-worded item (raw codes); "
                             "attitude loadings are for the population mixture of needs classes")
        t["crm"]["links"] = ("spend_12m and orders_12m rise with NPS (promoters spend most); "
                             "detractors are more often lapsed (older last_purchase, no orders "
                             "in 12 months); service_tickets_12m rise with complaints")

    # -- CRM extract ----------------------------------------------------------------------
    def crm(self, clean: pd.DataFrame, respondents: pd.DataFrame, rng) -> pd.DataFrame:
        t = self.truth["crm"]
        as_of = np.datetime64(t["as_of"])
        n = len(clean)
        seg = respondents["segment"].to_numpy()
        nps = clean["nps"].to_numpy()
        promoter, detractor = nps >= 9, nps <= 6
        org = seg >= 4
        n_missing = min(int(t["survey_ids_missing"]), n // 20)
        missing = np.zeros(n, bool)
        missing[rng.choice(n, size=n_missing, replace=False)] = True
        # survey customers
        lapsed = rng.random(n) < np.where(detractor, 0.35, np.where(promoter, 0.05, 0.12))
        recency = np.where(lapsed, rng.integers(366, 1100, n), rng.integers(5, 365, n))
        tenure = recency + rng.integers(30, 3000, n)
        rate = np.where(org, 6.0, 1.2) * np.where(promoter, 1.5, np.where(detractor, 0.7, 1.0))
        orders = np.where(lapsed, 0, 1 + rng.poisson(rate))
        unit = np.where(org, 5200.0, 5600.0) * np.exp(0.35 * rng.standard_normal(n))
        spend = np.round(orders * unit * np.where(promoter, 1.15, 1.0), 2)
        margin = np.round(np.clip(0.16 + 0.04 * rng.standard_normal(n)
                                  + np.where(org, -0.03, 0.0), 0.03, 0.4), 3)
        compl = clean["complaint"].to_numpy() == 1
        tickets = rng.poisson(np.where(compl, 1.8, 0.3) * np.where(org, 2.0, 1.0))
        extra = int(t["crm_only_rows"])
        used = set(clean["customer_id"])
        pool = rng.choice(900000, size=extra * 3, replace=False) + 100000
        extra_ids = [f"C{i:06d}" for i in pool if f"C{i:06d}" not in used][:extra]
        e_org = rng.random(extra) < 0.3
        e_lapsed = rng.random(extra) < 0.3
        e_recency = np.where(e_lapsed, rng.integers(366, 1100, extra),
                             rng.integers(5, 365, extra))
        e_orders = np.where(e_lapsed, 0, 1 + rng.poisson(np.where(e_org, 6.0, 1.2)))
        e_unit = np.where(e_org, 5200.0, 5600.0) * np.exp(0.35 * rng.standard_normal(extra))
        keep = ~missing
        cid = np.concatenate([clean["customer_id"].to_numpy()[keep], np.asarray(extra_ids)])
        rec = np.concatenate([recency[keep], e_recency])
        ten = np.concatenate([tenure[keep], e_recency + rng.integers(30, 3000, extra)])
        frame = pd.DataFrame({
            "customer_id": cid,
            "first_purchase": (as_of - ten.astype("timedelta64[D]")).astype(str),
            "last_purchase": (as_of - rec.astype("timedelta64[D]")).astype(str),
            "orders_12m": np.concatenate([orders[keep], e_orders]).astype(int),
            "spend_12m": np.concatenate([spend[keep], np.round(e_orders * e_unit, 2)]),
            "margin_rate": np.concatenate([margin[keep], np.round(np.clip(
                0.16 + 0.04 * rng.standard_normal(extra), 0.03, 0.4), 3)]),
            "service_tickets_12m": np.concatenate([tickets[keep],
                                                   rng.poisson(0.5, extra)]).astype(int),
        })
        num = np.array([int(c[1:]) for c in frame["customer_id"]])
        frame["email"] = [f"user{k}@example.com" for k in num]
        frame["phone"] = [f"+1-555-{k // 10000:03d}-{k % 10000:04d}" for k in num]
        frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
        # optional e-mail in the survey: the customer's CRM address (or a new one)
        give = self._email_given
        email = np.array([f"user{int(c[1:])}@example.com" for c in clean["customer_id"]],
                         dtype=object)
        clean["email"] = np.where(give, email, np.nan)
        t["n_rows"] = len(frame)
        t["survey_ids_missing"] = int(n_missing)
        t["crm_only_rows"] = len(extra_ids)
        return frame


def _allocate(total: int, p: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``p`` (largest remainder)."""
    raw = p * total
    counts = np.floor(raw).astype(int)
    short = total - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts


def _hundred(shares: dict) -> dict:
    """Percent shares rounded to one decimal that sum to exactly 100."""
    keys = list(shares)
    tenths = _allocate(1000, _probs([shares[k] for k in keys]))
    return {k: round(t / 10, 1) for k, t in zip(keys, tenths, strict=True)}


def _metrics(df: pd.DataFrame) -> dict:
    o, n, r, c = (df[k].dropna() for k in ("overall_sat", "nps", "repurchase", "complaint"))
    return {
        "overall_sat_mean": round(float(o.mean()), 4),
        "overall_sat_top2": round(float((o >= 9).mean()), 4),
        "nps": round(float(100 * ((n >= 9).mean() - (n <= 6).mean())), 3),
        "promoters": round(float((n >= 9).mean()), 4),
        "detractors": round(float((n <= 6).mean()), 4),
        "repurchase_top2": round(float((r >= 4).mean()), 4),
        "complaint_rate": round(float((c == 1).mean()), 4),
    }


# ---------------------------------------------------------------------------------------
# planted problems
# ---------------------------------------------------------------------------------------
def _plant_problems(q: Questionnaire, clean: pd.DataFrame, rng,
                    per_rule: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copy ``clean`` and plant ``per_rule`` rows of each rule (one problem per row)."""
    df = clean.copy()
    n = len(df)
    rid = q.roles.respondent_id
    variables = q.variables()
    taken = np.zeros(n, bool)
    records: list[dict] = []
    asked = {qq.id: q.asked(clean, qq.id).to_numpy() for qq in q.questions}

    def choose(eligible: np.ndarray) -> int | None:
        idx = np.flatnonzero(eligible & ~taken)
        if not len(idx):
            return None
        r = int(rng.choice(idx))
        taken[r] = True
        return r

    def record(r: int, question: str, rule: str, detail: str) -> None:
        records.append({"resp_id": df.at[r, rid], "question": question, "rule": rule,
                        "row": r, "detail": detail})

    def cycle(options: list, k: int) -> list:
        return [options[i % len(options)] for i in range(k)] if options else []

    # names that routing or segment rules read: planting there would move other answers
    routing_names: set[str] = set()
    for qq in q.questions:
        if qq.ask_if:
            routing_names |= set(q._routing[qq.id].names)
    for exprs in q._rules.values():
        for e in exprs:
            routing_names |= set(e.names)
    for d in q.derived:
        if d.from_:
            routing_names.add(d.from_)

    # straight_lining: every item of a grid (>= 4 items) gets the same valid code
    grids = [qq for qq in q.questions if qq.type == "grid" and len(qq.items) >= 4]
    for qq in cycle(grids, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        codes = sorted(_valid_codes(q, qq.items[0].id))
        code = codes[int(rng.integers(len(codes) // 2, len(codes)))]
        for it in qq.items:
            df.at[r, it.id] = float(code)
        record(r, qq.id, "straight_lining", f"all {len(qq.items)} items = {code}")

    # speeder: duration under 0.4 x the median
    dur = q.roles.duration
    if dur and dur in df.columns:
        med = float(np.nanmedian(clean[dur].to_numpy(dtype=float)))
        for _ in range(per_rule):
            r = choose(np.ones(n, bool))
            value = float(np.rint(med * rng.uniform(0.1, 0.3)))
            df.at[r, dur] = value
            record(r, dur, "speeder", f"{value:.0f} s against a median of {med:.0f} s")

    # out_of_range and non_numeric: numeric columns of scales and numeric questions
    kinds_order = ("rating", "nps", "numeric", "grid_item", "single")
    by_kind = {k: [v.name for v in variables.values() if v.kind == k and v.name in df.columns]
               for k in kinds_order}
    grid_firsts = {q.variable(c).question: c for c in reversed(by_kind["grid_item"])}
    by_kind["grid_item"] = [grid_firsts[g] for g in dict.fromkeys(
        q.variable(c).question for c in by_kind["grid_item"])]
    numeric_cols = [c for k in kinds_order for c in by_kind[k]]
    texts = ["n/a", "-", "ten", "N/A", "?", "x"]
    for rule in ("out_of_range", "non_numeric"):
        for i, col in enumerate(cycle(numeric_cols, per_rule)):
            var = variables[col]
            r = choose(asked[var.question] & clean[col].notna().to_numpy())
            if r is None:
                continue
            if rule == "non_numeric":
                value: object = texts[i % len(texts)]
                detail = f"text {value!r} in a numeric column"
            elif var.kind == "numeric":
                value = float((var.max if var.max is not None else 100) + 51)
                detail = f"{value:.0f} above the maximum {var.max}"
            else:
                codes = [c for c in _valid_codes(q, col)]
                bad = max(codes) + 1
                while bad in var.missing_codes:
                    bad += 1
                value = float(bad)
                detail = f"code {bad:.0f} is not on the scale"
            if rule == "non_numeric" or df[col].dtype == object:
                df[col] = df[col].astype(object)
            df.at[r, col] = value
            record(r, col, rule, detail)

    # answered_not_asked: an answer where routing says the question was skipped
    groups: dict[str, list] = {}
    for qq in q.questions:
        if qq.ask_if and qq.type in ("single", "numeric", "rating", "multi", "nps"):
            groups.setdefault(qq.ask_if, []).append(qq)
    routed = [g[i] for i in range(max((len(g) for g in groups.values()), default=0))
              for g in groups.values() if i < len(g)]
    for qq in cycle(routed, per_rule):
        r = choose(~asked[qq.id])
        if r is None:
            continue
        if qq.type == "multi":
            cols = [f"{qq.id}_{o.code}" for o in qq.options]
            df.loc[r, cols] = 0.0
            df.at[r, cols[0]] = 1.0
            detail = f"{cols[0]} ticked"
        elif qq.type == "numeric":
            lo = qq.min if qq.min is not None else 0
            hi = qq.max if qq.max is not None else lo + 100
            value = float(np.rint(lo + (hi - lo) * 0.2))
            df.at[r, qq.id] = value
            detail = f"{qq.id} = {value:.0f}"
        else:
            value = float(sorted(_valid_codes(q, qq.id))[0])
            df.at[r, qq.id] = value
            detail = f"{qq.id} = {value:.0f}"
        record(r, qq.id, "answered_not_asked", f"{detail} although {qq.ask_if!r} is false")

    # asked_not_answered: a required question left empty
    weighting = set(q.roles.weighting)
    pref = {"rating": 0, "nps": 1, "multi": 2, "single": 3, "rank": 4}
    required = [qq for qq in q.questions if qq.required and qq.type in pref
                and qq.id not in routing_names and qq.id not in weighting]
    by_type: dict[str, list] = {}
    for qq in sorted(required, key=lambda qq: pref[qq.type]):
        by_type.setdefault(qq.type, []).append(qq)
    order = [g[i] for i in range(max((len(g) for g in by_type.values()), default=0))
             for g in by_type.values() if i < len(g)]
    for qq in cycle(order, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        cols = [c for c in q.columns_of(qq.id) if c in df.columns]
        if qq.type == "multi":
            df.loc[r, [c for c in cols if not c.endswith("_text")]] = 0.0
            df.loc[r, [c for c in cols if c.endswith("_text")]] = np.nan
        else:
            df.loc[r, cols] = np.nan
        record(r, qq.id, "asked_not_answered", f"required {qq.type} question left empty")

    # exclusive_conflict: "none of these" ticked together with another option
    multis = [qq for qq in q.questions if qq.type == "multi"
              and any(o.exclusive for o in qq.options)]
    for qq in cycle(multis, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        ex = next(o for o in qq.options if o.exclusive)
        other = next(o for o in qq.options if not o.exclusive and not o.other)
        df.at[r, f"{qq.id}_{ex.code}"] = 1.0
        df.at[r, f"{qq.id}_{other.code}"] = 1.0
        record(r, qq.id, "exclusive_conflict", f"{ex.label!r} ticked with {other.label!r}")

    # duplicate_id: a later row repeats an earlier respondent (same id, same answers)
    for _ in range(per_rule):
        r = choose(np.arange(n) >= n // 10)
        if r is None:
            continue
        src_pool = np.flatnonzero(~taken[:r])
        src = int(rng.choice(src_pool))
        taken[src] = True
        df.iloc[r] = df.iloc[src]
        record(r, rid, "duplicate_id", f"row {r} repeats row {src}")

    planted = pd.DataFrame(records, columns=["resp_id", "question", "rule", "row", "detail"])
    planted = planted.sort_values("row", kind="stable").reset_index(drop=True)
    return df, planted


# ---------------------------------------------------------------------------------------
# stable text output
# ---------------------------------------------------------------------------------------
def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, bool | np.bool_):
        return "1" if x else "0"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        x = round(float(x), 6)
        return str(int(x)) if x.is_integer() else repr(x)
    return str(x)


def _csv_text(df: pd.DataFrame) -> str:
    if df.empty and not len(df.columns):
        return ""
    body = df.astype(object).map(_fmt)
    return body.to_csv(index=False, lineterminator="\n")


def _json_clean(obj):
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return round(float(obj), 6)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _targets_yaml(targets: dict, truth: dict, q: Questionnaire) -> str:
    lines = [f"# Population targets for weighting the {q.id} demo survey.",
             f"# Generated by `surveykit simulate` (seed {truth.get('seed')}); percent shares of "
             "the population, not of the sample.",
             f"total: {targets['total']}", f"unit: {targets['unit']}", "margins:"]
    for m in targets["margins"]:
        lines.append(f"  - variable: {m['variable']}")
        if "within" in m:
            inner = ", ".join(f"{k}: {v}" for k, v in m["within"].items())
            lines.append(f"    within: {{{inner}}}")
        lines.append("    targets:")
        labels = q.labels(m["variable"]) if m["variable"] in q.variables() else {}
        for code, share in m["targets"].items():
            label = labels.get(code, labels.get(int(code), "")) if labels else ""
            lines.append(f"      {code}: {share:.1f}" + (f"  # {label}" if label else ""))
    return "\n".join(lines) + "\n"
