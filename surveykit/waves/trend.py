"""Trend tables: each key metric per wave with its CI, and the change from the previous
wave and from the first with the package's one test per statistic (:func:`trend`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import EstimationError
from ..estimates import compare, estimate
from .reading import wave_label, wave_order
from .versions import VersionChanges

__all__ = ["trend", "TrendResult", "TrendNote"]

TOTAL = "Total"
_COLUMNS = ["metric", "label", "stat", "kind", "segment", "segment_label", "wave", "estimate",
            "ci_low", "ci_high", "n", "n_eff", "previous", "change_prev", "p_prev",
            "significant_prev", "change_first", "p_first", "significant_first",
            "shared_prev", "test", "higher_is_better"]


@dataclass(frozen=True)
class TrendNote:
    """Something the reader of a trend must know: ``not_trended`` (the questionnaire
    changed; ``file`` / ``line`` locate it), ``overlap`` (respondents in two waves),
    ``no_answers`` (a wave without answers to a metric)."""

    kind: str
    metric: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:line {self.line}: " if self.file and self.line else ""
        return f"{where}{self.message}"


class TrendResult:
    """Key metrics per wave (:func:`trend`): :meth:`to_frame`, :meth:`summary`,
    :meth:`sentence`, :meth:`plot`, :meth:`chart`; :attr:`notes` lists what was not
    trended and why."""

    def __init__(self, table: pd.DataFrame, notes: list[TrendNote], waves: list[str],
                 by: str | None, alpha: float):
        self.table = table
        self.notes = notes
        self.waves = waves
        self.by = by
        self.alpha = alpha

    def to_frame(self) -> pd.DataFrame:
        """One row per metric x segment x wave (see :func:`trend`)."""
        return self.table.copy()

    def _row(self, metric: str, segment=TOTAL, wave: str | None = None) -> pd.Series:
        t = self.table
        rows = t[(t["metric"] == metric) & (t["segment"] == segment)]
        if rows.empty:
            raise EstimationError(f"no trend of {metric!r} in segment {segment!r}; metrics: "
                                  f"{', '.join(dict.fromkeys(t['metric']))}")
        if wave is None:
            return rows.iloc[-1]
        hit = rows[rows["wave"] == wave_label(wave)]
        if hit.empty:
            raise EstimationError(f"no wave {wave!r}; waves: {', '.join(self.waves)}")
        return hit.iloc[0]

    def sentence(self, metric: str, segment=TOTAL, wave: str | None = None) -> str:
        """The change of ``metric`` since the previous wave in words, as the table shows it:
        ``"NPS +6 points since Q2, significant"`` (``wave``: default the latest)."""
        from ..reporting.narrative import fmt_diff, fmt_p, fmt_value

        r = self._row(metric, segment, wave)
        value = fmt_value(r["estimate"], r["kind"])
        if pd.isna(r["previous"]):
            return f"{r['label']} {value} in {r['wave']} (first wave)"
        if pd.isna(r["change_prev"]):
            return f"{r['label']} {value} in {r['wave']}; not compared with {r['previous']}"
        sig = "significant" if r["significant_prev"] else "not significant"
        return (f"{r['label']} {fmt_diff(r['change_prev'], r['kind'])} since {r['previous']}, "
                f"{sig} ({fmt_p(r['p_prev'])}; {value} in {r['wave']})")

    def summary(self) -> str:
        """The latest wave's change of every metric in the total, then the notes."""
        metrics = list(dict.fromkeys(self.table["metric"]))
        lines = [f"Trend over waves {', '.join(self.waves)} (changes tested at "
                 f"alpha {self.alpha:g}; independent samples):"]
        lines += [f"  - {self.sentence(m)}" for m in metrics
                  if (self.table["metric"].eq(m) & self.table["segment"].eq(TOTAL)).any()]
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        n = self.table["metric"].nunique() if len(self.table) else 0
        return (f"TrendResult({n} metrics, waves {self.waves}, "
                f"{self.table['segment'].nunique() if len(self.table) else 0} segment(s))")

    def _repr_html_(self) -> str:
        from ..reporting.narrative import fmt_diff, fmt_value

        t = self.table
        rows = []
        def ch(d, sig, kind):
            return "" if pd.isna(d) else fmt_diff(d, kind) + (" *" if sig else "")

        for _, r in t.iterrows():
            rows.append({"metric": r["label"], "segment": r["segment_label"], "wave": r["wave"],
                         "value": fmt_value(r["estimate"], r["kind"]),
                         "95% CI": f"{fmt_value(r['ci_low'], r['kind'])} to "
                                   f"{fmt_value(r['ci_high'], r['kind'])}",
                         "n": int(r["n"]), "change since previous":
                             ch(r["change_prev"], r["significant_prev"], r["kind"]),
                         "change since first": ch(r["change_first"], r["significant_first"],
                                                 r["kind"])})
        notes = "".join(f"<li>{_esc(str(n))}</li>" for n in self.notes)
        return (f"<p><b>Trend over waves {_esc(', '.join(self.waves))}</b> (* significant at "
                f"alpha {self.alpha:g})</p>" + pd.DataFrame(rows).to_html(index=False)
                + (f"<ul>{notes}</ul>" if notes else ""))

    def plot(self, *, metrics=None, segments=None, title: str | None = None):
        """Small multiples: one row per metric, one panel per segment (the total first), the
        estimate per wave with its 95% CI; a wave whose change from the previous one is
        significant is coloured by what it means (green better, red worse), others grey.
        Panels of one metric share their axis. Returns a ChartFigure."""
        from ..charts import meaning_of as _meaning
        from ..plots import MEANING_COLORS, _meaning_legend, house_style, new_figure

        t = self.table
        metrics = list(dict.fromkeys(t["metric"])) if metrics is None else list(metrics)
        segs = list(dict.fromkeys(t["segment"])) if segments is None else list(segments)
        if not metrics or not segs:
            raise EstimationError("nothing to plot: the trend has no metric")
        x = np.arange(len(self.waves))
        used = set()
        with house_style():
            fig = new_figure(min(2.6 * len(segs) + 1.0, 16), 2.3 * len(metrics) + 0.9)
            axes = np.atleast_2d(fig.subplots(len(metrics), len(segs), sharex=True,
                                              squeeze=False))
            for i, m in enumerate(metrics):
                rows_m = t[t["metric"] == m]
                kind = rows_m["kind"].iloc[0] if len(rows_m) else "mean"
                f = 100.0 if kind == "percent" else 1.0
                lo, hi = rows_m["ci_low"].min() * f, rows_m["ci_high"].max() * f
                pad = 0.08 * (hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0)
                for j, s in enumerate(segs):
                    ax = axes[i, j]
                    r = rows_m[rows_m["segment"] == s]
                    pos = np.array([self.waves.index(w) for w in r["wave"]])
                    if len(r):
                        y = r["estimate"].to_numpy(float) * f
                        ax.plot(pos, y, color="#9aa5b1", lw=1.2, zorder=1)
                        ax.vlines(pos, r["ci_low"] * f, r["ci_high"] * f, color="#cbd2d9",
                                  lw=2, zorder=1)
                        pol = 1 if r["higher_is_better"].iloc[0] else -1
                        kinds = [_meaning(d, bool(sig), pol) if not pd.isna(d) else "ns"
                                 for d, sig in zip(r["change_prev"], r["significant_prev"],
                                                   strict=True)]
                        used.update(kinds)
                        ax.scatter(pos, y, s=36, zorder=3,
                                   c=[MEANING_COLORS[k] for k in kinds])
                    if np.isfinite(lo) and np.isfinite(hi):
                        ax.set_ylim(lo - pad, hi + pad)
                    ax.set_xticks(x, self.waves, fontsize=8)
                    if i == 0:
                        ax.set_title(str(r["segment_label"].iloc[0]) if len(r) else str(s),
                                     fontsize=9.5)
                    if j == 0:
                        label = rows_m["label"].iloc[0] if len(rows_m) else m
                        ax.set_ylabel(f"{label}{' (%)' if kind == 'percent' else ''}",
                                      fontsize=9)
            fig.suptitle(title or "Key metrics by wave (95% CI; colour: significant change "
                         "from the previous wave)", fontsize=10.5, x=0.01, ha="left")
            _meaning_legend(fig, axes[0, 0], used)
        return fig

    def chart(self, *, metrics=None, segments=None, title: str | None = None):
        """The same small multiples as inline SVG (:func:`surveykit.charts.trend_chart`),
        for report pages."""
        from ..charts import trend_chart

        return trend_chart(self, metrics=metrics, segments=segments, title=title)


def _esc(text: str) -> str:
    import html

    return html.escape(text)


# ----------------------------------------------------------------------------- metrics
def _metrics(q, metrics, columns) -> list:
    """Report-spec Metrics from what the caller gave (default: the questionnaire's key
    metrics, :class:`surveykit.reporting.spec.ReportSpec`)."""
    from ..reporting._spec_metrics import Metric, _metric, _unique_keys
    from ..reporting.spec import ReportSpec

    if metrics is None:
        if q is None:
            raise EstimationError("give metrics= (column names or report metrics) or a "
                                  "questionnaire whose report: block declares them")
        return ReportSpec.resolve(q, columns).metrics
    out = []
    for m in [metrics] if isinstance(metrics, str | Mapping) else metrics:
        if hasattr(m, "kwargs") and hasattr(m, "column"):
            out.append(m)
            continue
        if isinstance(m, str):
            m = {"column": m, "stat": "nps" if q is not None and m in q.variables() and
                 q.variable(m).kind == "nps" else "mean"}
        elif hasattr(m, "model_dump"):          # a ReportMetric of the questionnaire
            m = m.model_dump()
        if not isinstance(m, Mapping) or "column" not in m:
            raise EstimationError(f"a metric is a column name, a report metric or a mapping "
                                  f"with 'column' and 'stat', not {m!r}")
        stat = m.get("stat", "mean")
        if q is not None:
            out.append(_metric(q, m["column"], stat, m.get("label"), m.get("codes"),
                               m.get("better", "higher")))
        elif stat in ("mean", "nps"):
            out.append(Metric(m["column"], m["column"], m.get("label") or m["column"], stat,
                              stat, higher_is_better=m.get("better", "higher") != "lower"))
        else:
            raise EstimationError(f"metric {m['column']!r}: stat {stat!r} needs the "
                                  "questionnaire (its scale); pass questionnaire=")
    return _unique_keys(out)


# ----------------------------------------------------------------------------- trend
def trend(data, metrics=None, *, wave: str | None = None, by: str | None = None,
          weights=None, questionnaire=None, changes=None, respondent_id: str | None = None,
          alpha: float = 0.05, level: float = 0.95) -> TrendResult:
    """Each key metric per wave with its CI, and its change from the previous wave and from
    the first, tested.

    The estimates are :func:`surveykit.estimates.estimate` by wave and the tests
    :func:`surveykit.estimates.compare` against the previous (or first) wave: the
    difference over its linearisation SE for means and 0-100 indexes (z, or t on the design
    degrees of freedom under a design), the pooled two-proportion z-test for
    proportions and top / bottom box, the z-test on linearisation SEs for NPS. Waves are
    treated as independent samples; when the same respondent ids appear in two waves a
    note says how many (positively correlated answers make the independent-samples test
    conservative, negatively correlated ones anticonservative).

    Parameters
    ----------
    data : Survey or DataFrame
        All waves (e.g. :func:`~surveykit.waves.read_waves`, weighted by
        :func:`~surveykit.waves.weight_waves`); not modified. A Survey brings its
        questionnaire and weights.
    metrics : list, optional
        Report-spec :class:`~surveykit.reporting.spec.Metric` objects, column names (mean;
        NPS for an NPS question) or mappings / report metrics ``{column, stat, label,
        codes, better}`` with ``stat`` one of mean, top_box, bottom_box, proportion, nps,
        index. Default: the questionnaire's key metrics (its ``report:`` block).
    wave : str, optional
        The wave column (default ``df.attrs["wave_column"]``, ``roles.wave``, ``"wave"``).
        Its order: an ordered categorical's (as read_waves makes it), else sorted labels.
    by : str, optional
        A segment column: every metric is also trended within each segment.
    weights : column name or array, optional
        Default: the Survey's weights (else unweighted).
    questionnaire : Questionnaire, optional
        For labels, scales and default metrics (a Survey brings its own).
    changes : VersionChanges or records, optional
        Questionnaire changes between waves (default ``df.attrs["wave_changes"]`` from
        read_waves); a metric on a changed column is not trended and a located note says why.
    respondent_id : str, optional
        Id column for the overlap check (default ``roles.respondent_id`` when present).
    alpha, level : float
        Significance level of the tests; confidence level of the CIs.

    Returns
    -------
    TrendResult
        ``to_frame()``: one row per metric x segment x wave with ``estimate, ci_low,
        ci_high, n, n_eff``, ``previous`` (the wave compared with), ``change_prev, p_prev,
        significant_prev``, ``change_first, p_first, significant_first``, ``shared_prev``
        (respondents also in the previous wave), ``test``. Percentages are 0..1, NPS
        -100..100, an index 0..100, changes in the same units.

    Examples
    --------
    >>> df = pd.DataFrame({"wave": ["Q1"] * 4 + ["Q2"] * 4,
    ...                    "sat": [6, 7, 7, 8, 8, 9, 9, 10]})
    >>> t = trend(df, ["sat"])
    >>> t.to_frame()[["wave", "estimate", "change_prev", "significant_prev"]]
      wave  estimate  change_prev  significant_prev
    0   Q1       7.0          NaN             False
    1   Q2       9.0          2.0              True
    >>> t.sentence("sat")
    'sat +2.0 since Q1, significant (p < 0.001; 9.0 in Q2)'
    """
    from ..survey import Survey

    if isinstance(data, Survey):
        df, q = data.data, questionnaire or data.questionnaire
        weights = data.weights if weights is None else weights
    elif isinstance(data, pd.DataFrame):
        df, q = data, questionnaire
    else:
        raise EstimationError(f"trend takes a Survey or a DataFrame, not {type(data).__name__}")
    if not 0 < alpha < 1:
        raise EstimationError(f"alpha must be between 0 and 1, not {alpha!r}")
    wave = wave or df.attrs.get("wave_column") or (q.roles.wave if q is not None and
                                                    q.roles.wave else "wave")
    waves = wave_order(df, wave)
    if by is not None and by not in df.columns:
        raise EstimationError(f"by column {by!r} is not in the data")
    if changes is None:
        changes = VersionChanges.from_records(df.attrs.get("wave_changes") or [], waves)
    elif not isinstance(changes, VersionChanges):
        changes = VersionChanges.from_records(changes, waves)
    rid = respondent_id or (q.roles.respondent_id if q is not None else None)
    rid = rid if rid in df.columns else None
    mets = _metrics(q, metrics, list(df.columns))
    w = np.ones(len(df)) if weights is None else (
        pd.to_numeric(df[weights], errors="coerce").to_numpy(float) if isinstance(weights, str)
        else np.asarray(weights, dtype=float))
    labels = df[wave].map(lambda v: v if pd.isna(v) else wave_label(v)).astype(object)

    notes: list[TrendNote] = []
    changed = {}
    for c in changes.changes:
        changed.setdefault(c.variable, c)
    segments = [(TOTAL, TOTAL, np.ones(len(df), bool))]
    if by is not None:
        seg_labels = q.labels(by) if q is not None else {}
        for v in sorted(df[by].dropna().unique(), key=lambda x: (str(type(x)), x)):
            segments.append((v, str(seg_labels.get(v, wave_label(v))),
                             (df[by] == v).to_numpy()))
    shared = _shared(df, rid, labels, waves)
    for (a, b), k in shared.items():
        if k:
            notes.append(TrendNote("overlap", "", (
                f"overlapping panel: {k} shared respondents between waves {a} and {b}; the "
                "independent-samples test is conservative when their answers are positively "
                "correlated between waves (the usual case), anticonservative when negatively")))
    rows = []
    for m in mets:
        c = changed.get(m.column)
        if c is not None:
            notes.append(TrendNote("not_trended", m.key, (
                f"{m.label} ({m.column}) is not trended: its {c.change} changed from wave "
                f"{c.wave_from} to {c.wave_to} ({c.before} -> {c.after})"), c.file, c.line))
            continue
        if m.column not in df.columns:
            notes.append(TrendNote("not_trended", m.key, f"{m.label} ({m.column}) is not in "
                                   "the data; not trended"))
            continue
        for seg, seg_label, mask in segments:
            rows += _metric_rows(df, m, mask, labels, waves, w, alpha, level, seg, seg_label,
                                 shared, notes)
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for col in ("significant_prev", "significant_first", "higher_is_better"):
        table[col] = table[col].astype(bool)
    table["shared_prev"] = table["shared_prev"].astype("Int64")
    return TrendResult(table, notes, waves, by, alpha)


def _shared(df, rid, labels: pd.Series, waves: list[str]) -> dict:
    if rid is None:
        return {}
    ids = {w: set(df.loc[(labels == w).to_numpy(), rid].dropna()) for w in waves}
    return {(a, b): len(ids[a] & ids[b]) for a, b in zip(waves, waves[1:], strict=False)}


def _metric_rows(df, m, mask, labels, waves, w, alpha, level, seg, seg_label, shared,
                 notes) -> list[dict]:
    """The rows of one metric in one segment: estimate by wave, compare with the previous
    and the first wave (the waves with answers). Waves are numbered for the estimators."""
    code = labels.map({wv: k for k, wv in enumerate(waves)}).to_numpy(dtype=float)[mask]
    y = pd.to_numeric(df[m.column], errors="coerce").to_numpy(dtype=float)[mask]
    ws = w[mask]
    keep = ~np.isnan(code)
    code, y, ws = code[keep].astype(np.int64), y[keep], ws[keep]
    ok = ~np.isnan(y) & (ws > 0)
    has = np.bincount(code[ok], minlength=len(waves)) > 0
    answered = [wv for k, wv in enumerate(waves) if has[k]]
    empty = [wv for k, wv in enumerate(waves) if not has[k]]
    if empty and seg == TOTAL:
        notes.append(TrendNote("no_answers", m.key, f"{m.label}: no answers in wave(s) "
                               f"{', '.join(empty)}; left out of its trend"))
    rows_in = has[code]
    sub = pd.DataFrame({"y": y[rows_in], "k": code[rows_in], "w": ws[rows_in]})
    if sub.empty:
        return []
    idx = [waves.index(wv) for wv in answered]
    kw = m.kwargs()
    est = m.rescale(estimate(sub, "y", by="k", weights="w", level=level, **kw))
    est = est.set_index("group")
    prev, first = {}, None
    for j in range(1, len(answered)):
        pair = sub[sub["k"].isin(idx[j - 1:j + 1])].reset_index(drop=True)
        prev[idx[j]] = m.rescale(compare(pair, "y", by="k", weights="w", reference=idx[j - 1],
                                         alpha=alpha, **kw)).set_index("group").loc[idx[j]]
    if len(answered) > 2:
        first = m.rescale(compare(sub, "y", by="k", weights="w", reference=idx[0],
                                  alpha=alpha, **kw)).set_index("group")
    rows = []
    for j, (wv, k) in enumerate(zip(answered, idx, strict=True)):
        e = est.loc[k]
        p = prev.get(k)
        f = None if j == 0 else (p if j == 1 else first.loc[k])
        rows.append({
            "metric": m.key, "label": m.label, "stat": m.declared, "kind": m.kind,
            "segment": seg, "segment_label": seg_label, "wave": wv,
            "estimate": e["estimate"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
            "n": int(e["n"]), "n_eff": e["n_eff"],
            "previous": answered[j - 1] if j else None,
            "change_prev": p["difference"] if p is not None else np.nan,
            "p_prev": p["p_value"] if p is not None else np.nan,
            "significant_prev": bool(p["significant"]) if p is not None else False,
            "change_first": f["difference"] if f is not None else np.nan,
            "p_first": f["p_value"] if f is not None else np.nan,
            "significant_first": bool(f["significant"]) if f is not None else False,
            "shared_prev": shared.get((answered[j - 1], wv)) if j else None,
            "test": p["test"] if p is not None else "",
            "higher_is_better": m.higher_is_better})
    return rows
