"""Codeframes: the themes of an open question and the rules that find them, in YAML.

A codeframe file sits beside its questionnaire (``questionnaires/pc_customers.codeframe.yaml``
for ``pc_customers.yaml``)::

    id: pc_comments
    title: Comments on computers and brands
    questions: [pain_text]            # the open questions it codes (optional)
    nets:
      - {id: product, label: Product}
    themes:
      - id: battery                   # letters and digits: the column is pain_text_battery
        label: Battery life
        net: product
        match:
          en:
            words: [battery, batteries, charg*]    # whole words; * = any ending
            phrases: [runs out, dies quickly]      # word sequences, anywhere
            regex: ['\\bdrains?\\b']               # Python regular expressions
            exclude: {phrases: [battery is great]} # a match inside these does not count
          zh:
            words: [电池, 续航]                    # whole words after jieba segmentation
            phrases: [没电]                        # anywhere in the text
    other: {id: other, label: Other comments}     # answers no theme matches
    no_comment: {id: none, label: No comment, answers: {en: [nothing special to add]}}

Rules are compared with the normalised answer (:func:`~surveykit.text._lang.normalise`:
NFKC, lower case, single spaces). Words and phrases of languages written with spaces match
at word boundaries; Chinese (``zh``) words match jieba's words (search mode: the words of
the segmentation and the dictionary words inside a longer one, so ``服务`` is found in
``上门服务`` but ``卡`` is not found in ``信用卡``), while phrases match anywhere. Regular
expressions are compiled at load (case ignored; ``^`` and ``$`` are the start and end of
one answer), refused when longer than :data:`MAX_PATTERN` characters, when they match empty
text, use back-references or named groups, or nest unbounded repeats such as ``(a+)+``
(which can take exponential time).

The file is read by the questionnaire loader's bounded YAML reader
(:func:`surveykit.questionnaire.loader.parse_yaml`: size, depth and alias expansion capped)
and every problem is reported at once with file, line and path.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from .._util import short_repr
from ..errors import CodeframeError, Problem
from ..questionnaire.checks import format_path
from ..questionnaire.loader import YAMLReadError, parse_yaml, read_yaml_file

# private helper of the questionnaire loader: ruamel's tree -> plain data + line of each path
from ..questionnaire.loader import _plain as _plain_with_lines
from ._lang import no_comment_keys
from ._rules import Rule, check_document, needs_single_answer
from .models import MAX_PATTERN, CodeframeModel, Net, NoCommentCode, OtherCode, Theme

__all__ = ["Codeframe", "load_codeframe", "codeframe_from_text", "codeframe_from_dict",
           "codeframe_schema", "codeframe_path", "MAX_PATTERN", "CodeframeModel", "Rule",
           "needs_single_answer"]


@dataclass(repr=False)
class Codeframe:
    """A checked codeframe: the model, its compiled rules and where it came from.

    Attributes
    ----------
    model : CodeframeModel
    rules : list of Rule
        Compiled rules of every theme, in file order.
    source : str
        The file (or ``<string>``) it was read from.

    Examples
    --------
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> cf.theme_ids[:3]
    ['battery', 'heat', 'performance']
    >>> cf.label("battery")
    'Battery life'
    """

    model: CodeframeModel
    rules: list[Rule]
    source: str = "<dict>"
    lines: dict = field(default_factory=dict, repr=False)

    # -- what the file declares
    @property
    def id(self) -> str:
        return self.model.id

    @property
    def human_coding_path(self) -> Path | None:
        """The declared human coding sheet, relative to the codeframe's file (None if none)."""
        if self.model.human_coding is None:
            return None
        here = Path(self.source).parent if not self.source.startswith("<") else Path()
        return here / self.model.human_coding

    @property
    def themes(self) -> list[Theme]:
        return list(self.model.themes)

    @property
    def nets(self) -> list[Net]:
        return list(self.model.nets)

    @property
    def theme_ids(self) -> list[str]:
        return [t.id for t in self.model.themes]

    @property
    def net_ids(self) -> list[str]:
        return [n.id for n in self.model.nets]

    @property
    def languages(self) -> list[str]:
        """Languages with rules, in file order."""
        out: list[str] = []
        for t in self.model.themes:
            out += [lang for lang in t.match if lang not in out]
        return out

    def label(self, code: str) -> str:
        """The label of a theme, net, the other code or the no-comment flag."""
        for item in (*self.model.themes, *self.model.nets, self.model.other,
                     self.model.no_comment):
            if item.id == code:
                return item.label
        raise KeyError(f"{code!r} is not a code of codeframe {self.id!r}; codes: "
                       f"{', '.join(self.codes()['code'])}")

    def members(self, net: str) -> list[str]:
        """The theme ids of a net."""
        return [t.id for t in self.model.themes if t.net == net]

    def codes(self) -> pd.DataFrame:
        """Every code in column order: each net followed by its themes, then themes without
        a net, the other code and the no-comment flag (``code, label, kind, net``)."""
        rows = []
        for n in self.model.nets:
            rows.append((n.id, n.label, "net", None))
            rows += [(t.id, t.label, "theme", n.id) for t in self.model.themes if t.net == n.id]
        rows += [(t.id, t.label, "theme", None) for t in self.model.themes if t.net is None]
        rows.append((self.model.other.id, self.model.other.label, "other", None))
        rows.append((self.model.no_comment.id, self.model.no_comment.label, "no_comment", None))
        return pd.DataFrame(rows, columns=["code", "label", "kind", "net"])

    def columns(self, question: str) -> dict[str, str]:
        """``{code: column}`` in column order: ``{question}_{code}``."""
        return {c: f"{question}_{c}" for c in self.codes()["code"]}

    def no_comment_keys(self) -> frozenset[str]:
        nc = self.model.no_comment
        return no_comment_keys(nc.answers, builtin=nc.builtin)

    def zh_words(self) -> tuple[str, ...]:
        return tuple(sorted({r.text for r in self.rules if r.zh_word}))

    # -- display
    def to_frame(self) -> pd.DataFrame:
        """The codes with the number of rules per language (one row per code)."""
        out = self.codes()
        counts = {}
        for r in self.rules:
            key = (self.model.themes[r.theme].id, r.language)
            counts[key] = counts.get(key, 0) + 1
        for lang in self.languages:
            out[f"rules_{lang}"] = [counts.get((c, lang), 0) if k == "theme" else pd.NA
                                    for c, k in zip(out["code"], out["kind"], strict=True)]
        return out

    def summary(self) -> str:
        m = self.model
        lines = [f"Codeframe {m.id!r}" + (f" ({m.title})" if m.title else "")
                 + f": {len(m.themes)} themes, {len(m.nets)} nets, {len(self.rules)} rules in "
                 + (", ".join(self.languages) or "no language")
                 + (f"; codes {', '.join(m.questions)}" if m.questions else "")]
        for _, r in self.codes().iterrows():
            indent = "    " if r["net"] else "  "
            lines.append(f"{indent}{r['code']}: {r['label']} [{r['kind']}]")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return (f"<p><b>Codeframe {self.id}</b> ({len(self.model.themes)} themes)</p>"
                + self.to_frame().to_html(index=False, na_rep=""))


# -- loading ---------------------------------------------------------------------------------
def codeframe_path(questionnaire_path: str | os.PathLike) -> Path:
    """Where the codeframe of a questionnaire lives: beside it, ``<name>.codeframe.yaml``.

    Examples
    --------
    >>> codeframe_path("questionnaires/pc_customers.yaml").as_posix()
    'questionnaires/pc_customers.codeframe.yaml'
    """
    p = Path(questionnaire_path)
    return p.with_name(p.name.removesuffix(p.suffix) + ".codeframe.yaml")


#: codeframes read by this process, pickled: (path, digest of the text) -> Codeframe. A
#: report reads the questionnaire's codeframe several times (shared results, tab book): its
#: YAML is parsed once, and every load still returns its own copy.
_LOADED: dict[tuple[str, bytes], bytes] = {}


def load_codeframe(path: str | os.PathLike) -> Codeframe:
    """Load and check a codeframe file.

    Parameters
    ----------
    path : str or path-like
        The codeframe YAML file (UTF-8).

    Returns
    -------
    Codeframe

    Raises
    ------
    CodeframeError
        Listing every problem found, each as ``file:line N: path: message``.

    Examples
    --------
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> cf.model.questions, cf.languages
    (['pain_text'], ['en', 'zh'])
    """
    path = Path(path)
    text = read_yaml_file(path, CodeframeError, "codeframe",
                          " (a codeframe sits beside its questionnaire as <name>.codeframe.yaml)")
    key = (str(path), hashlib.blake2b(text.encode("utf-8", "surrogatepass")).digest())
    if key in _LOADED:      # read before in this process: a copy, without parsing the YAML
        cf = pickle.loads(_LOADED[key])  # noqa: S301 - pickled by this process, below
    else:
        cf = codeframe_from_text(text, source=str(path))
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[key] = pickle.dumps(cf, protocol=pickle.HIGHEST_PROTOCOL)
    sheet = cf.human_coding_path
    if sheet is not None and not sheet.is_file():
        raise CodeframeError(Problem(
            f"{sheet} not found; give the path of the ticked coding sheet "
            "relative to the codeframe (surveykit.text.export_coding_sheet writes one)",
            path="human_coding", line=cf.lines.get(("human_coding",)), file=str(path)))
    return cf


def codeframe_from_text(text: str, *, source: str = "<string>") -> Codeframe:
    """Load a codeframe from YAML text (``source`` names it in error messages).

    Examples
    --------
    >>> cf = codeframe_from_text('''
    ... id: demo
    ... themes:
    ...   - {id: price, label: Price, match: {en: {words: [price, expensive]}}}
    ... ''')
    >>> cf.codes()["code"].tolist()
    ['price', 'other', 'none']
    >>> codeframe_from_text("id: demo\\nthemes:\\n  - {id: a_b, label: A}")
    Traceback (most recent call last):
    ...
    surveykit.errors.CodeframeError: <string>:line 3: themes[0].id: 'a_b' is not a valid \
id: use letters and digits only, starting with a letter (the column {question}_{id} is read \
back as a multi-response code after the last underscore)
    """
    try:
        doc = parse_yaml(text)
    except YAMLReadError as exc:
        message = f"YAML syntax error: {exc.message}" if exc.syntax else exc.message
        raise CodeframeError(Problem(message, line=exc.line, file=source)) from None
    if not isinstance(doc, dict):
        raise CodeframeError(Problem("a codeframe must be a YAML mapping with keys such as "
                                     "id, nets, themes", file=source, line=1))
    lines: dict[tuple, int] = {}
    data = _plain_with_lines(doc, (), lines)
    return _build(data, source, lines)


def codeframe_from_dict(data: dict, *, source: str = "<dict>") -> Codeframe:
    """Build a codeframe from an already-parsed mapping (same checks as the file loader).

    Examples
    --------
    >>> cf = codeframe_from_dict({"id": "d", "themes": [
    ...     {"id": "slow", "label": "Slow", "match": {"en": {"words": ["slow"]}}}]})
    >>> [r.kind for r in cf.rules]
    ['word']
    """
    if not isinstance(data, dict):
        raise CodeframeError(Problem("a codeframe must be a mapping with keys such as id, "
                                     "nets, themes", file=source))
    return _build(data, source, {})


def codeframe_schema() -> dict:
    """The JSON Schema of the codeframe format (for editors' completion and checks).

    Examples
    --------
    >>> s = codeframe_schema()
    >>> s["title"], sorted(s["$defs"]["Rules"]["properties"])
    ('surveykit codeframe', ['exclude', 'phrases', 'regex', 'words'])
    """
    schema = CodeframeModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "surveykit codeframe"
    return schema


def _build(data: dict, source: str, lines: dict) -> Codeframe:
    def line_of(path: tuple) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    def problem(path: tuple, message: str) -> Problem:
        return Problem(message, path=format_path(path), line=line_of(path), file=source)

    try:
        model = CodeframeModel.model_validate(data)
    except ValidationError as exc:
        problems = [problem(_loc(e["loc"]), _message(e)) for e in exc.errors()]
        # the whole-document checks still run on the parts that passed the schema
        problems += check_document(*_partial(data), problem, raw=data)[0]
        raise CodeframeError(_dedupe(problems)) from None
    problems, rules = check_document(list(enumerate(model.nets)), list(enumerate(model.themes)),
                             model.other, model.no_comment, problem)
    if problems:
        raise CodeframeError(_dedupe(problems))
    return Codeframe(model, rules, source=source, lines=lines)


def _loc(loc: tuple) -> tuple:
    """pydantic's location without its ``[key]`` marker (a bad mapping key is the key)."""
    return tuple(part for part in loc if part != "[key]")


def _partial(data: dict):
    """The nets, themes (with their positions), other and no-comment codes that validate."""
    def valid(model, value):
        try:
            return model.model_validate(value)
        except ValidationError:
            return None

    nets = data.get("nets") if isinstance(data.get("nets"), list) else []
    themes = data.get("themes") if isinstance(data.get("themes"), list) else []
    good_nets = [(i, n) for i, n in enumerate(valid(Net, v) for v in nets) if n is not None]
    good_themes = [(i, t) for i, t in enumerate(valid(Theme, v) for v in themes)
                   if t is not None]
    other = valid(OtherCode, data.get("other", {}))
    no_comment = valid(NoCommentCode, data.get("no_comment", {}))
    return good_nets, good_themes, other, no_comment


def _message(err: dict) -> str:
    kind, msg, loc = err["type"], err["msg"], err["loc"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against surveykit.text.codeframe_schema()"
    if kind == "string_pattern_mismatch" and loc == ("id",):
        return (f"{err.get('input')!r} is not a valid id: start with a letter and use letters, "
                "digits, _ . -")
    if kind == "string_pattern_mismatch" and loc and loc[-1] in ("id", "net"):
        return (f"{err.get('input')!r} is not a valid id: use letters and digits only, starting "
                "with a letter (the column {question}_{id} is read back as a multi-response "
                "code after the last underscore)")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
        return (f"{loc[-2]!r} is not a language code: use a lower-case code such as en, zh "
                "or zh-cn")
    if kind == "too_short" and loc == ("themes",):
        return "a codeframe needs at least one theme"
    msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else kind


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out
