"""Which questions feed which report section: declared in the questionnaire, else inferred.

A questionnaire's ``report:`` block (:class:`surveykit.questionnaire.models.ReportBlock`)
names what each section of the findings report uses: the outcome, loyalty measures, key
metrics, attribute batteries, constructs, drivers, pain points, open text, channels and
sources, profile variables, CRM value and lifecycle columns, and the banner (tab book)
questions. :meth:`ReportSpec.resolve` turns it into data columns. Overrides (a partial
``report:`` block: ``surveykit report --spec spec.yaml``, the notebooks' ``spec``
parameter) replace single fields.

Inference is only the fallback for a questionnaire that declares nothing. Every inferred
choice is recorded in :attr:`ReportSpec.notes` (printed by the command, written in each
report's method note), and where several questions could be the outcome, resolution is
refused with the candidates listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..errors import ReportError

__all__ = ["ReportSpec", "Metric", "SPEC_FIELDS", "load_spec", "validate_overrides"]

PROFILE_BLOCKS = ("profile", "demograph", "individual", "organisation", "organization",
                  "firmograph", "about")
CRM_VALUE_WORDS = ("value_tier", "tier", "rfm_segment", "value_segment")
CRM_LIFECYCLE_WORDS = ("lifecycle", "life_cycle", "stage")
MAX_DRIVERS = 20
#: question types the tab book tabulates when no banner questions are declared
BANNER_TYPES = ("single", "multi", "rating", "grid", "nps")


def _fields() -> tuple[str, ...]:
    from ..questionnaire.models import ReportBlock

    return tuple(ReportBlock.model_fields)


SPEC_FIELDS = _fields()


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


@dataclass
class ReportSpec:
    """The data columns behind each section of the findings report (see :meth:`resolve`).

    ``attributes``, ``battery`` and ``drivers`` are columns (grid ids expanded to their
    items); ``constructs`` are construct ids; ``pain_points``, ``open_text``, ``channels``,
    ``sources``, ``profile`` and ``banner`` are question (or derived variable) ids.
    ``source`` says whether the questionnaire declared a ``report:`` block
    (``"declared"``) or everything was inferred (``"inferred"``); ``notes`` lists every
    inferred choice in words.
    """

    outcome: str | None = None
    loyalty: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    battery: list[str] = field(default_factory=list)
    constructs: list[str] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    pain_points: list[str] = field(default_factory=list)
    open_text: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    value_tier: str | None = None
    lifecycle: str | None = None
    banner: list[str] = field(default_factory=list)
    source: str = "declared"
    notes: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------------------------
    @classmethod
    def resolve(cls, q, columns=None, *, segment_by: str | None = None,
                overrides: dict | None = None) -> ReportSpec:
        """The report's columns for questionnaire ``q`` and data ``columns``.

        Fields come from the questionnaire's ``report:`` block, then ``overrides`` (a
        partial block, validated like the questionnaire's); without a block every field not
        overridden is inferred (:meth:`infer`) and noted. A segment's defining variables
        (the segment variable and what it is derived from) are left out of the profile and
        of the drivers: "Students are 100% aged 18-24" is their definition, not a finding.

        Raises
        ------
        ReportError
            An override that is not a field of the ``report:`` block or has the wrong type;
            an outcome that must be guessed among several candidates.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> spec = ReportSpec.resolve(q, segment_by="segment")
        >>> spec.outcome, spec.source, [m.label for m in spec.metrics]
        ('overall_sat', 'declared', ['Overall satisfaction', 'NPS', 'Repurchase intent', \
'Complaint rate'])
        >>> spec.drivers[:3]
        ['sat_cpu', 'sat_screen', 'sat_battery']
        >>> ReportSpec.resolve(q, overrides={"outcome": "nps"}).outcome
        'nps'
        """
        from ..questionnaire.models import ReportBlock

        over = validate_overrides(overrides)
        block = q.model.report
        given = set(over)
        if block is not None:
            raw = {**block.model_dump(exclude_unset=True), **over}
            spec, source = cls(), "declared"
        else:
            spec = cls.infer(q, columns, segment_by=segment_by, skip=given,
                             preset={k: over[k] for k in ("outcome", "loyalty") if k in over})
            source = "inferred"
            raw = dict(over)
        decl = ReportBlock.model_validate(raw)
        cols = set(columns) if columns is not None else None
        spec._apply_declared(q, decl, set(raw), cols)
        spec.source = source
        # a segment's definition is neither its profile nor a driver of its satisfaction
        defining = {segment_by, *q.defining_variables(segment_by)} if segment_by else set()
        spec.profile = [p for p in spec.profile if p not in defining]
        spec.drivers = [d for d in spec.drivers if d not in defining and d != spec.outcome]
        spec.banner = _expander(q)(spec.banner)  # a grid is tabulated item by item
        if cols is not None:
            spec._keep_present(q, cols)
        return spec

    def _apply_declared(self, q, decl, given: set, cols) -> None:
        """Set the fields named in ``given`` from the validated block ``decl``, and the
        defaults that follow from other declarations."""
        expand = _expander(q)
        for name in ("outcome", "value_tier", "lifecycle"):
            if name in given:
                setattr(self, name, getattr(decl, name))
        for name in ("loyalty", "pain_points", "open_text", "channels", "sources"):
            if name in given:
                setattr(self, name, list(getattr(decl, name)))
        if "attributes" in given:
            self.attributes = expand(decl.attributes)
        if "battery" in given:
            self.battery = expand(decl.battery or [])
        elif "attributes" in given:
            self.battery = list(self.attributes)
        if "constructs" in given:
            self.constructs = list(decl.constructs or [])
        elif self.source == "declared":
            self.constructs = [c.id for c in q.constructs]
        if "drivers" in given:
            self.drivers = expand(decl.drivers or [])
        elif "attributes" in given or self.source == "declared":
            self.drivers = list(q.roles.drivers) or self.attributes[:MAX_DRIVERS]
        if "profile" in given:
            self.profile = list(decl.profile or [])
        elif self.source == "declared":
            self.profile = list(q.roles.weighting)
        if "banner" in given:
            self.banner = list(decl.banner or [])
        elif self.source == "declared":
            self.banner = default_banner(q)
        if "metrics" in given:
            self.metrics = [_metric(q, m.column, m.stat, m.label, m.codes, m.better)
                            for m in decl.metrics or []]
        elif self.source == "declared":
            self.metrics = default_metrics(q, self.outcome, self.loyalty)
        self.metrics = _unique_keys(self.metrics)

    def _keep_present(self, q, cols: set) -> None:
        def present(name: str) -> bool:
            return name in cols or any(c in cols for c in q.columns_of(name))

        for name in ("attributes", "battery", "drivers"):
            setattr(self, name, [c for c in getattr(self, name) if c in cols])
        for name in ("pain_points", "open_text", "channels", "sources", "profile", "banner",
                     "loyalty"):
            setattr(self, name, [c for c in getattr(self, name) if present(c)])
        if self.outcome is not None and self.outcome not in cols:
            self.outcome = None
        self.metrics = [m for m in self.metrics if m.column in cols]
        for name in ("value_tier", "lifecycle"):
            if getattr(self, name) is not None and getattr(self, name) not in cols:
                setattr(self, name, None)

    # ---------------------------------------------------------------------------------
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

    # ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The resolved fields as a partial ``report:`` block (JSON-able)."""
        out = {name: getattr(self, name) for name in SPEC_FIELDS if name != "metrics"}
        out["metrics"] = [{"column": m.column, "stat": m.declared, "label": m.label,
                           **({"codes": list(m.codes)} if m.declared == "proportion" else {}),
                           "better": "higher" if m.higher_is_better else "lower"}
                          for m in self.metrics]
        return out


# ------------------------------------------------------------------------------------------
def load_spec(path) -> dict:
    """Read a spec file: a YAML mapping with the fields of the questionnaire's ``report:``
    block (or that mapping under a ``report:`` key), validated like it.

    Raises
    ------
    ReportError
        The file is missing, is not a mapping, or has unknown fields or wrong types.
    """
    import json
    from pathlib import Path

    from ..questionnaire.loader import YAMLReadError, parse_yaml, read_yaml_text

    p = Path(path)
    if not p.is_file():
        raise ReportError(f"spec file {p} does not exist")
    try:  # the one bounded YAML reader (size, nesting and alias expansion are capped)
        data = json.loads(json.dumps(parse_yaml(read_yaml_text(p))))
    except YAMLReadError as exc:
        where = f"{p}:line {exc.line}" if exc.line is not None else str(p)
        raise ReportError(f"{where}: {'not valid YAML: ' if exc.syntax else ''}"
                          f"{exc.message}") from None
    if isinstance(data, dict) and set(data) == {"report"}:
        data = data["report"]
    if not isinstance(data, dict):
        raise ReportError(f"{p}: a spec file is a mapping of report fields "
                          f"({', '.join(SPEC_FIELDS)}), like the questionnaire's report: block")
    validate_overrides(data, where=str(p))
    return data


def validate_overrides(overrides, *, where: str = "spec") -> dict:
    """``overrides`` checked against the ``report:`` block schema."""
    from ..questionnaire.models import ReportBlock

    if not overrides:
        return {}
    if not isinstance(overrides, dict):
        raise ReportError(f"{where}: report spec overrides must be a mapping of field -> "
                          f"value, not {type(overrides).__name__}")
    unknown = [k for k in overrides if k not in SPEC_FIELDS]
    if unknown:
        raise ReportError(f"{where}: unknown report spec field(s) "
                          f"{', '.join(map(repr, unknown))}; known: {', '.join(SPEC_FIELDS)}")
    try:
        ReportBlock.model_validate(overrides)
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ReportError(f"{where}: {bad}") from None
    return dict(overrides)


def _expander(q):
    """Grid ids -> their item columns; other names unchanged; order kept, no repeats."""
    def expand(names) -> list[str]:
        out = []
        for name in names or []:
            try:
                qq = q.question(name)
            except KeyError:
                qq = None
            if qq is not None and qq.type == "grid":
                out.extend(it.id for it in qq.items)
            else:
                out.append(name)
        return list(dict.fromkeys(out))
    return expand


def default_banner(q) -> list[str]:
    """Every single, multi, rating, NPS and grid question without ``pii`` (and the
    categorical derived variables: bands, rules, quantiles, cuts): what the tab book
    tabulates when nothing is declared."""
    out = [qq.id for qq in q.questions if qq.type in BANNER_TYPES and not qq.pii]
    out += [d.id for d in q.derived if d.categories]
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
