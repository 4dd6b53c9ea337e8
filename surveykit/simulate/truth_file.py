"""Read and check a declared ground truth (``simulation.yaml``) against its questionnaire.

A truth file declares how a survey's answers are generated; it lives beside the data it
makes (``data/<survey>/simulation.yaml``), not inside the questionnaire. The keys:

``questionnaire``, ``n``, ``seed``
    The questionnaire id the file is written for, respondents and random seed.
``population_draw``
    Size of the population draw the population values come from (default 200000).
``segments``
    ``variable`` (a single-choice question), ``population`` (percent per code) and
    ``selection_factor`` (per code; the sample over-represents codes above 1).
``profile``
    Other single-choice questions: ``population`` (percent per code) or ``given_segment``
    (percent per code for each segment code), optional ``selection_factor``.
``constructs``
    Latent constructs: ``items`` (standardized loadings, or ``{loading, location}``),
    ``location`` (mean of the items' latent answers, in SD units) and ``shift`` (by variable
    and code, in SD units). Reverse-keyed items (as the questionnaire marks them) load
    negatively: they answer reversed. ``correlations``: ``default`` and ``pairs``
    (``[a, b, r]``) between constructs.
``outcome``
    ``construct`` (its name), ``column`` (the outcome question), ``items`` (the outcome
    column and any other items loading on it), ``drivers`` (items or constructs),
    ``base_weight``, ``weights`` (per segment code: the larger driver weights), ``r2`` (share
    of the latent outcome explained by its drivers within a segment) and ``shift``.
``links``
    Latent variables that follow others (loyalty from the outcome, complaints, ...):
    ``from`` (standardized effects of constructs, the outcome, earlier links or items),
    ``items`` and ``shift``.
``multi``
    Multi-response questions: ``probability`` (per option code) and ``by_segment``.
``open_text``
    Open questions: ``rate`` (share who write), ``second_theme`` (share with a second
    theme), ``strength`` (how much the sources move the mix), ``languages`` (shares of
    answers per language, e.g. ``{en: 0.7, zh: 0.3}``; default English only), ``noise``
    (probability of a filler word or an off-theme sentence in an answer, as real comments
    have; default 0), ``nps`` (the NPS question whose groups ``by_nps`` uses) and
    ``themes``: ``source`` and ``when: low|high`` (the latent variable or item that makes
    the theme likelier when low or high), ``weight``, ``by_segment`` (``{segment code:
    factor}`` on the weight), ``by_nps`` (``{detractor|passive|promoter: factor}``) and
    ``phrases`` (a list, or one list per language: ``{en: [...], zh: [...]}``). The theme
    mix is thus declared per segment and NPS group; each respondent's themes and language
    are kept in the truth (``<question>_themes``, ``<question>_language``).
``missing``
    Per column: the share answering its first declared missing code (or ``{code, rate}``).
``problems``
    Rows per planted quality rule (default 0: clean data).
``waves``
    Tracking waves, first to latest: wave label -> ``{shift: {name: change}}``, the declared
    true change of that wave against the model above, in SD units of a latent variable (a
    construct, the outcome or a link: it flows on to what they drive) or of one item's
    latent answer (that column only). The first wave is usually ``{}``. Each wave is
    simulated with seed ``seed + k`` (k = 0 for the first) and its own respondent ids.

Answers come from latent normals: a column's latent answer is its loading times its
construct plus noise, shifted by its location, and cut into the scale's codes (in ascending
code order) at evenly spaced points between -2 and 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML

from ..questionnaire import Questionnaire
from ._common import SimulationError, _valid_codes

TOP_KEYS = ("questionnaire", "description", "n", "seed", "population_draw", "segments",
            "profile", "constructs", "correlations", "outcome", "links", "multi", "open_text",
            "missing", "problems", "waves")
REQUIRED = ("questionnaire", "n", "seed", "segments", "constructs", "outcome")
SPREAD = 2.0  # cut points are evenly spaced on (-SPREAD, SPREAD)
ANSWER_KINDS = ("grid_item", "rating", "nps", "single")


def cut_points(k: int) -> np.ndarray:
    """The ``k - 1`` cut points of a ``k``-code scale on the latent answer.

    A latent answer below the first cut point gives the lowest code, above the last the
    highest code.

    Examples
    --------
    >>> cut_points(5).round(2).tolist()
    [-1.2, -0.4, 0.4, 1.2]
    """
    return -SPREAD + 2 * SPREAD * np.arange(1, k) / k


# ---------------------------------------------------------------------------------------
# the checked specification
# ---------------------------------------------------------------------------------------
@dataclass
class Item:
    """One answer column driven by a latent variable."""

    column: str
    loading: float
    location: float
    sign: float
    codes: np.ndarray


@dataclass
class Latent:
    """A construct, the outcome or a link: a latent variable and the items loading on it."""

    name: str
    kind: str
    items: list[Item]
    shift: dict
    sources: dict = field(default_factory=dict)


@dataclass
class Composition:
    """A composition variable: codes, population shares and selection factors."""

    variable: str
    codes: list
    shares: dict            # segment code -> shares (profile) or {None: shares} (segment)
    selection: np.ndarray


@dataclass
class Spec:
    """The truth file, checked against the questionnaire."""

    raw: dict
    n: int
    seed: int
    population_draw: int
    segment: Composition
    profile: list[Composition]
    constructs: list[Latent]
    corr: np.ndarray
    outcome: Latent
    outcome_column: str
    drivers: list[str]
    weights: dict           # segment code -> array over drivers
    r2: float
    links: list[Latent]
    multi: dict
    open_text: dict
    missing: dict
    problems: int
    waves: dict = field(default_factory=dict)   # wave label -> {latent or column: shift}


def read_truth(truth, *, source: str | None = None) -> tuple[dict, dict, str]:
    """``(plain dict, {path: line}, source)`` of a truth file path or an in-memory dict."""
    if isinstance(truth, dict):
        return truth, {}, source or "truth"
    path = Path(truth)
    if not path.is_file():
        raise SimulationError(f"truth file {path} not found; give the path of a YAML file "
                              "such as data/employee_engagement/simulation.yaml")
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises several parser error types
        raise SimulationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SimulationError(f"{path}: a truth file is a mapping of keys such as "
                              f"{', '.join(REQUIRED)}")
    lines: dict = {}
    _collect_lines(doc, (), lines)
    return _plain(doc), lines, str(path)


def _collect_lines(node, path: tuple, lines: dict) -> None:
    if isinstance(node, dict):
        for key in node:
            try:
                lines[(*path, key)] = node.lc.key(key)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            _collect_lines(node[key], (*path, key), lines)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            try:
                lines[(*path, i)] = node.lc.item(i)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            _collect_lines(value, (*path, i), lines)


def _plain(node):
    """ruamel's round-trip nodes as plain dicts, lists, str, int, float, bool and None."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


class _Checker:
    """Builds :class:`Spec`, raising :class:`SimulationError` located by key path and line."""

    def __init__(self, q: Questionnaire, raw: dict, lines: dict, source: str):
        self.q, self.raw, self.lines, self.source = q, raw, lines, source
        self.variables = q.variables()

    def fail(self, path: tuple, message: str):
        where = ".".join(str(p) for p in path)
        line = None
        p = path
        while p and line is None:
            line = self.lines.get(p)
            p = p[:-1]
        at = self.source + (f": {where}" if where else "") + (f" (line {line})" if line else "")
        raise SimulationError(f"{at}: {message}")

    def get(self, node: dict, key, path: tuple, kind, *, default=..., check=None):
        if key not in node:
            if default is ...:
                self.fail(path, f"missing key {key!r}")
            return default
        value = node[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail((*path, key), f"expected {name}, got {value!r}")
        if check is not None and not check(value):
            self.fail((*path, key), f"value {value!r} is out of range")
        return value

    def keys(self, node, allowed, path: tuple) -> None:
        if not isinstance(node, dict):
            self.fail(path, f"expected a mapping, got {node!r}")
        extra = [k for k in node if k not in allowed]
        if extra:
            self.fail((*path, extra[0]), f"unknown key {extra[0]!r}; known: "
                      f"{', '.join(map(str, allowed))}")

    def column(self, name, path: tuple, kinds: tuple) -> object:
        var = self.variables.get(name)
        if var is None:
            self.fail(path, f"{name!r} is not a column of questionnaire {self.q.id!r}")
        if var.kind not in kinds:
            self.fail(path, f"{name!r} is a {var.kind} column; expected {' or '.join(kinds)}")
        return var

    def shares(self, node, codes: list, path: tuple) -> np.ndarray:
        self.keys(node, codes, path)
        missing = [c for c in codes if c not in node]
        if missing:
            self.fail(path, f"no share for code(s) {', '.join(map(str, missing))}; give every "
                      f"code of the question ({', '.join(map(str, codes))})")
        p = np.array([float(node[c]) for c in codes])
        if (p < 0).any() or p.sum() <= 0:
            self.fail(path, "shares must be >= 0 and not all 0")
        return p / p.sum()

    def factors(self, node, codes: list, path: tuple) -> np.ndarray:
        if node is None:
            return np.ones(len(codes))
        self.keys(node, codes, path)
        f = np.array([float(node.get(c, 1.0)) for c in codes])
        if (f <= 0).any():
            self.fail(path, "selection factors must be > 0")
        return f

    # -- parts ---------------------------------------------------------------------------
    def composition(self, node, path: tuple, seg: Composition | None) -> Composition:
        allowed = ("variable", "population", "selection_factor") if seg is None else (
            "population", "given_segment", "selection_factor")
        self.keys(node, allowed, path)
        name = self.get(node, "variable", path, str) if seg is None else path[-1]
        self.column(name, (*path, "variable") if seg is None else path, ("single",))
        codes = sorted(_valid_codes(self.q, name))
        if seg is None or "given_segment" not in node:
            base = self.shares(self.get(node, "population", path, dict), codes,
                               (*path, "population"))
            shares = {None: base} if seg is None else {s: base for s in seg.codes}
        else:
            given = self.get(node, "given_segment", path, dict)
            self.keys(given, seg.codes, (*path, "given_segment"))
            shares = {s: self.shares(given.get(s, {}), codes, (*path, "given_segment", s))
                      for s in seg.codes}
        sel = self.factors(node.get("selection_factor"), codes, (*path, "selection_factor"))
        return Composition(name, codes, shares, sel)

    def shift(self, node, path: tuple, known: dict) -> dict:
        if node is None:
            return {}
        self.keys(node, list(known), path)
        out = {}
        for var, by_code in node.items():
            self.keys(by_code, known[var], (*path, var))
            out[var] = {c: float(d) for c, d in by_code.items()}
        return out

    def items(self, node, path: tuple, location: float, used: dict, owner: str) -> list[Item]:
        if not isinstance(node, dict) or not node:
            self.fail(path, "items: a mapping of column -> loading (or {loading, location})")
        out = []
        for col, spec in node.items():
            ipath = (*path, col)
            self.column(col, ipath, ANSWER_KINDS)
            if col in used:
                self.fail(ipath, f"{col!r} already loads on {used[col]!r}; an item loads on "
                          "one latent variable")
            used[col] = owner
            if isinstance(spec, dict):
                self.keys(spec, ("loading", "location"), ipath)
                lam = self.get(spec, "loading", ipath, float)
                loc = self.get(spec, "location", ipath, float, default=location)
            else:
                lam = spec if isinstance(spec, float | int) and not isinstance(spec, bool) \
                    else self.fail(ipath, f"expected a loading, got {spec!r}")
                loc = location
            if not 0 < lam <= 1:
                self.fail(ipath, f"loading {lam} must be in (0, 1]")
            codes = np.asarray(sorted(_valid_codes(self.q, col)), dtype=float)
            if len(codes) < 2:
                self.fail(ipath, f"{col!r} has fewer than two valid codes")
            out.append(Item(col, float(lam), float(loc), -1.0 if self._reverse(col) else 1.0,
                            codes))
        return out

    def _reverse(self, col: str) -> bool:
        if self.variables[col].reverse:
            return True
        return any(col in c.reverse for c in self.q.constructs)

    def latent(self, name, node, path, kind, allowed, shift_known, used) -> Latent:
        self.keys(node, allowed, path)
        loc = self.get(node, "location", path, float, default=0.0)
        items = self.items(node.get("items"), (*path, "items"), loc, used, name)
        return Latent(name, kind, items, self.shift(node.get("shift"), (*path, "shift"),
                                                     shift_known))


def build_spec(q: Questionnaire, truth, *, n: int | None = None,
               seed: int | None = None) -> Spec:
    """Check a truth file (path or dict) against ``q`` and return its :class:`Spec`.

    Every problem raises :class:`~surveykit.errors.SimulationError` naming the key path
    (and the file and line when ``truth`` is a path).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/satisfaction_index.yaml")
    >>> spec = build_spec(q, "data/satisfaction_index/simulation.yaml")
    >>> spec.n, spec.segment.variable, spec.drivers
    (2500, 'cust_type', ['image', 'expectations', 'quality', 'value'])
    >>> build_spec(q, {"questionnaire": "other"})
    Traceback (most recent call last):
    ...
    surveykit.errors.SimulationError: truth: missing key 'n'
    """
    raw, lines, source = read_truth(truth)
    c = _Checker(q, raw, lines, source)
    c.keys(raw, TOP_KEYS, ())
    for key in REQUIRED:
        c.get(raw, key, (), object)
    if raw["questionnaire"] != q.id:
        c.fail(("questionnaire",), f"the truth is written for {raw['questionnaire']!r}, not "
               f"for the questionnaire {q.id!r}")
    n = c.get(raw, "n", (), int, check=lambda v: v >= 10) if n is None else n
    seed = c.get(raw, "seed", (), int, check=lambda v: v >= 0) if seed is None else seed
    draw = c.get(raw, "population_draw", (), int, default=200_000,
                 check=lambda v: v >= 1000)
    seg = c.composition(raw["segments"], ("segments",), None)
    profile = [c.composition(node, ("profile", var), seg)
               for var, node in (c.get(raw, "profile", (), dict, default={}) or {}).items()]
    known = {seg.variable: seg.codes, **{p.variable: p.codes for p in profile}}
    for var in q.roles.weighting:
        if var not in known:
            c.fail(("profile",), f"weighting variable {var!r} (roles.weighting) needs a "
                   "population distribution here, so that targets.yaml can be written")
    used: dict = {}
    cnode = c.get(raw, "constructs", (), dict)
    constructs = [c.latent(name, spec, ("constructs", name), "construct",
                           ("items", "location", "shift"), known, used)
                  for name, spec in cnode.items()]
    names = [x.name for x in constructs]
    corr = _correlations(c, raw.get("correlations"), names)
    onode = raw["outcome"]
    c.keys(onode, ("construct", "column", "items", "location", "drivers", "base_weight",
                   "weights", "r2", "shift"), ("outcome",))
    oname = c.get(onode, "construct", ("outcome",), str)
    if oname in names:
        c.fail(("outcome", "construct"), f"{oname!r} is already a construct; the outcome is "
               "its own latent variable")
    column = c.get(onode, "column", ("outcome",), str)
    outcome = c.latent(oname, {k: onode[k] for k in ("items", "location", "shift")
                               if k in onode}, ("outcome",), "outcome",
                       ("items", "location", "shift"), known, used)
    if column not in [it.column for it in outcome.items]:
        c.fail(("outcome", "items"), f"the outcome column {column!r} must be one of the items")
    item_cols = {it.column for x in constructs for it in x.items}
    drivers = c.get(onode, "drivers", ("outcome",), list)
    for i, d in enumerate(drivers):
        if d not in item_cols and d not in names:
            c.fail(("outcome", "drivers", i), f"driver {d!r} is neither a construct nor an "
                   "item of one")
    if len(set(drivers)) != len(drivers) or len(drivers) < 2:
        c.fail(("outcome", "drivers"), "list at least two drivers, each once")
    base = c.get(onode, "base_weight", ("outcome",), float, default=0.0,
                 check=lambda v: v >= 0)
    wnode = c.get(onode, "weights", ("outcome",), dict)
    c.keys(wnode, seg.codes, ("outcome", "weights"))
    weights = {}
    for s in seg.codes:
        ws = wnode.get(s, {}) or {}
        c.keys(ws, drivers, ("outcome", "weights", s))
        w = np.array([float(ws.get(d, base)) for d in drivers])
        if not w.any():
            c.fail(("outcome", "weights", s), "every driver weight is 0")
        weights[s] = w
    r2 = c.get(onode, "r2", ("outcome",), float, check=lambda v: 0 < v < 1)
    links = []
    latent_names = {*names, oname}
    for name, node in (c.get(raw, "links", (), dict, default={}) or {}).items():
        link = c.latent(name, {k: v for k, v in node.items() if k != "from"}, ("links", name),
                        "link", ("items", "location", "shift"), known, used)
        src = c.get(node, "from", ("links", name), dict)
        for s_name, coef in src.items():
            if s_name not in latent_names and s_name not in used:
                c.fail(("links", name, "from", s_name), f"{s_name!r} is not a construct, the "
                       "outcome, an earlier link or an item")
            if not isinstance(coef, int | float) or abs(coef) > 1:
                c.fail(("links", name, "from", s_name), "effects are between -1 and 1")
        link.sources = {k: float(v) for k, v in src.items()}
        if name in latent_names:
            c.fail(("links", name), f"{name!r} is already a latent variable")
        latent_names.add(name)
        links.append(link)
    multi = _multi(c, raw.get("multi") or {}, seg)
    open_text = _open_text(c, raw.get("open_text") or {}, latent_names | set(used), seg)
    missing = _missing(c, raw.get("missing") or {}, used)
    problems = c.get(raw, "problems", (), int, default=0, check=lambda v: v >= 0)
    waves = _waves(c, raw.get("waves"), latent_names | set(used))
    return Spec(raw=raw, n=int(n), seed=int(seed), population_draw=draw, segment=seg,
                profile=profile, constructs=constructs, corr=corr, outcome=outcome,
                outcome_column=column, drivers=list(drivers), weights=weights, r2=r2,
                links=links, multi=multi, open_text=open_text, missing=missing,
                problems=problems, waves=waves)


def _waves(c: _Checker, node, names: set) -> dict:
    """``waves``: label -> {latent variable or item column: shift in SD units}."""
    if node is None:
        return {}
    if not isinstance(node, dict) or not node:
        c.fail(("waves",), "expected a mapping wave label -> {shift: {name: change}}")
    out = {}
    for label, spec in node.items():
        spec = spec or {}
        c.keys(spec, ("shift",), ("waves", label))
        shift = spec.get("shift") or {}
        if not isinstance(shift, dict):
            c.fail(("waves", label, "shift"), f"expected a mapping name -> change, got {shift!r}")
        for name, d in shift.items():
            if name not in names:
                c.fail(("waves", label, "shift", name), f"{name!r} is not a construct, the "
                       "outcome, a link or an item of the truth; known: "
                       f"{', '.join(sorted(names))}")
            if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d):
                c.fail(("waves", label, "shift", name), f"a shift is a number, got {d!r}")
        out[str(label)] = {k: float(v) for k, v in shift.items()}
    return out


def _correlations(c: _Checker, node, names: list[str]) -> np.ndarray:
    k = len(names)
    node = node or {}
    c.keys(node, ("default", "pairs"), ("correlations",))
    default = c.get(node, "default", ("correlations",), float, default=0.0)
    R = np.full((k, k), default)
    for i, pair in enumerate(node.get("pairs") or []):
        path = ("correlations", "pairs", i)
        if not (isinstance(pair, list) and len(pair) == 3 and pair[0] in names
                and pair[1] in names and isinstance(pair[2], int | float)):
            c.fail(path, f"a pair is [construct, construct, r] with constructs among "
                   f"{', '.join(names)}; got {pair!r}")
        a, b = names.index(pair[0]), names.index(pair[1])
        R[a, b] = R[b, a] = float(pair[2])
    np.fill_diagonal(R, 1.0)
    if k and np.linalg.eigvalsh(R).min() <= 1e-8:
        c.fail(("correlations",), "the construct correlations are not positive definite")
    return R


def _multi(c: _Checker, node: dict, seg: Composition) -> dict:
    out = {}
    for qid, spec in node.items():
        path = ("multi", qid)
        question = next((qq for qq in c.q.questions if qq.id == qid), None)
        if question is None or question.type != "multi":
            c.fail(path, f"{qid!r} is not a multi-response question")
        codes = [o.code for o in question.options]
        c.keys(spec, ("probability", "by_segment"), path)
        base = spec.get("probability") or {}
        c.keys(base, codes, (*path, "probability"))
        by_seg = spec.get("by_segment") or {}
        c.keys(by_seg, seg.codes, (*path, "by_segment"))
        table = {}
        for s in seg.codes:
            over = by_seg.get(s) or {}
            c.keys(over, codes, (*path, "by_segment", s))
            p = np.array([float(over.get(code, base.get(code, 0.0))) for code in codes])
            if ((p < 0) | (p > 1)).any():
                c.fail((*path, "by_segment", s), "probabilities are between 0 and 1")
            table[s] = p
        out[qid] = {"codes": codes, "p": table,
                    "exclusive": [o.exclusive for o in question.options]}
    return out


NPS_GROUPS = ("detractor", "passive", "promoter")
LANGUAGES = ("en", "zh")  # the languages surveykit.text codes


def _open_text(c: _Checker, node: dict, sources: set, seg: Composition) -> dict:
    out = {}
    for qid, spec in node.items():
        path = ("open_text", qid)
        c.column(qid, path, ("open",))
        c.keys(spec, ("rate", "second_theme", "strength", "languages", "noise", "nps",
                      "themes"), path)
        rate = c.get(spec, "rate", path, float, check=lambda v: 0 <= v <= 1)
        second = c.get(spec, "second_theme", path, float, default=0.0,
                       check=lambda v: 0 <= v <= 1)
        strength = c.get(spec, "strength", path, float, default=1.0)
        noise = c.get(spec, "noise", path, float, default=0.0, check=lambda v: 0 <= v <= 1)
        langs = c.get(spec, "languages", path, dict, default={"en": 1.0})
        c.keys(langs, LANGUAGES, (*path, "languages"))
        lang_p = c.shares(langs, list(langs), (*path, "languages"))
        nps = c.get(spec, "nps", path, str, default=None)
        if nps is not None:
            c.column(nps, (*path, "nps"), ("nps",))
        themes = []
        for name, t in c.get(spec, "themes", path, dict).items():
            tpath = (*path, "themes", name)
            c.keys(t, ("source", "when", "weight", "by_segment", "by_nps", "phrases"), tpath)
            src = t.get("source")
            if src is not None and src not in sources:
                c.fail((*tpath, "source"), f"{src!r} is not a latent variable or item")
            when = t.get("when", "low")
            if when not in ("low", "high"):
                c.fail((*tpath, "when"), "'low' or 'high'")
            phrases = c.get(t, "phrases", tpath, (list, dict))
            phrases = phrases if isinstance(phrases, dict) else {"en": phrases}
            for lang in langs:
                ps = phrases.get(lang)
                if not ps or not isinstance(ps, list) or not all(
                        isinstance(p, str) and p.strip() for p in ps):
                    c.fail((*tpath, "phrases"), f"a list of non-empty phrases for each "
                           f"language of the answers ({lang} has none)")
            weight = c.get(t, "weight", tpath, float, default=1.0, check=lambda v: v > 0)
            by_seg = c.get(t, "by_segment", tpath, dict, default={})
            c.keys(by_seg, seg.codes, (*tpath, "by_segment"))
            by_nps = c.get(t, "by_nps", tpath, dict, default={})
            c.keys(by_nps, NPS_GROUPS, (*tpath, "by_nps"))
            if by_nps and nps is None:
                c.fail((*tpath, "by_nps"), f"name the NPS question first (open_text.{qid}.nps)")
            for key, node_ in (("by_segment", by_seg), ("by_nps", by_nps)):
                for k, v in node_.items():
                    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                        c.fail((*tpath, key, k), f"a factor > 0 on the theme's weight, got {v!r}")
            themes.append({"name": str(name), "source": src,
                           "sign": -1.0 if when == "low" else 1.0,
                           "log_weight": math.log(weight),
                           "log_by_segment": {k: math.log(v) for k, v in by_seg.items()},
                           "log_by_nps": {k: math.log(v) for k, v in by_nps.items()},
                           "phrases": {lang: list(phrases[lang]) for lang in langs}})
        if not themes:
            c.fail((*path, "themes"), "declare at least one theme")
        out[qid] = {"rate": rate, "second": second, "strength": strength, "noise": noise,
                    "languages": dict(zip(langs, lang_p / lang_p.sum(), strict=True)),
                    "nps": nps, "themes": themes}
    return out


def _missing(c: _Checker, node: dict, used: dict) -> dict:
    out = {}
    for col, spec in node.items():
        path = ("missing", col)
        if col not in used:
            c.fail(path, f"{col!r} is not an item the truth generates")
        declared = list(c.variables[col].missing_codes)
        if isinstance(spec, dict):
            c.keys(spec, ("code", "rate"), path)
            code, rate = spec.get("code"), spec.get("rate")
        else:
            code, rate = (declared[0] if declared else None), spec
        if code not in declared:
            c.fail(path, f"{col!r} has no declared missing code {code!r} (declared: "
                   f"{declared or 'none'})")
        if not isinstance(rate, int | float) or not 0 <= rate < 1:
            c.fail(path, f"rate {rate!r} must be in [0, 1)")
        out[col] = (code, float(rate))
    return out
