"""Attribute satisfaction and construct scores: segment means against the total.

A mixin of :class:`surveykit.reporting.findings.SegmentFindings` (sections 3 and 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util import lower_first
from .narrative import (
    fmt_ci,
    fmt_diff,
    fmt_value,
    join_words,
)
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import (
    Section,
    comparison_columns,
    fold,
)

__all__ = ["MeanSections"]


class MeanSections:
    """Attribute and construct-score sections; expects the attributes and helpers of
    ``SegmentFindings`` (``df``, ``q``, ``spec``, ``_estimate``, ``_compare``, ...)."""

    # -- 3. attribute satisfaction -------------------------------------------------------------
    def _attribute_table(self) -> pd.DataFrame | None:
        if "attributes" not in self._cache:
            self._cache["attributes"] = self._mean_table(self.spec.attributes)
        return self._cache["attributes"]

    def _mean_table(self, items, data=None, labels=None) -> pd.DataFrame | None:
        """Segment mean of each of ``items`` with its CI, the total and the test against the
        rest of the sample; highest first (None when nothing could be estimated). The
        table's ``attrs["range"]`` is one axis range for its chart on every segment's page
        (all segments' and the total's means)."""
        data = self.df if data is None else data
        items = [c for c in items if c in data.columns]
        if not items:
            return None
        try:
            every = self._estimate(items, by=self.segment_by, data=data)
            seg = every[self._mine(every)]
            tot = self._estimate(items, data=data)
            cmp_ = self._compare(items, data=data) if not self.low_base else None
        except _EXPECTED:
            return None
        if seg.empty:
            return None
        total = dict(zip(tot["variable"].tolist(), tot["estimate"].to_numpy(), strict=True))
        tests = self._tests(cmp_)
        mine = {}
        for v, *r in zip(seg["variable"].tolist(), *(seg[c].to_numpy() for c in
                         ("estimate", "ci_low", "ci_high", "n")), strict=True):
            mine.setdefault(v, r)
        rows = []
        for item in items:
            if item not in mine:
                continue
            est, lo, hi, n = mine[item]
            p, sig = tests.get(item, (np.nan, False))
            rows.append({"item": item,
                         "label": (labels or {}).get(item) or self._var_label(item),
                         "estimate": est, "ci_low": lo, "ci_high": hi, "n": int(n),
                         "total": total[item], "difference": est - total[item],
                         "p_value": p, "significant": sig})
        if not rows:
            return None
        out = pd.DataFrame(rows).sort_values("estimate", ascending=False)
        from ..charts import nice_range

        big = every["n"] >= self.min_base
        out.attrs["range"] = nice_range([*every.loc[big, "estimate"], *tot["estimate"]],
                                        pad=0.1)
        return out

    def attributes(self) -> Section:
        """Satisfaction with each attribute and service aspect, vs the total."""
        s = Section("attributes", "Attribute satisfaction")
        self._means_section(s, self._attribute_table(), what="attribute",
                            column="Attribute", caption="Mean rating")
        return s

    def _scale_text(self, items) -> str:
        """`` on the 1-5 scale`` when the items share one scale, else ``""``."""
        scales = {(sc.low, sc.high) for sc in map(self.q.scale_of, items) if sc is not None}
        if len(scales) != 1:
            return ""
        low, high = scales.pop()
        return f" on the {low:g}-{high:g} scale"

    def _means_section(self, s: Section, t, *, what: str, column: str, caption: str,
                       scale_txt: str | None = None, polarity: int = 1) -> None:
        """Findings, table and chart of a :meth:`_mean_table` (attributes, constructs)."""
        if t is None or t.empty:
            s.findings.append(f"No {what} scores are available for this segment.")
            return
        if scale_txt is None:
            scale_txt = self._scale_text(t["item"])
        best, worst = t.iloc[0], t.iloc[-1]
        s.findings.append(
            f"{self.name.subject} rate {lower_first(best['label'])} highest (mean "
            f"{fmt_value(best['estimate'], 'mean')}{scale_txt}, n = {best['n']:,}) and "
            f"{lower_first(worst['label'])} lowest "
            f"({fmt_value(worst['estimate'], 'mean')}, n = {worst['n']:,}).")
        # the largest gaps as shown first: the sentence names the rows a reader sees as
        # most different, with the differences printed in the table
        up, down = self._gaps(t, "mean", direction=1), self._gaps(t, "mean", direction=-1)
        plural_ = f"{what}s" if len(t) != 1 else what
        if self.low_base:
            s.findings.append(f"The base is low (n = {self.n}); differences from the total "
                              "are not tested.")
        elif len(up) or len(down):
            bits = []
            for rows, word in ((up, "above"), (down, "below")):
                if len(rows):
                    shown = join_words([f"{lower_first(r['label'])} "
                                        f"({fmt_diff(r['shown_diff'], 'mean')})"
                                        for _, r in rows.head(3).iterrows()])
                    bits.append(f"significantly {word} the rest of the sample on {len(rows)} "
                                f"of {len(t)} {plural_}, most on {shown}")
            s.findings.append(f"They are {'; '.join(bits)}.")
        else:
            s.findings.append(f"None of the {len(t)} {plural_} differs significantly from the "
                              "rest of the sample.")
        low_items = t[t["n"] < self.min_base]
        if len(low_items) and not self.low_base:
            s.findings.append(f"{len(low_items)} of the {plural_} rest on a low base "
                              f"(under {self.min_base} who answered): "
                              f"{join_words(low_items['label'].tolist())}; indicative only.")
        table = pd.DataFrame({
            column: t["label"].tolist(),
            "Segment mean": [fmt_value(v, "mean") for v in t["estimate"]],
            "95% CI": [fmt_ci(lo, hi, "mean").replace("95% CI ", "")
                       for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
            **comparison_columns(t, "mean", self.min_base, polarity=polarity)}, dtype=object)
        show = t["significant"].astype(bool).to_numpy()
        if show.sum() < 5:  # too few differences to stand alone: the top and bottom rows too
            show = show | (np.arange(len(t)) < 3) | (np.arange(len(t)) >= len(t) - 2)
        fold(table, show, what=f"{plural_} (not significantly different)")
        s.tables.append((f"{caption}{scale_txt}, highest first", table))
        try:
            from .. import charts

            s.figures.append(charts.comparison_chart(
                t, value="estimate", reference="total", label="label",
                significant="significant", value_name=self.label, polarity=polarity,
                xlim=t.attrs.get("range"), xlabel=f"mean rating{scale_txt}".strip(),
                title=f"{s.title}: {self.label} vs total"))
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        s.data["table"] = t

    # -- 3b. construct scores --------------------------------------------------------------------
    def _construct_table(self) -> pd.DataFrame | None:
        if "constructs" in self._cache:
            return self._cache["constructs"]
        res = None
        cons = [c for c in self.q.constructs if c.id in self.spec.constructs]
        if cons:
            from ..measurement import construct_scores, from_questionnaire

            ids = [c.id for c in cons]

            def score():
                m = from_questionnaire(self.q, ids)
                scored = construct_scores(self.df, m["model"], reverse=m["reverse"],
                                          scale_range=m["scale_range"],
                                          min_items=m["min_items"], prefix="__construct_")
                return scored[[f"__construct_{i}" for i in ids]]

            try:
                # the same scores on every page: computed once per run (.shared)
                scored = self.shared.get(self._page_key("construct_scores", ids), score)
                data = self._tag(self.df.assign(**{i: scored[f"__construct_{i}"].to_numpy()
                                                   for i in ids}), f"constructs:{ids}")
                res = self._mean_table(ids, data, labels={c.id: c.label for c in cons})
            except _EXPECTED:
                res = None
        self._cache["constructs"] = res
        return res

    def constructs(self) -> Section:
        """Construct scores (mean of each construct's items, reverse keys applied), vs the
        total."""
        s = Section("constructs", "Construct scores")
        t = self._construct_table()
        cons = [c for c in self.q.constructs if c.id in self.spec.constructs]
        items = [i for c in cons for i in c.items]
        rated = {*self.spec.attributes, *self.spec.drivers}
        # satisfaction constructs (made of rated attributes): higher is better
        polarity = 1 if items and all(i in rated for i in items) else 0
        self._means_section(s, t, what="construct", column="Construct",
                            caption="Mean construct score", scale_txt=self._scale_text(items),
                            polarity=polarity)
        s.notes.append("A construct score is the mean of the construct's items (reverse-keyed "
                       "items re-coded first), for respondents who answered at least the "
                       "construct's minimum number of items.")
        return s

