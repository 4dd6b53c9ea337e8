"""The questionnaire's path model (PLS, e.g. the ECSI / ACSI satisfaction index) in the reports.

Where the questionnaire declares ``paths:``, the overview shows the path diagram with its
coefficients and R², and the 0-100 index scores of every segment beside the total
(:class:`OverviewPathModel`); each segment's page shows its index scores against the total,
tested, and its construct-level importance-performance map, with the "act here" quadrant
named in a sentence (:class:`SegmentPathModel`). Without ``paths:`` both sections are left
out, and the page says why.

One model for the run: :func:`whole_model` estimates it on the whole weighted sample with
:data:`BOOT` bootstrap replicates and the fixed seed :data:`SEED`, so every page of a run
(each in its own kernel) gets the same estimates. A segment's index score is the weighted
mean of its respondents' index scores under that model, tested against the rest of the
sample like every other mean in the report (Welch t on effective bases, outer weights held
fixed). A segment's importance-performance map re-estimates the model on the segment's
respondents for the importance (total effects on the target) and places each construct at
the segment's index score from the table above it.

The headline construct (:func:`report_target`) is the one the pages lead with and map: the
questionnaire's ``report: {ipma_target: ...}``; else the construct whose items hold the
report's outcome; else the endogenous construct with most predecessors (ties: the later in
path order). In the ECSI model that is satisfaction, whose drivers (image, expectations,
quality, value) are what satisfaction research acts on; loyalty, the model's last construct,
has satisfaction as its dominant driver, so a map of loyalty says little more than "act on
satisfaction". The same construct's index per segment is on the index page
(:meth:`SegmentPathModel.path_model_headline`), from the segment page's own table.

Index scores cover every respondent with at least each construct's ``min_items`` answered
(:func:`~surveykit.pls.pls`'s ``min_items``: weights renormalised over the answered items);
the model is estimated on the complete cases.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .._util import lower_first
from ..errors import PLSError, SurveykitWarning
from .findings_util import _num
from .names import value_text
from .narrative import SegmentName, fmt_ci, fmt_p, fmt_value, join_words, upper_first
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import (
    MEANING_CSS,
    SIG_DOWN,
    SIG_UP,
    Cell,
    Section,
    comparison_columns,
    meaning,
)

__all__ = ["BOOT", "SEED", "PREFIX", "whole_model", "path_model_missing", "index_data",
           "report_target", "OverviewPathModel", "SegmentPathModel"]

#: bootstrap replicates of the report's path model (stated on the pages)
BOOT = 200
#: seed of the report's bootstrap: every page of a run gets the same estimates
SEED = 14
#: prefix of the index-score columns added to a copy of the data
PREFIX = "__pls_index_"
#: the fewest respondents per predecessor of a construct for a segment's own model
PER_PATH = 10


def path_model_missing(q) -> str | None:
    """Why a page has no path-model section (None when the questionnaire declares one)."""
    if not q.model.paths:
        return "the questionnaire declares no path model (paths:)"
    return None


def whole_model(survey):
    """The path model of the whole weighted sample: :func:`~surveykit.pls.pls_from_questionnaire`
    with :data:`BOOT` replicates and seed :data:`SEED`.

    Examples
    --------
    >>> from surveykit.reporting import open_survey
    >>> s = open_survey(None, questionnaire="questionnaires/satisfaction_index.yaml",
    ...                 data="data/satisfaction_index/responses.csv",
    ...                 targets="data/satisfaction_index/targets.yaml")
    >>> res = whole_model(s)
    >>> res.boot, res.n, list(res.spec.constructs)[-1]
    (200, 2037, 'loyalty')
    """
    from ..pls import pls_from_questionnaire

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurveykitWarning)
        return pls_from_questionnaire(survey.data, survey.questionnaire,
                                      weights=survey.weights, boot=BOOT, seed=SEED)


def report_target(res, q) -> str:
    """The construct the reports headline and map (see the module's docstring for the rule).

    Examples
    --------
    >>> from surveykit.reporting import open_survey
    >>> s = open_survey(None, questionnaire="questionnaires/satisfaction_index.yaml",
    ...                 data="data/satisfaction_index/responses.csv",
    ...                 targets="data/satisfaction_index/targets.yaml")
    >>> report_target(whole_model(s), s.questionnaire)
    'satisfaction'
    """
    cs = list(res.spec.constructs)
    endo = [c for c in cs if c in res.spec.endogenous]
    rep = q.model.report
    if rep is not None and rep.ipma_target in endo:
        return rep.ipma_target
    if rep is not None and rep.outcome:
        for c in endo:
            if rep.outcome in q.construct_items(c)[0]:
                return c
    preds = res.spec.path.sum(axis=1)
    return max(endo, key=lambda c: (preds[cs.index(c)], cs.index(c)))


def index_data(df: pd.DataFrame, res) -> tuple[pd.DataFrame, list[str]]:
    """``df`` with each construct's 0-100 index score as a column ``PREFIX + id`` (a copy),
    and those columns in path order."""
    cols = [PREFIX + c for c in res.spec.constructs]
    scores = res.index_scores.reindex(df.index)
    return df.assign(**{PREFIX + c: scores[c] for c in res.spec.constructs}), cols


def _paths_text(res, k: int = 3) -> str:
    im = res.inner_model.reindex(res.inner_model["estimate"].abs()
                                 .sort_values(ascending=False).index).head(k)
    return join_words([f"{lower_first(res.label(r['from']))} → "
                       f"{lower_first(res.label(r['to']))} ({r['estimate']:.2f})"
                       for _, r in im.iterrows()])


def _paths_table(res) -> pd.DataFrame:
    """The structural paths as shown: coefficient (2 decimals, as on the diagram), the
    bootstrap CI and whether it excludes 0."""
    im = res.inner_model
    boot = "ci_low" in im
    rows = []
    for _, r in im.iterrows():
        sig = (r["ci_low"] > 0 or r["ci_high"] < 0) if boot else r["p"] < 0.05
        rows.append({"From": res.label(r["from"]), "To": res.label(r["to"]),
                     "Path coefficient": f"{r['estimate']:.2f}",
                     f"{res.level:.0%} CI (bootstrap)": (f"{r['ci_low']:.2f} to "
                                                         f"{r['ci_high']:.2f}") if boot else "",
                     "Significant": "yes" if sig else "no"})
    return pd.DataFrame(rows, dtype=object)


def _model_note(res) -> str:
    left = next((n for n in res.notes if "left out" in n), "")
    return (f"PLS path model (R plspm's algorithm, {res.scheme} weighting scheme, "
            f"standardized items, weighted) on the whole sample: n = {res.n:,} respondents "
            f"with every item of the model (effective base {res.n_eff:,.0f})"
            + (f"; {left}" if left else "")
            + ". Index scores also for respondents missing items: from the items they "
            "answered in each block (at least the construct's min_items), the weights "
            "renormalised over them (the available-item rule)"
            + f". CIs: percentile intervals of {res.boot - res.boot_failed} bootstrap "
            f"replicates (seed {res.seed}). Index scores (0-100): the ACSI convention, the "
            "items' outer weights un-standardized and rescaled to sum to 1 in each block, "
            "applied to the items on their 0-100 scale.")


# ------------------------------------------------------------------------------------------
# the overview
# ------------------------------------------------------------------------------------------
class OverviewPathModel:
    """The overview's path-model section; expects the attributes of ``Overview``."""

    def _path_model(self):
        if "_pls" not in self.__dict__:
            try:
                self.__dict__["_pls"] = whole_model(self.survey)
            except (PLSError, *_EXPECTED) as exc:
                self.__dict__["_pls"] = exc
        return self.__dict__["_pls"]

    def path_model(self) -> Section:
        """Path diagram with coefficients and R², and index scores per segment."""
        from ..estimates import compare, estimate

        s = Section("path_model", "Path model and index scores")
        res = self._path_model()
        if isinstance(res, Exception):
            s.findings.append(f"The path model could not be estimated: {res}")
            return s
        cons = res.constructs.set_index("construct")
        endo = [c for c in res.spec.constructs if c in res.spec.endogenous]
        last = endo[-1]
        s.findings.append(
            f"The model explains {fmt_value(cons.loc[last, 'r2'], 'percent')} of the "
            f"variance in {lower_first(res.label(last))} (R² = {cons.loc[last, 'r2']:.2f})"
            + "".join(f", {fmt_value(cons.loc[c, 'r2'], 'percent')} in "
                      f"{lower_first(res.label(c))}" for c in endo[:-1][::-1][:2])
            + f"; n = {res.n:,} respondents answered every item of the model.")
        s.findings.append(f"The strongest direct effects: {_paths_text(res)}.")
        data, cols = index_data(self.df, res)
        labels = {PREFIX + c: res.label(c) for c in res.spec.constructs}
        target = report_target(res, self.survey.questionnaire)
        seg_labels = {value_text(k): str(v)
                      for k, v in self.survey.labels(self.segment_by).items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            est = estimate(data, cols, weights=self.weights, by=self.segment_by)
            tot = estimate(data, cols, weights=self.weights).set_index("variable")
            cmp_ = compare(data, cols, by=self.segment_by, weights=self.weights,
                           reference="total", alpha=self.alpha)
        table = {"Total": {"Base (n)": f"{int(tot['n'].max()):,}",
                           **{labels[c]: fmt_value(tot.loc[c, "estimate"], "mean")
                              for c in cols}}}
        for g in dict.fromkeys(est["group"]):
            rows = est[est["group"] == g].set_index("variable")
            name = seg_labels.get(value_text(g), value_text(g))
            n = int(rows["n"].max())
            row = {"Base (n)": f"{n:,}"}
            for c in cols:
                cell = fmt_value(rows.loc[c, "estimate"], "mean")
                hit = cmp_[(cmp_["variable"] == c)
                           & (cmp_["group"].map(value_text) == value_text(g))]
                if n < self.min_base:
                    cell += " (low base)"
                elif not hit.empty and bool(hit["significant"].iloc[0]):
                    d = float(hit["difference"].iloc[0])
                    cell = Cell(f"{SIG_UP if d > 0 else SIG_DOWN} {cell}",
                                MEANING_CSS[meaning(d, 1)])
                row[labels[c]] = cell
            table[name] = row
        frame = pd.DataFrame.from_dict(table, orient="index", dtype=object) \
            .rename_axis("Segment").reset_index()
        t_col = PREFIX + target
        by_seg = est[(est["variable"] == t_col) & (est["n"] >= self.min_base)] \
            .dropna(subset=["estimate"]).sort_values("estimate", ascending=False)
        if len(by_seg) >= 2:
            best, worst = by_seg.iloc[0], by_seg.iloc[-1]
            best_name, worst_name = (
                SegmentName.of(seg_labels.get(value_text(g), value_text(g)))
                for g in (best["group"], worst["group"]))
            s.findings.append(
                f"{res.label(target)} index: highest {best_name.among} "
                f"({fmt_value(best['estimate'], 'mean')}), lowest {worst_name.among} "
                f"({fmt_value(worst['estimate'], 'mean')}); total "
                f"{fmt_value(tot.loc[t_col, 'estimate'], 'mean')}.")
        try:
            s.figures.append(res.chart())
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        s.tables.append((f"Index scores (0-100) by {lower_first(self._label(self.segment_by))}"
                         f" (▲ / ▼: significantly higher / lower than the rest, "
                         f"p < {self.alpha:g}; base: respondents with an index score, i.e. "
                         "at least each construct's min_items answered)", frame))
        s.technical_tables.append(("Structural paths", _paths_table(res)))
        s.technical.append(_model_note(res))
        s.data.update({"pls": res, "index": est, "total": tot})
        return s


# ------------------------------------------------------------------------------------------
# a segment's page
# ------------------------------------------------------------------------------------------
class SegmentPathModel:
    """The segment page's path-model section and its lines in the method note; expects the
    attributes and helpers of ``SegmentFindings`` (``_mean_table``, ``_gaps``...)."""

    def _path_model(self) -> dict:
        """Once per page: ``res`` (the whole-sample model), ``table`` (the segment's index
        scores vs the total, path order), ``ipma`` (the segment's map) or ``why_ipma``."""
        if "pls" in self._cache:
            return self._cache["pls"]
        out: dict = {}
        self._cache["pls"] = out
        try:
            res = whole_model(self.survey)
        except (PLSError, *_EXPECTED) as exc:
            out["why"] = f"The path model could not be estimated: {exc}"
            return out
        data, cols = index_data(self.df, res)
        labels = {PREFIX + c: res.label(c) for c in res.spec.constructs}
        t = self._mean_table(cols, data, labels=labels)
        if t is None:
            out["why"] = "No index scores could be estimated for this segment."
            return out
        t = t.set_index("item").reindex([c for c in cols if c in set(t["item"])]) \
            .reset_index()
        target = report_target(res, self.q)
        out.update(res=res, table=t, target=target)
        k_max = int(res.spec.path.sum(axis=1).max())
        needed = max(self.min_base, PER_PATH * k_max)
        perf = dict(zip([c[len(PREFIX):] for c in t["item"]], t["estimate"], strict=True))
        n_seg = int(res.scores.reindex(self.df.index)[self.mask].notna().all(axis=1).sum())
        if n_seg < needed:
            rule = (f"{PER_PATH} per path into a construct" if needed > self.min_base
                    else "the minimum base")
            out["why_ipma"] = (f"Too few respondents with every item of the model (n = "
                               f"{n_seg:,}, under {needed}: {rule}) to estimate the model in "
                               "this segment; no importance-performance map.")
            return out
        from ..pls import pls_from_questionnaire

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                seg = pls_from_questionnaire(self.df.loc[self.mask], self.q,
                                             weights=self.weights)
            out["ipma"] = seg.ipma(target, performance=perf)
            out["segment_model"] = seg
        except (PLSError, *_EXPECTED) as exc:
            out["why_ipma"] = f"The segment's path model could not be estimated: {exc}"
        return out

    def path_model(self) -> Section:
        """The segment's index scores vs the total (tested) and its construct-level
        importance-performance map, the act-here quadrant named in a sentence."""
        s = Section("path_model", "Index scores and where to act (path model)")
        pm = self._path_model()
        if "why" in pm:
            s.findings.append(pm["why"])
            return s
        res, t, target = pm["res"], pm["table"], pm["target"]
        tt = t.set_index("item")
        r = tt.loc[PREFIX + target]
        s.findings.append(
            f"{res.label(target)} index {fmt_value(r['estimate'], 'mean')} "
            f"({fmt_ci(r['ci_low'], r['ci_high'], 'mean')}, n = {int(r['n']):,}) vs "
            f"{fmt_value(r['total'], 'mean')} in total, " + self._sig(r) + ".")
        up, down = self._gaps(t, "mean", direction=1), self._gaps(t, "mean", direction=-1)
        tested = t["p_value"].notna() & (t["n"] >= self.min_base)
        if not tested.any():
            pass                        # the sentence above says: low base, not tested
        elif len(up) or len(down):
            bits = [f"{word} on {join_words([str(x) for x in rows['label']])}"
                    for rows, word in ((up, "higher"), (down, "lower")) if len(rows)]
            s.findings.append(f"Significantly {'; '.join(bits)} than the rest of the sample.")
        else:
            s.findings.append("No index score differs significantly from the rest of the "
                              "sample.")
        ip = pm.get("ipma")
        if ip is not None:
            acts = ip.act_here
            tab = ip.table.set_index("construct")
            if acts:
                s.findings.append(
                    "Act here on " + join_words([
                        f"{lower_first(res.label(c))} (total effect "
                        f"{tab.loc[c, 'total_effect']:.2f}, index "
                        f"{fmt_value(tab.loc[c, 'performance'], 'mean')})" for c in acts])
                    + f": an above-average effect on {lower_first(ip.target_label)} in this "
                    "segment, with a below-average index score.")
            else:
                s.findings.append(
                    "No construct falls in the act-here quadrant (above-average effect on "
                    f"{lower_first(ip.target_label)} with below-average performance) in this "
                    "segment.")
        else:
            s.findings.append(pm["why_ipma"])
        table = pd.DataFrame({
            "Construct": t["label"].tolist(),
            "Segment index": [fmt_value(v, "mean") for v in t["estimate"]],
            "95% CI": [fmt_ci(lo, hi, "mean").replace("95% CI ", "")
                       for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
            **comparison_columns(t, "mean", self.min_base, polarity=1)}, dtype=object)
        s.tables.append(("Index scores (0-100), in the model's order", table))
        if ip is not None:
            s.tables.append((f"Importance for {lower_first(ip.target_label)} (total effect, "
                             "this segment's model) and performance (index score)",
                             pd.DataFrame({
                                 "Construct": [res.label(c) for c in ip.table["construct"]],
                                 "Total effect": [f"{v:.2f}" for v in ip.table["total_effect"]],
                                 "Index score": [fmt_value(v, "mean")
                                                 for v in ip.table["performance"]],
                                 "Quadrant": [upper_first(q) for q in ip.table["quadrant"]]},
                                 dtype=object)))
            try:
                s.figures.append(ip.chart(title=f"Importance-performance map: {self.label}"))
            except Exception:  # noqa: BLE001 - a chart never stops the report
                pass
        s.notes.append("Index scores are the path model's 0-100 construct scores (the ACSI "
                       "convention), from one model of the whole weighted sample; quadrants "
                       "are cut at the constructs' average importance and performance.")
        s.data.update({"pls": res, "table": t, "ipma": ip})
        return s

    def path_model_summary(self) -> str | None:
        """The summary's sentence on the path model: the outcome's index vs the total and
        the act-here constructs, from the section's own table and map (None without it)."""
        if "path_model" not in self.sections():
            return None
        pm = self._path_model()
        if "table" not in pm:
            return None
        res, target = pm["res"], pm["target"]
        r = pm["table"].set_index("item").loc[PREFIX + target]
        text = (f"{res.label(target)} index {fmt_value(r['estimate'], 'mean')} vs "
                f"{fmt_value(r['total'], 'mean')} in total, {self._sig(r)}")
        ip = pm.get("ipma")
        if ip is not None and ip.act_here:
            names = join_words([lower_first(res.label(c)) for c in ip.act_here])
            text += (f"; on the path model, act first on {names} (above-average effect on "
                     f"{lower_first(ip.target_label)}, below-average index score)")
        return text + "."

    def path_model_headline(self) -> dict | None:
        """The headline construct's index for the index page: ``{"metric": ..., "total":
        ...}`` in the headline's metric format, from the section's own table (None without
        a path model)."""
        if path_model_missing(self.q):
            return None
        pm = self._path_model()
        if "table" not in pm:
            return None
        res, target = pm["res"], pm["target"]
        r = pm["table"].set_index("item").loc[PREFIX + target]
        key, label = PREFIX + target, f"{res.label(target)} index (path model)"
        tot = {"key": key, "label": label, "estimate": _num(r["total"]),
               "display": fmt_value(r["total"], "mean"), "kind": "mean"}
        sig = bool(r["significant"]) and int(r["n"]) >= self.min_base
        p = _num(r["p_value"])
        metric = {**tot, "estimate": _num(r["estimate"]),
                  "display": fmt_value(r["estimate"], "mean"), "n": int(r["n"]),
                  "ci_low": _num(r["ci_low"]), "ci_high": _num(r["ci_high"]),
                  "total": _num(r["total"]), "p_value": p,
                  "total_display": fmt_value(r["total"], "mean"),
                  "sig": ("higher" if r["difference"] > 0 else "lower") if sig else None,
                  "higher_is_better": True, "low_base": int(r["n"]) < self.min_base,
                  "note": f"total {fmt_value(r['total'], 'mean')}; {fmt_p(p)}"}
        return {"metric": metric, "total": tot}

    def path_model_notes(self) -> list[str]:
        """The method note's technical lines on the path model (none without one)."""
        if "path_model" not in self.sections():
            return []
        pm = self._path_model()
        if "res" not in pm:
            return []
        res = pm["res"]
        out = [_model_note(res),
               "Index scores of the segment vs the rest of the sample: Welch t-test on "
               "effective bases of the respondents' index scores (the segment's standard "
               "error of its index score; the whole-sample model's outer weights held fixed, "
               "not bootstrapped)."]
        seg = pm.get("segment_model")
        if seg is not None:
            out.append(f"Importance-performance map: total effects on "
                       f"{lower_first(res.label(pm['target']))} (the headline construct: "
                       "the questionnaire's ipma_target, else the construct of the outcome, "
                       "else the one with most predecessors) from the model "
                       f"re-estimated on this segment's {seg.n:,} respondents with every item "
                       "(weighted, no bootstrap); performance is the segment's index score.")
        return out
