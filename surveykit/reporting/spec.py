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

The key metrics (:class:`Metric`) are built in :mod:`surveykit.reporting._spec_metrics` and
the inference (:meth:`ReportSpec.infer`, mixed in) in :mod:`surveykit.reporting._spec_infer`;
:class:`Metric` is importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from ..errors import ReportError
from ._spec_infer import MAX_DRIVERS, _Inference, default_banner
from ._spec_metrics import Metric, _metric, _unique_keys, default_metrics

__all__ = ["ReportSpec", "Metric", "SPEC_FIELDS", "load_spec", "validate_overrides"]


def _fields() -> tuple[str, ...]:
    from ..questionnaire.models import ReportBlock

    return tuple(ReportBlock.model_fields)


SPEC_FIELDS = _fields()


@dataclass
class ReportSpec(_Inference):
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

