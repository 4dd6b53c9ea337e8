"""The findings of :func:`~surveykit.responses.check_responses`: the rules checked, and
:class:`CheckResult` (one tidy table of findings, a summary per rule, text and HTML)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["CheckResult", "RULES", "TABLE_COLUMNS"]

#: rule -> (severity, what it means). Order = order in summaries.
RULES: dict[str, tuple[str, str]] = {
    "missing_column": ("error", "a questionnaire column is not in the data"),
    "unknown_column": ("warning", "a data column is not in the questionnaire (kept, not checked)"),
    "missing_id": ("error", "respondent id is empty"),
    "duplicate_id": ("error", "respondent id appears more than once"),
    "non_numeric": ("error", "text in a numeric column"),
    "out_of_range": ("error", "code not in the scale, or value outside min-max"),
    "exclusive_conflict": ("error", "an exclusive option ticked together with another option"),
    "too_many_choices": ("error", "more options ticked than max_choices allows"),
    "answered_not_asked": ("error", "answer present though the routing says not asked"),
    "asked_not_answered": ("error", "required answer missing though asked"),
    "straight_lining": ("warning", "the same code on every answered item of a grid"),
    "speeder": ("warning", "interview much shorter than the median"),
    "derived_missing": ("info", "a computed number or construct score is empty: a missing "
                        "input or a division by zero"),
}
TABLE_COLUMNS = ["respondent", "question", "rule", "severity", "value", "message", "row"]


@dataclass(eq=False)
class CheckResult:
    """Findings of :func:`check_responses`.

    Attributes
    ----------
    table : DataFrame
        One row per finding: ``respondent`` (id; empty for file-level rules), ``question``
        (column, question or grid id), ``rule``, ``severity`` (error / warning), ``value``
        (as found), ``message`` (what is wrong and what to do) and ``row`` (index label).
    rule_table : DataFrame
        One row per rule checked: ``rule, severity, respondents, findings, description``
        (also :meth:`summary_frame`); :meth:`summary` says the same as text.
    """

    table: pd.DataFrame
    rule_table: pd.DataFrame
    n_respondents: int
    n_columns: int
    questionnaire: str
    params: dict
    masks: dict = field(default_factory=dict, repr=False)
    index: pd.Index | None = field(default=None, repr=False)
    affected: int | None = field(default=None, repr=False)  # when table holds a selection

    @property
    def n_errors(self) -> int:
        """Number of error-severity findings."""
        t = self.rule_table
        return int(t.loc[t["severity"] == "error", "findings"].sum())

    @property
    def n_warnings(self) -> int:
        t = self.rule_table
        return int(t.loc[t["severity"] == "warning", "findings"].sum())

    @property
    def ok(self) -> bool:
        """True when there is no error-severity finding."""
        return self.n_errors == 0

    def respondents(self, rule: str | None = None, severity: str | None = None) -> list:
        """Distinct respondents with a finding (of ``rule`` / ``severity`` if given)."""
        t = self.table
        if rule is not None:
            t = t[t["rule"] == rule]
        if severity is not None:
            t = t[t["severity"] == severity]
        return t["respondent"].dropna().drop_duplicates().tolist()

    def to_frame(self) -> pd.DataFrame:
        """The findings table (a copy)."""
        return self.table.copy()

    def summary_frame(self) -> pd.DataFrame:
        """One row per rule checked: ``rule, severity, respondents, findings, description``."""
        return self.rule_table.copy()

    def summary(self, examples: int = 1) -> str:
        """A plain-text summary: counts per rule and ``examples`` messages per rule."""
        head = (f"Checked {self.n_respondents:,} respondents x {self.n_columns:,} columns "
                f"against questionnaire {self.questionnaire!r}: ")
        if self.table.empty:
            return head + "no problems found."
        n_resp = self.table["respondent"].dropna().nunique() if self.affected is None \
            else self.affected
        lines = [head + f"{self.n_errors:,} error(s), {self.n_warnings:,} warning(s), "
                 f"{n_resp:,} respondent(s) affected.", ""]
        shown = self.rule_table[["rule", "severity", "respondents", "findings"]]
        lines += shown.to_string(index=False).splitlines()
        if examples:
            lines += ["", "Examples:"]
            for rule, grp in self.table.groupby("rule", sort=False):
                for _, f in grp.head(examples).iterrows():
                    who = "" if pd.isna(f["respondent"]) else f"respondent {f['respondent']}: "
                    lines.append(f"  {rule}: {who}{f['message']}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"CheckResult({self.questionnaire!r}, respondents={self.n_respondents:,}, "
                f"errors={self.n_errors:,}, warnings={self.n_warnings:,})")

    def _repr_html_(self) -> str:
        status = ("no problems found" if self.table.empty else
                  f"{self.n_errors:,} error(s), {self.n_warnings:,} warning(s)")
        parts = [f"<p><b>Response check</b> of {self.n_respondents:,} respondents &times; "
                 f"{self.n_columns:,} columns against questionnaire "
                 f"<code>{html.escape(self.questionnaire)}</code>: {status}</p>",
                 self.rule_table.to_html(index=False)]
        if not self.table.empty:
            parts.append(f"<p>First findings (of {len(self.table):,}):</p>")
            parts.append(self.table.head(20).to_html(index=False))
        return "\n".join(parts)
