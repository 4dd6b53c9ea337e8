"""Key metrics of the findings report (:class:`Metric`): a column, the statistic and how to
show it, built from a ``report.metrics`` entry or by default from the outcome and the loyalty
measures, with the scale described in words. :class:`Metric` is importable from
:mod:`surveykit.reporting.spec`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ReportError


@dataclass(frozen=True)
class Metric:
    """One key metric: a column, the statistic and how to show it.

    ``key`` is the column (with the statistic appended when a column has two metrics);
    ``stat`` and ``codes`` are what :func:`surveykit.estimates.estimate` takes; ``kind``
    is the display kind (``mean``, ``percent``, ``nps``); ``index`` is ``(low, high)`` of
    the scale when the mean is shown on 0-100 (:meth:`rescale`); ``declared`` is the
    ``report.metrics`` statistic it came from.
    """

    key: str
    column: str
    label: str
    stat: str
    kind: str
    codes: tuple | None = None
    note: str = ""
    higher_is_better: bool = True
    index: tuple[float, float] | None = None
    declared: str = "mean"

    def kwargs(self) -> dict:
        """Keyword arguments for :func:`surveykit.estimates.estimate` / ``compare``."""
        kw: dict = {"stat": self.stat}
        if self.codes is not None:
            kw["codes"] = list(self.codes)
        return kw

    def rescale(self, frame):
        """``frame`` (an estimate or compare result) on the metric's display scale: a 0-100
        index is ``100 * (x - low) / (high - low)`` (differences and SEs scale by
        ``100 / (high - low)``); other metrics are returned unchanged."""
        if self.index is None or frame is None:
            return frame
        low, high = self.index
        f = 100.0 / (high - low)
        out = frame.copy()
        for col in ("estimate", "ci_low", "ci_high", "reference_estimate"):
            if col in out:
                out[col] = (out[col] - low) * f
        for col in ("se", "difference"):
            if col in out:
                out[col] = out[col] * f
        return out


def default_metrics(q, outcome: str | None, loyalty: list[str]) -> list[Metric]:
    """The outcome's mean and each loyalty measure (NPS; top box of a scale; a mean)."""
    out = []
    if outcome:
        out.append(_metric(q, outcome, "mean", None, None, "higher"))
    for name in loyalty:
        if name == outcome:
            continue
        kind = _kind(q, name)
        stat = "nps" if kind == "nps" else ("top_box" if q.scale_of(name) is not None
                                            else "mean")
        out.append(_metric(q, name, stat, None, None, "higher"))
    return out


def _unique_keys(metrics: list[Metric]) -> list[Metric]:
    """A column with two metrics gets its statistic in the key (``sat:index``)."""
    from dataclasses import replace

    seen, out = set(), []
    for m in metrics:
        key = m.key if m.key not in seen else f"{m.column}:{m.declared}"
        seen.add(key)
        out.append(replace(m, key=key) if key != m.key else m)
    return out


def _kind(q, name: str) -> str | None:
    try:
        return q.variable(name).kind
    except KeyError:
        return None


def _label(q, name: str) -> str:
    try:
        return q.variable(name).label
    except KeyError:
        return name


def _yes_code(q, name: str):
    labels = q.labels(name) or {}
    yes = [c for c, lab in labels.items() if str(lab).strip().lower() in ("yes", "y")]
    return yes[0] if yes else None


def scale_words(sc) -> str:
    """A scale in words, with its end labels when they are words.

    Examples
    --------
    >>> from surveykit.questionnaire.models import Scale
    >>> scale_words(Scale(codes={1: "Strongly disagree", 2: "2", 3: "Strongly agree"}))
    '1-3 scale, strongly disagree to strongly agree'
    >>> scale_words(Scale(codes={0: "0", 5: "5", 10: "10"}))
    '0-10 scale'
    """
    order = sorted(sc.codes, key=lambda o: o.code if isinstance(o.code, int | float) else 0)
    ends = [re.sub(r"^\s*\d+\s*[-–:=.]?\s*", "", str(o.label)).strip()
            for o in (order[0], order[-1])]
    text = f"{sc.low:g}-{sc.high:g} scale"
    if all(e and not e.replace(".", "").isdigit() for e in ends):
        text += f", {ends[0].lower()} to {ends[1].lower()}"
    return text


def _metric(q, column: str, stat: str, label, codes, better) -> Metric:
    """A :class:`Metric` from a declared ``report.metrics`` entry (or a default)."""
    sc = q.scale_of(column)
    label = label or (_label(q, column) if stat != "nps" else "NPS")
    hib = better != "lower"
    if stat == "mean":
        note = f"mean, {scale_words(sc)}" if sc is not None else "mean"
        return Metric(column, column, label, "mean", "mean", note=note,
                      higher_is_better=hib)
    if stat == "index":
        if sc is None:
            raise ReportError(f"metric {column!r}: stat 'index' needs a question with a "
                              "scale (the 0-100 index runs from its lowest to highest code)")
        return Metric(column, column, label, "mean", "mean",
                      note=f"0-100 index from the {scale_words(sc)}", higher_is_better=hib,
                      index=(sc.low, sc.high), declared="index")
    if stat == "nps":
        return Metric(column, column, label, "nps", "nps",
                      note="% promoters (9-10) minus % detractors (0-6)",
                      higher_is_better=hib, declared="nps")
    if stat in ("top_box", "bottom_box"):
        if sc is None:
            raise ReportError(f"metric {column!r}: stat {stat!r} needs a question with a "
                              "scale; use 'proportion' with codes instead")
        ordered = sorted(sc.valid_codes, reverse=sc.direction == "ascending")
        box = sc.favourable_codes
        codes = tuple(box) if stat == "top_box" else tuple(ordered[::-1][:len(box)])
    elif stat == "proportion":
        if not codes:
            yes = _yes_code(q, column)
            if yes is None:
                raise ReportError(f"metric {column!r}: stat 'proportion' needs codes (the "
                                  "answers to count)")
            codes = [yes]
        codes = tuple(codes)
    else:
        raise ReportError(f"metric {column!r}: unknown stat {stat!r}")
    labels = q.labels(column) or {}
    names = [str(labels.get(c, c)) for c in codes]
    return Metric(column, column, label,
                  "proportion", "percent", codes=codes,
                  note=f"% {' / '.join(names)}" if names else "", higher_is_better=hib,
                  declared=stat)
