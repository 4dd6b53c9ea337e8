"""Questionnaire versions across waves: what changed, so that it is never trended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from ..errors import ResponseDataError
from ..questionnaire import Questionnaire

__all__ = ["VersionChange", "VersionChanges", "compare_versions", "CHANGE_KINDS"]

#: What can change in a column between two waves' questionnaires.
CHANGE_KINDS = ("missing", "wording", "scale", "codes")
_SKIP_KINDS = ("id", "customer_id", "duration", "weight", "other_text", "open")


@dataclass(frozen=True)
class VersionChange:
    """One column that differs between two consecutive waves' questionnaires.

    ``change``: ``missing`` (not in one wave's questionnaire), ``wording`` (question or
    item text), ``scale`` (the valid codes, their direction or the range), ``codes`` (the
    same codes with other labels, or other missing codes). ``file`` / ``line``: where the
    later wave's questionnaire declares the question (the earlier one's when it was dropped).
    """

    variable: str
    question: str
    change: str
    wave_from: str
    wave_to: str
    before: str
    after: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:line {self.line}: " if self.file and self.line else ""
        return (f"{where}{self.variable}: {self.change} changed from wave {self.wave_from} to "
                f"{self.wave_to} ({self.before} -> {self.after}); not trended")


class VersionChanges:
    """The columns whose questionnaire changed between waves (:func:`compare_versions`).

    :attr:`changed` are the columns never trended; :meth:`to_frame` is one row per change.
    """

    def __init__(self, changes: list[VersionChange], waves: list[str]):
        self.changes = list(changes)
        self.waves = list(waves)

    @property
    def changed(self) -> list[str]:
        """The columns with any change (in first-seen order)."""
        return list(dict.fromkeys(c.variable for c in self.changes))

    def to_frame(self) -> pd.DataFrame:
        """One row per change: ``variable, question, change, wave_from, wave_to, before,
        after, file, line``."""
        cols = list(VersionChange.__dataclass_fields__)
        return pd.DataFrame([asdict(c) for c in self.changes], columns=cols)

    def summary(self) -> str:
        """The changes in words, one line each."""
        if not self.changes:
            return f"Questionnaire versions of waves {', '.join(self.waves)}: no changes."
        head = (f"Questionnaire versions of waves {', '.join(self.waves)}: "
                f"{len(self.changed)} column(s) changed and are not trended:")
        return "\n".join([head, *(f"  - {c}" for c in self.changes)])

    def __repr__(self) -> str:
        return f"VersionChanges(waves={self.waves}, changed={len(self.changed)})"

    def _repr_html_(self) -> str:
        f = self.to_frame().drop(columns=["file"])
        f["line"] = f["line"].astype("Int64")
        return (f"<p><b>Questionnaire changes between waves</b> ({len(self.changed)} column(s) "
                "not trended)</p>" + f.to_html(index=False, na_rep="", escape=True))

    @classmethod
    def from_records(cls, records, waves) -> VersionChanges:
        """Rebuild from :meth:`to_frame` rows (as kept in ``df.attrs["wave_changes"]``)."""
        fields = VersionChange.__dataclass_fields__
        return cls([VersionChange(**{k: (None if pd.isna(v) else v) if k in ("file", "line")
                                     else v for k, v in r.items() if k in fields})
                    for r in records], waves)


def _question_place(q: Questionnaire, qid: str) -> tuple[str | None, int | None]:
    for i, question in enumerate(q.model.questions):
        if question.id == qid:
            return getattr(q, "source", None), q.line_of("questions", i)
    return getattr(q, "source", None), None


def _wording(q: Questionnaire, var) -> str:
    try:
        text = q.question(var.question).text
    except KeyError:  # a derived variable
        return var.label
    return text if var.kind not in ("grid_item", "multi_option", "rank_option") else \
        f"{text} / {var.label}"


def _scale(q: Questionnaire, var) -> str:
    codes = ", ".join(map(str, var.value_labels)) or "-"
    sc = q.scale_of(var.name)
    direction = f", {sc.direction}" if sc is not None and sc.direction != "ascending" else ""
    rng = f", range {var.min}-{var.max}" if var.min is not None or var.max is not None else ""
    return f"codes {codes}{direction}{rng}"


def _codes(var) -> str:
    labels = "; ".join(f"{c} = {lab}" for c, lab in var.value_labels.items())
    missing = "; ".join(f"{c} = {m.label}" for c, m in var.missing_codes.items())
    return labels + (f" | missing {missing}" if missing else "")


def _changes(q0: Questionnaire, q1: Questionnaire, w0: str, w1: str) -> list[VersionChange]:
    out = []
    v0, v1 = q0.variables(), q1.variables()
    for name in dict.fromkeys([*v0, *v1]):
        a, b = v0.get(name), v1.get(name)
        var = b or a
        if var.kind in _SKIP_KINDS:
            continue
        file, line = _question_place(q1 if b is not None else q0, var.question)
        if a is None or b is None:
            pairs = [("missing", "asked" if a else "not in the questionnaire",
                      "asked" if b else "not in the questionnaire")]
        else:
            pairs = [("wording", _wording(q0, a), _wording(q1, b)),
                     ("scale", _scale(q0, a), _scale(q1, b)),
                     ("codes", _codes(a), _codes(b))]
        out.extend(VersionChange(name, var.question, change, w0, w1, before, after, file, line)
                   for change, before, after in pairs if before != after)
    return out


def compare_versions(questionnaires: Mapping) -> VersionChanges:
    """Compare each wave's questionnaire with the previous wave's.

    A column is flagged when it is missing from one wave's questionnaire, or when its
    question's wording, its scale (valid codes, direction, range) or its codes (labels,
    missing codes) changed; :func:`surveykit.waves.trend` never trends a flagged column
    and says why in its notes.

    Parameters
    ----------
    questionnaires : mapping
        Wave label -> :class:`~surveykit.questionnaire.Questionnaire`, in wave order.

    Returns
    -------
    VersionChanges

    Examples
    --------
    >>> from surveykit.questionnaire import questionnaire_from_text
    >>> v1 = questionnaire_from_text('''
    ... id: s
    ... title: S
    ... scales: {five: {codes: {1: Poor, 2: Fair, 3: Good, 4: Very good, 5: Excellent}}}
    ... questions:
    ...   - {id: sat, type: rating, scale: five, text: How satisfied are you?}
    ...   - {id: nps, type: nps, text: Recommend?}
    ... ''', source="v1.yaml")
    >>> v2 = questionnaire_from_text('''
    ... id: s
    ... title: S
    ... scales: {ten: {codes: {1: "1", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7",
    ...                       8: "8", 9: "9", 10: "10"}}}
    ... questions:
    ...   - {id: sat, type: rating, scale: ten, text: How satisfied are you?}
    ...   - {id: nps, type: nps, text: Recommend?}
    ... ''', source="v2.yaml")
    >>> ch = compare_versions({"Q1": v1, "Q2": v2})
    >>> ch.changed
    ['sat']
    >>> ch.to_frame()[["variable", "change", "wave_from", "wave_to", "file", "line"]]
      variable change wave_from wave_to     file  line
    0      sat  scale        Q1      Q2  v2.yaml     7
    1      sat  codes        Q1      Q2  v2.yaml     7
    """
    if not isinstance(questionnaires, Mapping) or not questionnaires:
        raise ResponseDataError("compare_versions takes a mapping wave label -> Questionnaire")
    from .reading import wave_label

    waves = [wave_label(w) for w in questionnaires]
    qs = list(questionnaires.values())
    bad = [w for w, q in zip(waves, qs, strict=True) if not isinstance(q, Questionnaire)]
    if bad:
        raise ResponseDataError(f"the questionnaire of wave(s) {', '.join(bad)} is not a "
                                "loaded Questionnaire; load it with load_questionnaire()")
    out: list[VersionChange] = []
    for k in range(1, len(qs)):
        if qs[k - 1] is not qs[k]:
            out.extend(_changes(qs[k - 1], qs[k], waves[k - 1], waves[k]))
    return VersionChanges(out, waves)
