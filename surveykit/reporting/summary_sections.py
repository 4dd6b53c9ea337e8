"""Where the segment stands: the summary that opens its page, the profile (section 1), the
key metrics (section 2), and the headline the index page is built from.

A mixin of :class:`surveykit.reporting.findings.SegmentFindings`. Every number in a
sentence is taken from the same cached result as the table that shows it
(``_metric_rows``, ``_attribute_table``, ``_ipa``, the pain-point table); sentences name
the segment by ``self.name`` (:class:`~.narrative.SegmentName`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util import lower_first
from ._spec_metrics import Metric
from .findings_util import _count_of, _num, _shares, _top_drivers
from .names import value_text
from .narrative import (
    fmt_ci,
    fmt_diff,
    fmt_p,
    fmt_value,
    join_words,
    low_base_phrase,
    plural,
    shown_diff,
    sig_phrase,
    upper_first,
)
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import MEANING_CSS, SIG_DOWN, SIG_UP, Section, _sig_cell, fold, meaning

__all__ = ["SummarySections"]


class SummarySections:
    """The summary, profile and key-metric sections and the index headline (a mixin: the
    data, the segment and the cached results are :class:`~.findings.SegmentFindings`')."""

    # -- summary ------------------------------------------------------------------------------
    def summary(self) -> Section:
        """Key-metric tiles and three to five sentences: where the segment stands, what
        drives it, where to act. Each number is taken from the object behind the table
        that shows it further down the page (key metrics, attributes, drivers, pain points).
        """
        s = Section("summary", "Summary")
        verdicts = {"better": [], "worse": [], "neutral": []}
        quoted = []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if seg is None:
                continue
            diff = seg["estimate"] - tot["estimate"]
            sig = bool(c["significant"]) if c is not None else False
            low = int(seg["n"]) < self.min_base
            mean = meaning(diff, 1 if m.higher_is_better else -1) if sig else "ns"
            s.tiles.append({
                "label": m.label, "value": fmt_value(seg["estimate"], m.kind),
                "arrow": (SIG_UP if diff > 0 else SIG_DOWN) if sig else "",
                "css": MEANING_CSS.get(mean, "sk-ns"), "low_base": low,
                "vs": f"total {fmt_value(tot['estimate'], m.kind)}, difference "
                      f"{fmt_diff(shown_diff(seg['estimate'], tot['estimate'], m.kind), m.kind)}"
            })
            if sig:
                verdicts[mean].append(m)
            quoted.append((m, seg, tot, sig, mean))
        n_metrics = len(quoted)
        if quoted:
            better, worse = verdicts["better"], verdicts["worse"]
            if self.low_base:
                head = (f"{self.name.subject} rest on a low base (n = {self.n}), so their results "
                        "are indicative only and not tested")
            elif worse and not better:
                head = (f"{self.name.subject} do worse than the rest of the sample on "
                        + _count_of(len(worse), n_metrics, "key metric"))
            elif better and not worse:
                head = (f"{self.name.subject} do better than the rest of the sample on "
                        + _count_of(len(better), n_metrics, "key metric"))
            elif better and worse:
                head = (f"{self.name.subject} do better than the rest of the sample on "
                        f"{join_words([lower_first(m.label) for m in better])} but worse on "
                        f"{join_words([lower_first(m.label) for m in worse])}")
            else:
                head = (f"{self.name.subject} do not differ significantly from the rest of the "
                        f"sample on any of the {n_metrics} key metrics")
            order = sorted(quoted, key=lambda q: (not q[3], 0))  # significant ones first
            shown = [f"{lower_first(m.label)} {fmt_value(seg['estimate'], m.kind)} vs "
                     f"{fmt_value(tot['estimate'], m.kind)}" for m, seg, tot, _, _ in order[:2]]
            s.findings.append(f"{head}: {join_words(shown)} in total.")
        t = self._attribute_table()
        if t is not None and not t.empty and not self.low_base:
            down, up = self._gaps(t, "mean", direction=-1), self._gaps(t, "mean", direction=1)
            what = plural(len(t), "attribute")
            they = "They" if s.findings else self.name.subject    # (no key metric before)
            if len(down) or len(up):
                main, word = (down, "below") if len(down) >= len(up) else (up, "above")
                other = up if word == "below" else down
                top = main.head(2)
                s.findings.append(
                    f"{they} rate {len(main)} of {what} significantly {word} the rest of the "
                    f"sample, most of all "
                    + join_words([f"{lower_first(r['label'])} ({fmt_value(r['estimate'], 'mean')}"
                                  f" vs {fmt_value(r['total'], 'mean')})"
                                  for _, r in top.iterrows()])
                    + (f"; {len(other)} {'is' if len(other) == 1 else 'are'} "
                       f"{'above' if word == 'below' else 'below'}" if len(other) else "")
                    + ".")
            else:
                s.findings.append(f"{they} rate the {what} in line with the rest of the "
                                  "sample.")
        ipa = self._ipa()
        if ipa.get("table") is not None:
            tt = ipa["table"]
            top = _top_drivers(tt, 2)
            s.findings.append(
                f"What drives their {lower_first(self._var_label(self.spec.outcome))} most: "
                + join_words(_shares([lower_first(self._var_label(d)) for d in top["driver"]],
                                     top["importance"])) + ".")
            acts = tt[tt["driver"].isin(ipa["acts"])].head(2)
            if len(acts):
                one = len(acts) == 1
                s.findings.append(
                    "Act first on "
                    + join_words([f"{lower_first(self._var_label(r['driver']))} (rated "
                                  f"{fmt_value(r['performance'], 'mean')})"
                                  for _, r in acts.iterrows()])
                    + f": {'it matters' if one else 'they matter'} more than most "
                    f"attributes but {'is' if one else 'are'} rated below the segment's "
                    "median.")
        index_line = self.path_model_summary()
        if index_line and len(s.findings) < 5:
            s.findings.append(index_line)
        pain = self._top_pain()
        if pain is not None and len(s.findings) < 5:
            r, who = pain
            s.findings.append(f"The most common pain point is {lower_first(r['option'])} "
                              f"({fmt_value(r['estimate'], 'percent')} {who} vs "
                              f"{fmt_value(r['total'], 'percent')} in total).")
        if not s.findings:
            s.findings.append(f"{self.label}: base n = {self.n:,}; no key metric, attribute "
                              "or driver results are available for a summary.")
        s.findings = s.findings[:5]
        return s

    # -- 1. profile ---------------------------------------------------------------------------
    def profile(self) -> Section:
        """Profile card: base n, weighted share and who they are vs the total."""
        s = Section("profile", "Profile")
        share = self._share()
        n_total = len(self.df)
        weighted = "weighted " if self.weights else ""
        s.tiles.extend([
            {"label": "Base (respondents)", "value": f"{self.n:,}", "low_base": self.low_base,
             "vs": f"of {n_total:,} in the survey", "css": "sk-ns"},
            {"label": f"Share of the {weighted}sample", "value": fmt_value(share, "percent"),
             "vs": "", "css": "sk-ns"}])
        s.findings.append(
            f"{self.name.subject} are {fmt_value(share, 'percent')} of the {weighted}sample "
            f"(base n = {self.n:,} of {n_total:,} respondents)"
            + (f"; {low_base_phrase(self.n, self.min_base)}." if self.low_base else "."))
        rows, distinct, show, bases = [], [], [], set()
        for var in self.spec.profile:
            if var not in self.df.columns:
                continue
            for r in self._category_rows(var, question=var):
                label, e, total_est, n = r["option_raw"], r["estimate"], r["total"], r["n"]
                p, sig, diff = r["p_value"], r["significant"], r["difference"]
                gap = shown_diff(e, total_est, "percent")
                rows.append({"Characteristic": self._var_label(var), "Category": label,
                             "Segment": fmt_value(e, "percent"),
                             "Total": fmt_value(total_est, "percent"),
                             "Difference (points)": fmt_diff(gap, "percent", unit=False),
                             "Test vs rest": _sig_cell(diff, p, sig, n, self.min_base),
                             "n": f"{n:,}"})
                show.append(sig)
                bases.add(n)
                if sig and diff > 0:
                    distinct.append((gap, diff, self._var_label(var), label, e, total_est, p))
        distinct.sort(key=lambda t: (-t[0], -t[1]))
        if distinct:
            parts = [f"{lower_first(lab)} "
                     f"({lower_first(var)}: {fmt_value(e, 'percent')} vs "
                     f"{fmt_value(t, 'percent')} "
                     f"in total, {fmt_p(p)})" for _, _, var, lab, e, t, p in distinct[:3]]
            s.findings.append(f"Compared with the total they are significantly more often "
                              f"{join_words(parts)}.")
        elif self.low_base:
            s.findings.append("With so few respondents the profile is shown for orientation "
                              "only; no differences were tested.")
        elif rows:
            s.findings.append("Their profile does not differ significantly from the total on "
                              "the characteristics shown.")
        if rows:
            frame = pd.DataFrame(rows, dtype=object)
            caption = "Who they are: % of the segment vs the total (column %)"
            if len(bases) == 1:
                frame = frame.drop(columns="n")
                caption += f", base n = {bases.pop():,}"
            if any(show):
                fold(frame, show, what="characteristics (not significantly different)")
            s.tables.append((caption, frame))
        s.data.update({"n": self.n, "share": share})
        return s

    # -- 2. key metrics ---------------------------------------------------------------------
    def _metric_rows(self) -> list[dict]:
        if "metrics" in self._cache:
            return self._cache["metrics"]
        out = []
        for m in self.spec.metrics:
            if m.column not in self.df.columns:
                continue
            kw = m.kwargs()
            try:
                seg = self._row(m.rescale(self._estimate(m.column, by=self.segment_by, **kw)))
                tot = m.rescale(self._estimate(m.column, **kw)).iloc[0]
            except _EXPECTED as exc:
                out.append({"metric": m, "error": str(exc)})
                continue
            cmp_row = None
            if seg is not None and seg["n"] >= self.min_base:
                try:
                    cmp_row = self._row(m.rescale(self._compare(m.column, **kw)))
                except _EXPECTED:
                    cmp_row = None
            out.append({"metric": m, "seg": seg, "tot": tot, "cmp": cmp_row})
        self._cache["metrics"] = out
        return out

    def key_metrics(self) -> Section:
        """Satisfaction, NPS, repurchase and complaint rate with CIs, vs the total."""
        s = Section("key_metrics", "Key metrics")
        rows, phrases, sig_names = [], [], []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if seg is None:
                rows.append({"Metric": m.label, "Segment": "n/a", "95% CI": "",
                             "Total": "", "Difference": "", "Test vs rest": "",
                             "n": "0"})
                continue
            diff = seg["estimate"] - tot["estimate"]
            p = float(c["p_value"]) if c is not None else np.nan
            sig = bool(c["significant"]) if c is not None else False
            n = int(seg["n"])
            rows.append({
                "Metric": m.label + (f" — {m.note}" if m.note else ""),
                "Segment": fmt_value(seg["estimate"], m.kind),
                "95% CI": fmt_ci(seg["ci_low"], seg["ci_high"], m.kind).replace("95% CI ", ""),
                "Total": fmt_value(tot["estimate"], m.kind),
                "Difference": fmt_diff(shown_diff(seg["estimate"], tot["estimate"], m.kind),
                                       m.kind),
                "Test vs rest": _sig_cell(diff, p, sig, n, self.min_base,
                                          1 if m.higher_is_better else -1),
                "n": f"{n:,}"})
            sig_text = (low_base_phrase(n, self.min_base) if n < self.min_base else
                        sig_phrase(diff, p, sig, n=n, min_base=self.min_base))
            phrases.append(f"{lower_first(m.label)} {fmt_value(seg['estimate'], m.kind)} "
                           f"({fmt_ci(seg['ci_low'], seg['ci_high'], m.kind)}, n = {n:,}; "
                           f"total {fmt_value(tot['estimate'], m.kind)}), {sig_text}")
            if sig:
                sig_names.append(f"{lower_first(m.label)} "
                                 f"({'higher' if diff > 0 else 'lower'})")
        if phrases:
            s.findings.append(f"{upper_first(self.name.among)}: {phrases[0]}.")
        if len(phrases) > 1:
            s.findings.append(f"{upper_first('; '.join(phrases[1:]))}.")
        if self.low_base:
            s.findings.append(f"The segment base is low (n = {self.n}); differences from the "
                              "total are not tested.")
        elif sig_names:
            s.findings.append(f"{len(sig_names)} of {len(phrases)} key metrics differ "
                              f"significantly from the rest of the sample at the "
                              f"{100 * self.alpha:.0f}% level: {join_words(sig_names)}.")
        elif phrases:
            s.findings.append(f"None of the {len(phrases)} key metrics differs significantly "
                              f"from the rest of the sample at the {100 * self.alpha:.0f}% "
                              "level.")
        if rows:
            s.tables.append(("Key metrics: segment vs total",
                             pd.DataFrame(rows, dtype=object)))
        s.notes.append("CIs are 95%" + (" (NPS: adjusted Wald)." if any(
                           item["metric"].stat == "nps" for item in self._metric_rows())
                           else "."))
        return s

    def headline(self) -> dict:
        """Base, share, the key metrics (with significance) and the driver importances
        (share of explained variance, act-here flags) for the index page."""
        metrics, total = [], []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if tot is not None:
                total.append({"key": m.key, "label": m.label,
                              "estimate": _num(tot["estimate"]),
                              "display": fmt_value(tot["estimate"], m.kind),
                              "kind": m.kind})
            if seg is None:
                continue
            diff = seg["estimate"] - tot["estimate"]
            sig = bool(c["significant"]) if c is not None else False
            p = _num(c["p_value"]) if c is not None else None
            metrics.append({
                "key": m.key, "label": m.label, "estimate": _num(seg["estimate"]),
                "display": fmt_value(seg["estimate"], m.kind), "n": int(seg["n"]),
                "ci_low": _num(seg["ci_low"]), "ci_high": _num(seg["ci_high"]),
                "total": _num(tot["estimate"]), "p_value": p, "kind": m.kind,
                "total_display": fmt_value(tot["estimate"], m.kind),
                "difference_display": fmt_diff(
                    shown_diff(seg["estimate"], tot["estimate"], m.kind), m.kind),
                "sig": ("higher" if diff > 0 else "lower") if sig else None,
                "higher_is_better": m.higher_is_better,
                "low_base": int(seg["n"]) < self.min_base,
                "note": f"total {fmt_value(tot['estimate'], m.kind)}; {fmt_p(p)}"})
        pls_index = self.path_model_headline()       # the path model's headline index
        if pls_index is not None:
            metrics.append(pls_index["metric"])
            total.append(pls_index["total"])
        drivers = []
        ipa = self._ipa()
        if ipa.get("table") is not None:
            for _, r in ipa["table"].iterrows():
                drivers.append({"key": r["driver"], "label": self._var_label(r["driver"]),
                                "importance": _num(r["importance"]),
                                "performance": _num(r["performance"]),
                                "act_here": r["driver"] in ipa["acts"]})
        return {"segment": value_text(self.segment), "label": self.label, "base": self.n,
                "weighted_share": _num(self._share()), "low_base": self.low_base,
                "metrics": metrics, "total": total, "drivers": drivers,
                "outcome": (self._var_label(self.spec.outcome) if self.spec.outcome
                            else None)}

    def record(self) -> None:
        """Hand the headline to the runner (a display output the HTML export leaves out)."""
        import json

        from IPython.display import display

        from .export import HEADLINE_MIME

        display({HEADLINE_MIME: json.dumps(self.headline())}, raw=True)
