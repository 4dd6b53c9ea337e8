"""Guessing a report spec from a questionnaire that declares no ``report:`` block
(:meth:`ReportSpec.infer <surveykit.reporting.spec.ReportSpec.infer>`, mixed into
:class:`~surveykit.reporting.spec.ReportSpec`), and the defaults a declared block leaves to the
questionnaire (the banner, the cap on drivers). Every guess is recorded in the spec's notes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ReportError
from ._spec_metrics import _metric, _yes_code, default_metrics

if TYPE_CHECKING:
    from .spec import ReportSpec

PROFILE_BLOCKS = ("profile", "demograph", "individual", "organisation", "organization",
                  "firmograph", "about")
CRM_VALUE_WORDS = ("value_tier", "tier", "rfm_segment", "value_segment")
CRM_LIFECYCLE_WORDS = ("lifecycle", "life_cycle", "stage")
MAX_DRIVERS = 20
#: question types the tab book tabulates when no banner questions are declared
BANNER_TYPES = ("single", "multi", "rating", "grid", "nps")


class _Inference:
    """:class:`ReportSpec`'s inference from types and wording."""

    @classmethod
    def infer(cls, q, columns=None, *, segment_by: str | None = None,
              skip: set | None = None, preset: dict | None = None) -> ReportSpec:
        """Guess the report's questions from types and wording (the fallback when the
        questionnaire has no ``report:`` block). Fields in ``skip`` are left alone; an
        outcome or loyalty list in ``preset`` (declared by an override) is used instead of
        a guess, so the key metrics follow it.

        * outcome: the only ``rating`` question, else the only one whose id, label or text
          says both "overall" and "satisfied"; otherwise several candidates are refused
          (:class:`ReportError` listing them), and none leaves the outcome out;
        * loyalty: NPS questions, and ratings saying "repurchase", "buy again" or
          "rebuy"; a yes/no "complaint" question adds a complaint-rate metric;
        * attributes: items of every grid on a satisfaction scale; battery: those items,
          else the items of the declared constructs; drivers: ``roles.drivers``, else the
          first satisfaction grid (at most 20);
        * pain points, channels, sources by wording; open text: open questions without
          ``pii``; profile: single questions in a profile / demographic block, derived
          bands and the weighting variables; CRM value tier / lifecycle by column name;
          banner: every single, multi, rating, NPS and grid question.

        Every choice is recorded in :attr:`notes`.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> from surveykit.reporting.spec import ReportSpec
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> spec = ReportSpec.infer(q)
        >>> spec.outcome, spec.loyalty
        ('overall_sat', ['nps', 'repurchase'])
        >>> print(spec.notes[0])
        outcome = overall_sat (Overall satisfaction), inferred: the only rating question \
that says both 'overall' and 'satisfied'; declare report.outcome to change it
        """
        skip = skip or set()
        cols = set(columns) if columns is not None else None

        def has(c):
            return cols is None or c in cols

        def words(qq) -> str:
            return f"{qq.id} {qq.label or ''} {qq.text}".lower()

        def said(name: str, value, why: str) -> None:
            spec.notes.append(f"{name} = {value}, inferred: {why}; declare report.{name} to "
                              "change it")

        questions = [qq for qq in q.questions if not qq.pii]
        spec = cls(source="inferred", outcome=(preset or {}).get("outcome"),
                   loyalty=list((preset or {}).get("loyalty", [])))
        if "outcome" not in skip:
            spec.outcome = _infer_outcome(q, [qq for qq in questions if qq.type == "rating"
                                              and has(qq.id)], said)
        if "loyalty" not in skip:
            nps = [qq.id for qq in questions if qq.type == "nps" and has(qq.id)]
            rep = [qq.id for qq in questions if qq.type in ("rating", "single") and has(qq.id)
                   and re.search(r"repurchase|buy again|rebuy|purchase again", words(qq))]
            spec.loyalty = [*nps, *(r for r in rep if r != spec.outcome)]
            if spec.loyalty:
                said("loyalty", ", ".join(spec.loyalty), "NPS questions and ratings that say "
                     "repurchase / buy again")
        if "metrics" not in skip:
            spec.metrics = default_metrics(q, spec.outcome, spec.loyalty)
            comp = [qq for qq in questions if qq.type == "single" and has(qq.id)
                    and re.search(r"complain", f"{qq.id} {qq.label or ''}".lower())
                    and _yes_code(q, qq.id) is not None]
            if comp:
                spec.metrics.append(_metric(q, comp[0].id, "proportion", "Complaint rate",
                                            [_yes_code(q, comp[0].id)], "lower"))
                said("metrics", f"complaint rate from {comp[0].id}",
                     "a yes/no question that says 'complain'")

        grids = []
        for qq in questions:
            if qq.type != "grid":
                continue
            scale = q.scales.get(qq.scale)
            scale_words = f"{qq.scale} {scale.label if scale else ''} {words(qq)}".lower()
            if "satisf" in scale_words or qq.scale.startswith("sat"):
                items = [it.id for it in qq.items if has(it.id)]
                if items:
                    grids.append((qq.id, items))
        if "attributes" not in skip:
            spec.attributes = [i for _, g in grids for i in g]
            if grids:
                said("attributes", " + ".join(g for g, _ in grids),
                     "grids on a satisfaction scale")
        if "battery" not in skip:
            if grids:
                spec.battery = list(grids[0][1])
            else:
                spec.battery = list(dict.fromkeys(i for c in q.constructs for i in c.items
                                                  if has(i)))
                if spec.battery:
                    said("battery", "the items of the declared constructs",
                         "no grid on a satisfaction scale")
        if "constructs" not in skip:
            spec.constructs = [c.id for c in q.constructs]
        if "drivers" not in skip:
            declared = [d for d in q.roles.drivers if has(d)]
            spec.drivers = declared or (grids[0][1][:MAX_DRIVERS] if grids else [])
            if spec.drivers and not declared:
                said("drivers", f"the items of grid {grids[0][0]}",
                     "the first satisfaction grid (roles.drivers is empty)")
        if "pain_points" not in skip:
            spec.pain_points = [qq.id for qq in questions if qq.type == "multi" and re.search(
                r"pain|problem|frustrat|complaint.?reason|reason", words(qq))]
        if "open_text" not in skip:
            spec.open_text = [qq.id for qq in questions if qq.type == "open" and has(qq.id)]
        if "channels" not in skip:
            spec.channels = [qq.id for qq in questions if qq.type in ("single", "multi")
                             and re.search(r"channel|where did you buy|bought", words(qq))]
        if "sources" not in skip:
            spec.sources = [qq.id for qq in questions if qq.type in ("single", "multi")
                            and re.search(r"source|information", words(qq))
                            and qq.id not in spec.channels]
        for name, why in (("pain_points", "multi questions that say pain / problem / "
                                          "reason"),
                          ("open_text", "open questions without pii"),
                          ("channels", "questions that say channel / where did you buy"),
                          ("sources", "questions that say source / information")):
            if name not in skip and getattr(spec, name):
                said(name, ", ".join(getattr(spec, name)), why)
        if "profile" not in skip:
            profile = []
            for qq in questions:
                block = (qq.block or "").lower()
                if qq.type == "single" and any(b in block for b in PROFILE_BLOCKS) \
                        and has(qq.id):
                    profile.append(qq.id)
            for d in q.derived:
                if d.bands and has(d.id):
                    profile.append(d.id)
            profile += [w for w in q.roles.weighting if has(w)]
            spec.profile = list(dict.fromkeys(profile))
            if spec.profile:
                said("profile", ", ".join(spec.profile), "single questions in profile / "
                     "demographic blocks, derived bands and the weighting variables")
        if "banner" not in skip:
            spec.banner = default_banner(q)
        if cols is not None:
            low = {c.lower(): c for c in cols}
            for name, wordlist in (("value_tier", CRM_VALUE_WORDS),
                                   ("lifecycle", CRM_LIFECYCLE_WORDS)):
                if name in skip:
                    continue
                hit = next((low[w] for w in wordlist if w in low), None)
                setattr(spec, name, hit)
                if hit:
                    said(name, hit, "a CRM column of that name")
        return spec


def default_banner(q) -> list[str]:
    """Every single, multi, rating, NPS and grid question without ``pii`` (and the
    categorical derived variables: bands, rules, quantiles, cuts): what the tab book
    tabulates when nothing is declared."""
    out = [qq.id for qq in q.questions if qq.type in BANNER_TYPES and not qq.pii]
    out += [d.id for d in q.derived if d.categories]
    return out


def _words(qq) -> str:
    return f"{qq.id} {qq.label or ''} {qq.text}".lower()


def _infer_outcome(q, ratings, said) -> str | None:
    if not ratings:
        return None
    if len(ratings) == 1:
        said("outcome", f"{ratings[0].id} ({ratings[0].short_label})",
             "the only rating question")
        return ratings[0].id
    both = [r for r in ratings if re.search(r"overall", _words(r)) and
            re.search(r"satisf|_sat\b|\bsat\b", _words(r))]
    if len(both) == 1:
        said("outcome", f"{both[0].id} ({both[0].short_label})",
             "the only rating question that says both 'overall' and 'satisfied'")
        return both[0].id
    listed = ", ".join(f"{r.id} ({r.short_label})" for r in ratings)
    raise ReportError(
        f"cannot tell which question is the outcome (overall satisfaction) of questionnaire "
        f"{q.id!r}: {len(ratings)} rating questions could be: {listed}. Declare it in the "
        "questionnaire (report: {outcome: <id>}) or pass --spec spec.yaml with 'outcome: <id>'")
