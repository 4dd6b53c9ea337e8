"""The simulator's entry points (:func:`simulate`, :func:`write_demo`), the generic
questionnaire-driven assembly of answers (routing via :meth:`Questionnaire.asked`) and the
stable text output of the demo files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import atomic_write
from ..questionnaire import Questionnaire
from ._common import DEMO_FILES, PROBLEM_RULES, SimulationError, _valid_codes
from .pc_model import _PCModel
from .problems import _plant_problems
from .truth import ATTRIBUTE_FACTORS, default_truth


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

    def summary_frame(self) -> pd.DataFrame:
        """Counts of respondents, columns and planted problems by rule (``item, value``)."""
        rows = [("respondents", len(self.responses)), ("columns", self.responses.shape[1]),
                ("CRM rows", len(self.crm))]
        counts = self.problems["rule"].value_counts() if len(self.problems) else {}
        rows += [(f"planted: {r}", int(counts.get(r, 0))) for r in PROBLEM_RULES]
        return pd.DataFrame(rows, columns=["item", "value"])

    def summary(self) -> str:
        """What was simulated, as text: respondents, columns, CRM rows, planted problems.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> sim = simulate(load_questionnaire("questionnaires/pc_customers.yaml"), n=200, seed=1)
        >>> print(sim.summary().splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
        Simulated 200 respondents x 94 columns of 'pc_customers' (seed 1), 390 CRM rows;
        48 planted problems.
        """
        t = self.summary_frame().set_index("item")["value"]
        planted = [f"  {k.removeprefix('planted: ')}: {v:,}" for k, v in t.items()
                   if k.startswith("planted: ") and v]
        head = (f"Simulated {t['respondents']:,} respondents x {t['columns']:,} columns of "
                f"{self.truth.get('questionnaire', '?')!r} (seed {self.truth.get('seed')}), "
                f"{t['CRM rows']:,} CRM rows; {len(self.problems):,} planted problems.")
        return "\n".join([head] + planted)

    def to_frame(self) -> pd.DataFrame:
        """The responses (a copy)."""
        return self.responses.copy()

    def _repr_html_(self) -> str:
        return ("<b>Simulation</b> of "
                f"{self.truth.get('questionnaire', '?')} (seed {self.truth.get('seed')})"
                + self.summary_frame().to_html(index=False))

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
    A generic questionnaire (fast; plausible answers, routing obeyed, problems planted):

    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> sim = simulate(q, n=200, seed=7)
    >>> sim
    Simulation(n=200, columns=70, problems=48)
    >>> sim.truth["problems"]["counts"]["speeder"]
    6
    >>> simulate(q, n=200, seed=7).responses.equals(sim.responses)  # same seed, same data
    True

    The PC questionnaire gets the full ground truth; the committed demo is
    ``simulate(load_questionnaire("questionnaires/pc_customers.yaml"), n=4000,
    seed=20261122)``, whose truth is ``data/demo/truth.json``:

    >>> import json
    >>> from pathlib import Path
    >>> truth = json.loads(Path("data/demo/truth.json").read_text(encoding="utf-8"))
    >>> truth["drivers"]["top"]["2"]  # top drivers of segment 2, young professionals
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

    Parameters
    ----------
    questionnaire : Questionnaire
        The loaded questionnaire (the demo uses ``questionnaires/pc_customers.yaml``).
    out_dir : path
        Folder to write into (created if needed).
    n, seed : int
        Respondents and random seed (the committed demo: 4000 and 20261122).

    Returns
    -------
    list of Path
        The files written, in the order above.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_demo(q, Path(tmp) / "demo", n=200, seed=7)
    ...     again = write_demo(q, Path(tmp) / "again", n=200, seed=7)
    ...     same = [a.read_bytes() == b.read_bytes() for a, b in zip(paths, again)]
    >>> [p.name for p in paths]  # doctest: +NORMALIZE_WHITESPACE
    ['responses.csv', 'targets.yaml', 'truth.json', 'planted_problems.csv', 'crm.csv',
     'truth_respondents.csv']
    >>> all(same)
    True
    """
    return write_simulation(simulate(questionnaire, n, seed), questionnaire, out_dir)


def write_simulation(sim: Simulation, questionnaire: Questionnaire, out_dir) -> list[Path]:
    """Write a simulation as the demo folder's files (:data:`DEMO_FILES`), byte for byte
    the same for the same simulation."""
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
# stable text output
# ---------------------------------------------------------------------------------------
def _fmt(x) -> str:
    if x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and np.isnan(x)):
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
