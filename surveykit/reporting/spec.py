"""Which questions feed which report section, read from the questionnaire.

The questionnaire already says what every question is (type, scale, block, label); a
:class:`ReportSpec` only picks, for the findings report, the overall satisfaction, NPS,
repurchase and complaint questions, the attribute grids, the pain points, channels and
information sources, the profile variables and the CRM value / lifecycle columns.
:meth:`ReportSpec.infer` finds them by question type and id / label words; every field can
be overridden (the notebooks' ``spec`` parameter), and unknown keys are refused.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from ..errors import ReportError

__all__ = ["ReportSpec", "Metric"]

PROFILE_BLOCKS = ("profile", "demograph", "individual", "organisation", "organization",
                  "firmograph", "about")
CRM_VALUE_WORDS = ("value_tier", "tier", "rfm_segment", "value_segment")
CRM_LIFECYCLE_WORDS = ("lifecycle", "life_cycle", "stage")
MAX_DRIVERS = 20


@dataclass(frozen=True)
class Metric:
    """One key metric: a column, the statistic and how to show it."""

    key: str
    column: str
    label: str
    stat: str                      # estimates.STATS: mean, proportion, top2, nps
    kind: str                      # narrative kind: mean, percent, nps
    codes: tuple | None = None
    scale: tuple[float, float] | None = None
    box: int = 2
    note: str = ""
    higher_is_better: bool = True

    def kwargs(self) -> dict:
        """Keyword arguments for :func:`surveykit.estimates.estimate` / ``compare``."""
        kw: dict = {"stat": self.stat}
        if self.codes is not None:
            kw["codes"] = list(self.codes)
        if self.scale is not None:
            kw["scale"] = self.scale
            kw["box"] = self.box
        return kw


@dataclass
class ReportSpec:
    """The questions behind each section of the findings report (ids of columns or
    questions; see :meth:`infer`)."""

    satisfaction: str | None = None
    nps: str | None = None
    repurchase: str | None = None
    complaint: str | None = None
    attributes: list[str] = field(default_factory=list)
    battery: list[str] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    pain_points: list[str] = field(default_factory=list)
    open_text: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    value_tier: str | None = None
    lifecycle: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def updated(self, overrides: dict | None) -> ReportSpec:
        """A copy with ``overrides`` applied; unknown keys raise :class:`ReportError`."""
        if not overrides:
            return self
        known = [f.name for f in fields(self)]
        bad = [k for k in overrides if k not in known]
        if bad:
            raise ReportError(f"unknown report spec key(s) {bad}; known: {', '.join(known)}")
        return ReportSpec(**{**self.to_dict(), **overrides})

    # ---------------------------------------------------------------------------------
    @classmethod
    def infer(cls, q, columns=None, *, segment_by: str | None = None) -> ReportSpec:
        """Pick the report's questions from the questionnaire ``q``.

        * satisfaction: the first ``rating`` question whose id or label says
          "satisf" (else the first rating question);
        * nps: the first ``nps`` question;
        * repurchase: a rating/single question saying "repurchase", "buy again" or
          "rebuy"; complaint: a single question saying "complain";
        * attributes: items of every grid on a satisfaction scale; battery: the items of
          the first such grid (its factor structure is shown in the overview); drivers: the
          questionnaire's ``roles.drivers``, else the battery (at most 20);
        * pain points: multi questions saying "pain", "problem", "frustrat" or
          "complaint reason"; open text: open questions without ``pii``;
        * channels: questions saying "channel" / "where did you buy"; sources: saying
          "source" or "information";
        * profile: single questions in a profile / demographic / individual /
          organisation block, derived bands and the weighting variables (not the
          segment variable, nor the variables that define it: a segment of 18-24 year
          olds being 100% aged 18-24 is its definition, not a finding);
        * value tier / lifecycle: CRM columns named like ``value_tier`` / ``lifecycle``.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> spec = ReportSpec.infer(load_questionnaire("questionnaires/pc_customers.yaml"))
        >>> spec.satisfaction, spec.nps, spec.repurchase, spec.complaint
        ('overall_sat', 'nps', 'repurchase', 'complaint')
        >>> spec.drivers[:3]
        ['sat_cpu', 'sat_screen', 'sat_battery']
        """
        cols = set(columns) if columns is not None else None

        def has(c):
            return cols is None or c in cols

        def words(qq) -> str:
            return f"{qq.id} {qq.label or ''} {qq.text}".lower()

        questions = [qq for qq in q.questions if not qq.pii]
        spec = cls()
        ratings = [qq for qq in questions if qq.type == "rating" and has(qq.id)]
        sat = [qq for qq in ratings if "satisf" in words(qq)]
        pick = sat or ratings
        spec.satisfaction = pick[0].id if pick else None
        nps = [qq for qq in questions if qq.type == "nps" and has(qq.id)]
        spec.nps = nps[0].id if nps else None
        rep = [qq for qq in questions if qq.type in ("rating", "single") and has(qq.id)
               and re.search(r"repurchase|buy again|rebuy|purchase again", words(qq))]
        spec.repurchase = rep[0].id if rep else None
        comp = [qq for qq in questions if qq.type == "single" and has(qq.id)
                and re.search(r"complain", f"{qq.id} {qq.label or ''}".lower())]
        spec.complaint = comp[0].id if comp else None

        grids = []
        for qq in questions:
            if qq.type != "grid":
                continue
            scale = q.scales.get(qq.scale)
            scale_words = f"{qq.scale} {scale.label if scale else ''} {words(qq)}".lower()
            if "satisf" in scale_words or qq.scale.startswith("sat"):
                items = [it.id for it in qq.items if has(it.id)]
                if items:
                    grids.append(items)
        spec.attributes = [i for g in grids for i in g]
        spec.battery = grids[0] if grids else []
        declared = [d for d in q.roles.drivers if has(d)]
        spec.drivers = declared or spec.battery[:MAX_DRIVERS]

        spec.pain_points = [qq.id for qq in questions if qq.type == "multi" and re.search(
            r"pain|problem|frustrat|complaint.?reason|reason", words(qq))]
        spec.open_text = [qq.id for qq in questions if qq.type == "open" and has(qq.id)]
        spec.channels = [qq.id for qq in questions if qq.type in ("single", "multi")
                         and re.search(r"channel|where did you buy|bought", words(qq))]
        spec.sources = [qq.id for qq in questions if qq.type in ("single", "multi")
                        and re.search(r"source|information", words(qq))
                        and qq.id not in spec.channels]

        profile = []
        for qq in questions:
            block = (qq.block or "").lower()
            if qq.type == "single" and any(b in block for b in PROFILE_BLOCKS) and has(qq.id):
                profile.append(qq.id)
        for d in q.derived:
            if d.bands and has(d.id):
                profile.append(d.id)
        for w in q.roles.weighting:
            if w not in profile and has(w):
                profile.append(w)
        defining = set(q.defining_variables(segment_by)) if segment_by else set()
        spec.profile = [p for p in profile if p != segment_by and p not in defining]

        if cols is not None:
            low = {c.lower(): c for c in cols}
            spec.value_tier = next((low[w] for w in CRM_VALUE_WORDS if w in low), None)
            spec.lifecycle = next((low[w] for w in CRM_LIFECYCLE_WORDS if w in low), None)
        return spec

    # ---------------------------------------------------------------------------------
    def metrics(self, q) -> list[Metric]:
        """The key metrics (satisfaction mean, NPS, repurchase top box, complaint rate)."""
        out = []
        if self.satisfaction:
            sc = q.scale_of(self.satisfaction)
            hi = f" (0-{sc.high:g} scale)" if sc is not None and sc.low == 0 else (
                f" ({sc.low:g}-{sc.high:g} scale)" if sc is not None else "")
            out.append(Metric("satisfaction", self.satisfaction, _label(q, self.satisfaction),
                              "mean", "mean", note=f"mean{hi}"))
        if self.nps:
            out.append(Metric("nps", self.nps, "NPS", "nps", "nps",
                              note="promoters (9-10) minus detractors (0-6)"))
        if self.repurchase:
            sc = q.scale_of(self.repurchase)
            codes = tuple(sc.favourable_codes) if sc is not None else None
            labels = [str(sc.codes[[o.code for o in sc.codes].index(c)].label)
                      for c in codes] if codes else []
            out.append(Metric("repurchase", self.repurchase, _label(q, self.repurchase),
                              "proportion", "percent", codes=codes,
                              note=f"% {' / '.join(labels).lower()}" if labels else ""))
        if self.complaint:
            labels = q.labels(self.complaint)
            yes = [c for c, lab in labels.items() if str(lab).strip().lower() in ("yes", "y")]
            code = yes[0] if yes else 1
            out.append(Metric("complaint", self.complaint, "Complaint rate", "proportion",
                              "percent", codes=(code,), note=f"% {labels.get(code, code)}",
                              higher_is_better=False))
        return out


def _label(q, name: str) -> str:
    try:
        return q.variable(name).label
    except KeyError:
        return name
