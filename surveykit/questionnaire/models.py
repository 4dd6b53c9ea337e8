"""Pydantic models of a questionnaire: one YAML file that drives everything downstream.

The models hold the declarations; :mod:`surveykit.questionnaire.checks` adds the checks that
need the whole document (references, routing order, unique codes),
:mod:`surveykit.questionnaire.loader` locates every problem at its file and line, and
:class:`surveykit.questionnaire.core.Questionnaire` answers what downstream code asks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _whole_code(v):
    """Codes are whole numbers or text: ``1.0`` becomes 1; ``1.5`` and true/false are refused."""
    if isinstance(v, bool):
        raise ValueError("a code must be a whole number or text, not true/false "
                         "(quote it if you mean the word)")
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise ValueError(f"code {v} must be a whole number or text")
    return v


Code = Annotated[int | str, BeforeValidator(_whole_code)]
MissingKind = Literal["dont_know", "refused", "not_applicable"]


class _Model(BaseModel):
    # coerce_numbers_to_str: YAML reads `label: 10` or `id: 2024` as numbers; text fields
    # take them as the text the author wrote.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              coerce_numbers_to_str=True)


class Option(_Model):
    """An answer option: a code and its label.

    ``exclusive`` marks a multi-response option that cannot be combined with others
    ("none of these"); ``other`` marks an other-specify option whose text goes to the
    column ``{question}_{code}_text``.
    """

    code: Code
    label: str
    exclusive: bool = False
    other: bool = False


class MissingCode(_Model):
    """A declared missing code: don't know, refused or not applicable."""

    code: Code
    label: str
    kind: MissingKind = "dont_know"


class Scale(_Model):
    """Ordered answer codes shared by questions and grid items.

    ``direction: ascending`` means a higher code is a more favourable answer (used for top
    box and reverse keying). ``top_box`` is how many of the highest codes count as the top
    box (default: 2, the top-2-box, on scales of four or more codes; else 1).
    """

    label: str = ""
    codes: list[Option] = Field(min_length=2)
    missing: list[MissingCode] = []
    direction: Literal["ascending", "descending"] = "ascending"
    top_box: int | None = Field(default=None, ge=1)

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_from_mapping(cls, v):
        return _options_from_mapping(v)

    @field_validator("missing", mode="before")
    @classmethod
    def _missing_from_mapping(cls, v):
        return _options_from_mapping(v)

    @property
    def valid_codes(self) -> list[Code]:
        return [o.code for o in self.codes]

    @property
    def low(self) -> float:
        return float(min(self.valid_codes))

    @property
    def high(self) -> float:
        return float(max(self.valid_codes))

    @property
    def favourable_codes(self) -> list[Code]:
        """The top-box codes (the ``top_box`` most favourable valid codes)."""
        ordered = sorted(self.valid_codes, reverse=self.direction == "ascending")
        n = self.top_box or (2 if len(ordered) >= 4 else 1)
        return ordered[:n]


def _options_from_mapping(v):
    """Allow ``{1: "Label", 2: "Label"}`` as a short form of a list of options."""
    if isinstance(v, dict):
        out = []
        for code, spec in v.items():
            if isinstance(spec, dict):
                out.append({"code": code, **spec})
            else:
                out.append({"code": code, "label": spec})
        return out
    return v


NPS_SCALE = Scale(
    label="0-10 likelihood to recommend",
    codes=[Option(code=0, label="0 - Not at all likely"),
           *(Option(code=i, label=str(i)) for i in range(1, 10)),
           Option(code=10, label="10 - Extremely likely")],
)


class GridItem(_Model):
    """One row of a grid: its own column id, its text and whether it is reverse-keyed."""

    id: str
    text: str
    reverse: bool = False


class _QuestionBase(_Model):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    text: str
    label: str | None = Field(default=None, description="Short label for tables; defaults to text")
    block: str | None = Field(default=None, description="Section the question belongs to")
    ask_if: str | None = Field(default=None, description="Routing condition (expression language)")
    required: bool = Field(default=True, description="Must be answered when asked")
    pii: bool = Field(default=False, description="Personal data: never shown in a report")
    instruction: str | None = None

    @property
    def short_label(self) -> str:
        return self.label or self.text


class SingleQuestion(_QuestionBase):
    type: Literal["single"]
    options: list[Option] | None = None
    scale: str | None = None
    missing: list[MissingCode] = []

    _opts = field_validator("options", mode="before")(lambda cls, v: _options_from_mapping(v))
    _miss = field_validator("missing", mode="before")(lambda cls, v: _options_from_mapping(v))


class MultiQuestion(_QuestionBase):
    type: Literal["multi"]
    options: list[Option] = Field(min_length=1)
    max_choices: int | None = Field(default=None, ge=1)

    _opts = field_validator("options", mode="before")(lambda cls, v: _options_from_mapping(v))


class GridQuestion(_QuestionBase):
    type: Literal["grid"]
    scale: str
    items: list[GridItem] = Field(min_length=1)


class RatingQuestion(_QuestionBase):
    type: Literal["rating"]
    scale: str


class NpsQuestion(_QuestionBase):
    type: Literal["nps"]
    missing: list[MissingCode] = []

    _miss = field_validator("missing", mode="before")(lambda cls, v: _options_from_mapping(v))


class NumericQuestion(_QuestionBase):
    type: Literal["numeric"]
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    integer: bool = False


class OpenQuestion(_QuestionBase):
    type: Literal["open"]


class RankQuestion(_QuestionBase):
    type: Literal["rank"]
    options: list[Option] = Field(min_length=2)
    rank_max: int | None = Field(default=None, ge=1, description="How many to rank (default: all)")

    _opts = field_validator("options", mode="before")(lambda cls, v: _options_from_mapping(v))


Question = Annotated[
    SingleQuestion | MultiQuestion | GridQuestion | RatingQuestion | NpsQuestion
    | NumericQuestion | OpenQuestion | RankQuestion,
    Field(discriminator="type"),
]
QUESTION_TYPES = ("single", "multi", "grid", "rating", "nps", "numeric", "open", "rank")


class Band(_Model):
    """A band of a numeric variable: ``min <= x <= max`` (either end may be open).

    Bands are tried in order and the first that holds wins, so adjacent bands may share a
    boundary (``max: 24`` then ``min: 24``) without leaving a gap for 24.5.
    """

    code: Code
    label: str
    min: float | None = None
    max: float | None = None


class Rule(_Model):
    """A segment rule: respondents for whom ``when`` holds get ``code`` (first match wins)."""

    code: Code
    label: str
    when: str


DERIVED_KINDS = ("bands", "rules", "compute", "construct", "quantiles", "cuts")


class Derived(_Model):
    """A derived variable, computed from the answers by ``Questionnaire.derive``.

    Exactly one of:

    - ``bands`` of ``from`` (a numeric question or an earlier derived variable): the first
      band with ``min <= x <= max`` gives the code;
    - ``rules``: segments; the first rule whose ``when`` holds gives the code;
    - ``compute``: an arithmetic expression (see :mod:`surveykit.questionnaire.expressions`)
      giving a number, e.g. ``"(overall - 1) / 9 * 100"`` or ``"mean(a, b, c, min=2)"``;
      missing inputs and division by zero give a missing value;
    - ``construct``: the score of a declared construct, the mean of its answered items with
      reverse keys applied (``low + high - x`` on the item's scale), missing when fewer than
      the construct's ``min_items`` are answered; ``scale_100: true`` rescales it to 0-100
      from the scale's lowest and highest code;
    - ``quantiles: k`` of ``from``: codes 1..k at the unweighted sample quantiles of ``from``
      in the data being derived (``quantiles: 2`` is a median split); a value equal to a
      cut point goes to the upper group, so ties can make the groups unequal;
    - ``cuts: [3.5, 5]`` of ``from``: codes 1..len(cuts)+1, ``x < 3.5`` -> 1,
      ``3.5 <= x < 5`` -> 2, ``x >= 5`` -> 3.

    ``labels`` names the codes of ``quantiles`` and ``cuts`` in order (default: words from
    the cut points).

    Examples
    --------
    >>> d = Derived.model_validate({"id": "v3", "label": "Value", "from": "v", "cuts": [3.5, 5]})
    >>> d.kind, d.categories
    ('cuts', {1: 'below 3.5', 2: '3.5 to under 5', 3: '5 or more'})
    >>> Derived.model_validate({"id": "half", "label": "Half", "from": "v",
    ...                         "quantiles": 2}).categories
    {1: 'below the median', 2: 'the median or above'}
    >>> Derived.model_validate({"id": "pv", "label": "Value score", "construct": "value",
    ...                         "scale_100": True}).categories
    {}
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    from_: str | None = Field(default=None, alias="from", description="The numeric variable "
                              "that bands, quantiles and cuts divide")
    bands: list[Band] | None = None
    rules: list[Rule] | None = None
    compute: str | None = Field(default=None, description="Arithmetic expression giving a "
                                "number, e.g. '(overall - 1) / 9 * 100' or "
                                "'mean(a, b, c, min=2)'")
    # `construct` would shadow BaseModel.construct; the YAML key is `construct`
    construct_: str | None = Field(default=None, alias="construct", description="Construct id: "
                                   "the mean of its items with reverse keys applied, "
                                   "respecting min_items")
    scale_100: bool = Field(default=False, description="With construct: rescale the score to "
                            "0-100 from the scale's lowest and highest code")
    quantiles: int | None = Field(default=None, ge=2, le=100, description="Codes 1..k at the "
                                  "unweighted sample quantiles of 'from' (2: median split)")
    cuts: list[float] | None = Field(default=None, min_length=1, description="Cut points of "
                                     "'from', increasing: x < first -> 1, ..., x >= last -> k")
    labels: list[str] | None = Field(default=None, description="Labels of the codes 1..k of "
                                     "quantiles or cuts, in order")

    @property
    def kind(self) -> str | None:
        """The first of ``bands, rules, compute, construct, quantiles, cuts`` declared."""
        return next((k for k in DERIVED_KINDS
                     if getattr(self, "construct_" if k == "construct" else k) is not None),
                    None)

    @property
    def categories(self) -> dict:
        """``{code: label}`` of a categorical derived variable; ``{}`` for a number."""
        if self.bands is not None or self.rules is not None:
            return {i.code: i.label for i in (self.bands or self.rules)}
        if self.quantiles is not None:
            k = self.quantiles
            if k == 2:
                words = ["below the median", "the median or above"]
            else:
                words = [f"group {i} of {k}" + (" (lowest)" if i == 1 else " (highest)"
                                                 if i == k else "") for i in range(1, k + 1)]
        elif self.cuts is not None:
            c = [f"{x:g}" for x in self.cuts]
            words = ([f"below {c[0]}"]
                     + [f"{a} to under {b}" for a, b in zip(c, c[1:], strict=False)]
                     + [f"{c[-1]} or more"])
        else:
            return {}
        labels = self.labels if self.labels and len(self.labels) == len(words) else words
        return dict(enumerate(labels, start=1))


class Construct(_Model):
    """Items measuring one factor. ``reverse`` lists reverse-keyed items beyond those
    already marked ``reverse: true`` on their grid; ``min_items`` is the fewest answered
    items needed to score a respondent (default: half the items, rounded up); ``mode`` is
    the block's measurement mode in a path model (``paths:``): ``A`` reflective, ``B``
    formative."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    items: list[str] = Field(min_length=1)
    reverse: list[str] = []
    min_items: int | None = Field(default=None, ge=1)
    mode: Literal["A", "B"] = Field(default="A", description="Measurement mode in the path "
                                    "model (paths:): A reflective (the items reflect the "
                                    "construct; the usual choice), B formative (the items "
                                    "form it)")

    @property
    def required_items(self) -> int:
        """``min_items``, or half the items rounded up when it is not given."""
        return self.min_items or -(-len(self.items) // 2)


LonelyPsu = Literal["fail", "remove", "certainty", "adjust", "average"]
ReplicateType = Literal["JK1", "JKn", "bootstrap", "BRR", "Fay", "ACS",
                        "successive-difference", "JK2", "other"]


class ReplicateWeights(_Model):
    """Supplied replicate-weight columns and their variance formula, as R ``svrepdesign``
    (:class:`surveykit.design.ReplicateDesign`): ``columns`` (or a regular expression
    ``pattern`` matching them), ``type`` (fixes ``scale`` / ``rscales`` as R does),
    ``combined_weights`` (true: the columns are the final replicate weights; false:
    multipliers of the weights), Fay's ``rho``, ``mse`` (centre at the full-sample
    estimate)."""

    columns: list[str] | None = Field(default=None, min_length=2,
                                      description="Replicate-weight columns")
    pattern: str | None = Field(default=None, description="Regular expression matching the "
                                "replicate-weight columns (instead of columns)")
    type: ReplicateType = Field(description="Replication method (R svrepdesign type)")
    scale: float | None = Field(default=None, gt=0, description="Overall variance multiplier")
    rscales: list[float] | None = Field(default=None, description="Per-replicate multipliers")
    combined_weights: bool = True
    rho: float | None = Field(default=None, gt=0, lt=1, description="Fay's coefficient")
    mse: bool = False


class SampleDesign(_Model):
    """The sample design, as R ``svydesign`` (:class:`surveykit.design.SurveyDesign`):
    ``clusters`` (one column per stage, e.g. ``[company]`` or ``[dealer, company]``),
    ``strata`` (the first stage's, or one per stage), ``fpc`` (per stage: a column or a
    number, population sizes or sampling fractions), ``nest`` (cluster ids restart within
    strata) and ``lonely_psu`` (a stratum with one sampled unit). Or ``replicate_weights``
    (supplied with the data). The weights are the survey's (raked, or ``base_weight``)."""

    clusters: str | list[str] = Field(default=[], description="Cluster id column(s), one "
                                      "per stage of sampling")
    strata: str | list[str] = Field(default=[], description="Stratum column(s)")
    fpc: float | str | list[float | str] = Field(default=[], description="Finite-population "
                                                 "correction per stage: a column or a number "
                                                 "(population size, or sampling fraction)")
    nest: bool = False
    lonely_psu: LonelyPsu = "fail"
    replicate_weights: ReplicateWeights | None = None

    @staticmethod
    def _list(v) -> list:
        return list(v) if isinstance(v, list) else [v]

    @property
    def cluster_columns(self) -> list[str]:
        return self._list(self.clusters) if self.clusters else []

    @property
    def strata_columns(self) -> list[str]:
        return self._list(self.strata) if self.strata else []

    @property
    def fpc_values(self) -> list:
        return self._list(self.fpc) if self.fpc != [] else []


class Roles(_Model):
    """Columns with a job: respondent id, CRM key, duration, design weight, weighting and
    segment variables; ``wave``: the survey wave of each row (:mod:`surveykit.waves`);
    ``pii``: personal-data columns that are not questions (e.g. a CRM extract's ``phone``),
    which never leave a CRM join and never reach a report; ``drivers``: the attributes the
    key-driver analysis weighs (default: the first satisfaction grid); ``design``: the
    sample design (:class:`SampleDesign`)."""

    respondent_id: str = Field(default="resp_id", min_length=1,
                               pattern=r"^\S(.*\S)?$",
                               description="Column holding the respondent id (non-empty)")
    customer_id: str | None = Field(default=None, description="Pseudonymous CRM key")
    duration: str | None = Field(default=None, description="Interview duration in seconds")
    base_weight: str | None = Field(default=None, description="Design weight column")
    wave: str | None = Field(default=None, description="Column naming the survey wave of each "
                             "row (e.g. 2026Q1), for tracking across waves (surveykit.waves)")
    weighting: list[str] = []
    segments: list[str] = []
    pii: list[str] = Field(default=[], description="Personal-data columns outside the "
                           "questions (e.g. in a CRM extract); never shown in a report")
    drivers: list[str] = Field(default=[], description="Attributes (grid items or rating "
                               "questions) whose importance for satisfaction and loyalty the "
                               "key-driver analysis estimates")
    design: SampleDesign | None = Field(default=None, description="The sample design: "
                                        "clusters, strata, fpc or replicate weights; every "
                                        "SE and test then follows it")


MetricStat = Literal["mean", "top_box", "bottom_box", "proportion", "nps", "index"]


class ReportMetric(_Model):
    """One key metric of the findings report.

    ``stat``: ``mean``; ``top_box`` / ``bottom_box`` (share giving the scale's most / least
    favourable codes); ``proportion`` (share giving one of ``codes``); ``nps`` (promoters
    minus detractors); ``index`` (the mean rescaled to 0-100 from the scale's lowest and
    highest code). ``better`` says which direction is good (a complaint rate: ``lower``).
    """

    column: str
    stat: MetricStat = "mean"
    label: str | None = None
    codes: list[Code] | None = None
    better: Literal["higher", "lower"] = "higher"


class ReportBlock(_Model):
    """What each section of the findings report uses (the ``report:`` block).

    Declared here, nothing is guessed: a field left out means the section it feeds is left
    out of the report (with one line in the method note saying why). ``metrics`` defaults to
    the outcome's mean and each loyalty measure; ``drivers`` to ``roles.drivers``, else the
    attributes; ``battery`` (the overview's factor analysis) to the attributes;
    ``constructs`` to every declared construct; ``profile`` to the weighting variables;
    ``banner`` (the tab book) to every single, multi, rating and grid question.
    ``attributes``, ``battery``, ``drivers`` and ``banner`` take grid question ids (meaning
    all their items) as well as item, rating and numeric ids.
    """

    outcome: str | None = Field(default=None, description="The overall outcome the key-driver "
                                "analysis explains (e.g. overall satisfaction)")
    loyalty: list[str] = Field(default=[], description="Loyalty measures (NPS, repurchase, "
                               "recommendation)")
    metrics: list[ReportMetric] | None = Field(default=None, description="Key metrics, in "
                                               "order (default: the outcome and loyalty)")
    attributes: list[str] = []
    battery: list[str] | None = None
    constructs: list[str] | None = None
    drivers: list[str] | None = None
    pain_points: list[str] = []
    open_text: list[str] = []
    channels: list[str] = []
    sources: list[str] = []
    profile: list[str] | None = None
    value_tier: str | None = Field(default=None, description="CRM value-tier column")
    lifecycle: str | None = Field(default=None, description="CRM lifecycle-stage column")
    banner: list[str] | None = None
    ipma_target: str | None = Field(
        default=None, description="The path model's construct the reports headline and map "
        "(importance-performance map of its drivers), e.g. satisfaction; default: the "
        "construct holding the outcome, else the endogenous construct with most "
        "predecessors")


class QuestionnaireModel(_Model):
    """The document as written (see :class:`Questionnaire` for the loaded object)."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$",
                    description="Questionnaire id: letters, digits, _ . -")
    title: str
    version: str = "1"
    language: str = "en"
    description: str | None = None
    scales: dict[str, Scale] = {}
    questions: list[Question] = Field(min_length=1)
    derived: list[Derived] = []
    constructs: list[Construct] = []
    roles: Roles = Roles()
    paths: dict[str, list[str]] = Field(
        default={}, description="The path model's inner model (PLS, e.g. the ECSI / ACSI "
        "satisfaction index): each endogenous construct with the constructs that explain "
        "it, e.g. {satisfaction: [image, expectations, quality, value], loyalty: "
        "[satisfaction]}; the constructs' items are the blocks. The paths must not form a "
        "cycle; exogenous constructs need no entry. Without it there is no path model")
    path_scheme: Literal["path", "centroid", "factorial"] = Field(
        default="path", description="Inner weighting scheme of the path model (PLS): path "
        "(the usual choice), centroid or factorial")
    report: ReportBlock | None = Field(default=None, description="What each report section "
                                       "uses; without it the report infers (and says so)")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v):
        return str(v) if isinstance(v, int | float) else v


def __getattr__(name: str):
    # Questionnaire and Variable moved to .core; keep `from .models import Questionnaire` working
    if name in ("Questionnaire", "Variable"):
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
