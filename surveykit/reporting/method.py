"""The method note of a segment report: sample, weighting, margin of error, tests, and what
was left out or inferred, in plain words with the technical note folded.

A mixin of :class:`surveykit.reporting.findings.SegmentFindings`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._util import lower_first
from .narrative import (
    fmt_value,
    join_words,
    low_base_phrase,
)
from .section import (
    Section,
)

__all__ = ["MethodNote"]

#: a "Test vs rest" cell that shows a test's p-value ("p = 0.03", "p < 0.001")
_P_CELL = re.compile(r"p [<=]")


class MethodNote:
    """The method note; expects the attributes and helpers of ``SegmentFindings``."""

    # -- 9. method note ----------------------------------------------------------------------
    def _comparisons(self) -> int:
        """How many tests against the rest of the sample the page shows (every "p" cell of
        every section's tables, folded rows included)."""
        count = 0
        for key in self.sections():
            if key in ("method", "recommendations"):
                continue
            sec = self.built().get(key) or self.section(key)
            for _, table in (sec.tables if sec is not None else []):
                for col in table.columns:
                    if str(col).startswith("Test vs rest"):
                        count += sum(1 for v in table[col].tolist() if _P_CELL.search(str(v)))
        return count

    def method_note(self) -> Section:
        """Sample, weighting efficiency, margin of error and the tests, in plain words; the
        technical detail in a closed block."""
        from ..significance import TEST_DEFINITIONS, effective_n, margin_of_error

        s = Section("method", "Method note")
        meta = self.survey.meta or {}
        w_seg = self.w[self.mask]
        neff = effective_n(w_seg)
        eff = neff / self.n if self.n else np.nan
        moe = margin_of_error(neff)
        n_total = len(self.df)
        if self.weights:
            targets = join_words([lower_first(self._var_label(v))
                                  for v in self.q.roles.weighting]) or "the target variables"
            s.findings.append(
                f"Base: {self.n:,} of {n_total:,} respondents. Answers are weighted so that "
                f"the sample matches the population on {targets}; weighting costs precision, "
                f"so this segment counts like {neff:,.0f} unweighted respondents.")
        else:
            s.findings.append(f"Base: {self.n:,} of {n_total:,} respondents, unweighted.")
        design = getattr(self.survey, "design", None)
        s.findings.append(
            f"A percentage for this segment is precise to within ±{100 * moe:.1f} points "
            "(95% confidence, at worst"
            + (", before the sample design's clustering, which widens it" if design is not None
               else "") + ")"
            + (f"; {low_base_phrase(self.n, self.min_base)}." if self.low_base else "."))
        if design is not None:
            s.findings.append(f"Standard errors, intervals and tests follow the sample design "
                              f"the questionnaire declares: {design.description}.")
        k = self._comparisons()
        if k:
            about = k if k < 20 else int(round(k, -1))
            false = self.alpha * k
            s.findings.append(
                f"Arrows mark differences from the rest of the sample that are unlikely to be "
                f"chance at the {100 * (1 - self.alpha):g}% level; with about {about} "
                f"comparisons on this page, expect "
                + ("about one false alarm" if round(false) <= 1 else
                   f"about {round(false)} false alarms")
                + ", so read a lone arrow with care. "
                f"Bases under {self.min_base} are flagged and not tested.")
        else:
            s.findings.append(f"Bases under {self.min_base} are flagged and not tested.")
        unseg = int(self.df[self.segment_by].isna().sum())
        if unseg:
            s.findings.append(
                f"{unseg:,} respondent{'s have' if unseg != 1 else ' has'} no "
                f"{lower_first(self._var_label(self.segment_by))}: they count in the total "
                "and the rest of the sample, but in no segment.")
        for key, why in self.left_out().items():
            s.notes.append(f"Left out: {self.SECTIONS[key][0]}, because {why}.")
        if self.spec.notes:
            s.notes.append("The questionnaire declares no report: block, so these choices "
                           "were inferred: " + "; ".join(self.spec.notes) + ".")
        rated = [m.column for m in self.spec.metrics if m.stat == "mean"]
        rated += [*self.spec.attributes, *(i for c in self.q.constructs
                                           if c.id in self.spec.constructs for i in c.items)]
        scales = sorted({(sc.low, sc.high) for sc in map(self.q.scale_of, rated)
                         if sc is not None})
        if scales:
            s.notes.append(f"Means of ratings ({', '.join(f'{lo:g}-{hi:g}' for lo, hi in scales)}"
                           f" scale{'s' if len(scales) > 1 else ''}) treat each scale as "
                           "interval.")
        coding, coding_detail = self._coding_notes_once()
        s.notes.extend(coding)
        # technical detail for analysts
        s.technical.extend(coding_detail)
        tests = set()
        for item in self._metric_rows():
            c = item.get("cmp")
            if c is not None and "test" in c:
                tests.add(str(c["test"]))
        t = self._attribute_table()
        if t is not None and not t.empty:
            tests.add("z (linearisation SEs)" if design is None else
                      "design-based t (" + ("replicate weights" if hasattr(design, "n_replicates")
                                            else "linearisation") + ", R svyttest)")
        s.technical.append(
            f"Each result is tested against the rest of the sample (two-sided, "
            f"{100 * self.alpha:g}% level, no adjustment for multiple comparisons): "
            f"{join_words(sorted(tests)) or 'tests on Kish effective bases'}.")
        s.technical.append("Definitions: " + "; ".join(TEST_DEFINITIONS.values()) + ".")
        if self.weights:
            eff_all = meta.get("weighting_efficiency")
            s.technical.append(
                "Weights: raking to the population targets"
                + (f" (overall weighting efficiency {100 * eff_all:.0f}%)"
                   if eff_all is not None else "")
                + f"; within the segment the weighting efficiency is {100 * eff:.0f}%, a Kish "
                f"effective base of {neff:,.0f}; the margin of error uses p = 50% on that "
                "base.")
        s.technical.append(("Standard errors: Taylor linearisation with the final weights "
                            "(R survey svymean equivalent)" if design is None else
                            f"Sample design: {design.description}; standard errors from it "
                            f"({design.method})")
                           + "; CIs are Wald intervals"
                           + (", NPS adjusted Wald" if any(m.stat == "nps"
                                                           for m in self.spec.metrics) else "")
                           + ".")
        s.technical.extend(self.path_model_notes())
        rows = [("Respondents in the survey", f"{n_total:,}"),
                ("Respondents in the segment (base)", f"{self.n:,}"),
                ("Effective base (Kish)", f"{neff:,.0f}"),
                ("Weighting efficiency in the segment", fmt_value(eff, "percent")),
                ("Margin of error (95%, p = 50%)", f"±{100 * moe:.1f} points"),
                ("Significance level", f"{self.alpha:g}"),
                ("Minimum base for tests", f"{self.min_base}")]
        if meta.get("weighting_efficiency") is not None and self.weights:
            rows.insert(4, ("Weighting efficiency overall",
                            fmt_value(meta["weighting_efficiency"], "percent")))
        if design is not None:
            rows.append(("Sample design", design.description))
        if k:
            rows.append(("Tests on this page", f"{k:,}"))
        if meta.get("check_errors") is not None:
            rows.append(("Data-check errors found before cleaning", f"{meta['check_errors']:,}"))
        if meta.get("dropped_columns"):
            rows.append(("Personal-data columns removed before analysis",
                         f"{len(meta['dropped_columns'])}"))
        if unseg:
            rows.insert(1, ("Respondents in no segment", f"{unseg:,}"))
        s.technical_tables.append(("Sample and method", pd.DataFrame(rows,
                                                                     columns=["Item", "Value"])))
        s.data.update({"n_eff": neff, "efficiency": eff, "moe": moe, "comparisons": k})
        return s
