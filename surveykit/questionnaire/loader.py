"""Load a questionnaire YAML file, reporting ALL problems at once with file, line and path.

YAML is read as YAML 1.2 (ruamel.yaml), so ``yes``/``no``/``on``/``off`` stay strings and
labels and codes keep their meaning; a number written where text belongs (``version: 1.10``,
``label: 10``) is kept as the text the author wrote. Problems come in two rounds: YAML
syntax (which stops reading), then everything else in one list: the schema (pydantic) and
the whole-document checks (duplicate ids, unknown scales and items, routing to unknown or
later questions, constructs with missing items, codes that are not unique, unsafe
expressions). Parts of the document that fail the schema are left out of the document
checks without producing follow-on errors.

Every YAML file surveykit reads (questionnaires, weighting targets) goes through
:func:`parse_yaml`, which refuses in well under a second what would otherwise exhaust time
or memory: a file over :data:`YAML_MAX_BYTES`, nesting deeper than :data:`YAML_MAX_DEPTH`, and
a document that expands to more than :data:`YAML_MAX_NODES` values once each alias
(``*name``) is replaced by what its anchor (``&name``) holds (an "alias bomb").
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scanner import RoundTripScanner

from ..errors import Problem, QuestionnaireError
from .checks import Doc, check_document, format_path, partial_doc
from .core import Questionnaire
from .models import QUESTION_TYPES, QuestionnaireModel

__all__ = ["load_questionnaire", "questionnaire_from_dict", "questionnaire_from_text",
           "json_schema", "parse_yaml", "read_yaml_text", "YAMLReadError"]

#: Largest YAML file read, in bytes (a questionnaire is tens of kilobytes).
YAML_MAX_BYTES = 10_000_000
#: Deepest nesting of YAML values (a questionnaire nests about six levels).
YAML_MAX_DEPTH = 100
#: Most values (scalars, lists, mappings) a YAML document may expand to, counting what each
#: alias ``*name`` repeats every time it is used (a questionnaire has a few thousand).
YAML_MAX_NODES = 100_000

_TYPES_TEXT = ", ".join(QUESTION_TYPES)
# keys whose value is text even when YAML reads a number (version: 1.10, label: 10)
_TEXT_KEYS = frozenset({"id", "title", "version", "language", "description", "label", "text",
                        "instruction", "unit", "when", "ask_if"})
# keys whose value may be written as a mapping {code: label} (the short form of a list)
_CODE_MAPS = frozenset({"codes", "options", "missing"})


def load_questionnaire(path: str | os.PathLike) -> Questionnaire:
    """Load and check a questionnaire file.

    Parameters
    ----------
    path : str or path-like
        The questionnaire YAML file (UTF-8).

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        Listing every problem found, each as ``file:line N: path: message``.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> q.variable("nps").kind
    'nps'
    """
    path = Path(path)
    text = read_yaml_file(path, QuestionnaireError, "questionnaire")
    return questionnaire_from_text(text, source=str(path))


def questionnaire_from_text(text: str, *, source: str = "<string>") -> Questionnaire:
    """Load a questionnaire from YAML text (``source`` names it in error messages).

    Examples
    --------
    >>> q = questionnaire_from_text('''
    ... id: demo
    ... title: Demo
    ... questions:
    ...   - {id: q1, type: single, text: Agree?, options: {1: yes, 2: no}}
    ... ''')
    >>> q.labels("q1")
    {1: 'yes', 2: 'no'}
    """
    try:
        doc = parse_yaml(text)
    except YAMLReadError as exc:
        message = f"YAML syntax error: {exc.message}" if exc.syntax else exc.message
        raise QuestionnaireError(Problem(message, line=exc.line, file=source)) from None
    if not isinstance(doc, dict):
        raise QuestionnaireError(Problem("the file must be a YAML mapping with keys such as "
                                         "id, title, scales, questions", file=source, line=1))
    lines: dict[tuple, int] = {}
    flow: set[tuple] = set()
    data = _plain(doc, (), lines, flow)
    return _from_dict(data, source, lines, flow)


def questionnaire_from_dict(data: dict, *, source: str = "<dict>",
                            lines: dict[tuple, int] | None = None) -> Questionnaire:
    """Build a questionnaire from an already-parsed mapping (same checks as the file loader).

    Examples
    --------
    >>> q = questionnaire_from_dict({"id": "demo", "title": "Demo", "questions": [
    ...     {"id": "age", "type": "numeric", "text": "Your age?", "min": 18}]})
    >>> q.variable("age").min
    18.0
    """
    return _from_dict(data, source, lines or {}, set())


def _from_dict(data, source: str, lines: dict[tuple, int], flow: set[tuple]) -> Questionnaire:
    """Validate ``data``; ``flow`` holds the paths of mappings written in flow style
    (``{...}``), for the hint on text cut at a comma."""

    def line_of(path: tuple) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    if not isinstance(data, dict):
        raise QuestionnaireError(Problem("a questionnaire must be a mapping with keys such as "
                                         "id, title, scales, questions", file=source))
    try:
        model = QuestionnaireModel.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, data, (), source, line_of, flow)
        problems += check_document(partial_doc(data), source, line_of)
        raise QuestionnaireError(_dedupe(problems)) from None
    problems = check_document(Doc.from_model(model), source, line_of)
    if problems:
        raise QuestionnaireError(_dedupe(problems))
    return Questionnaire(model, source=source, lines=lines)


def json_schema() -> dict:
    """The JSON Schema of the questionnaire format (for editors' completion and checks).

    Lists of codes and options may also be written as a mapping ``{code: label}`` or
    ``{code: {label: ..., exclusive: true}}``; the schema says so.

    Examples
    --------
    >>> json_schema()["title"]
    'surveykit questionnaire'
    """
    schema = QuestionnaireModel.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    for ref_name in ("Option", "MissingCode"):
        spec = {k: v for k, v in defs[ref_name].items() if k not in ("title", "description")}
        spec["properties"] = {k: v for k, v in spec["properties"].items() if k != "code"}
        spec["required"] = [r for r in spec.get("required", []) if r != "code"]
        spec["title"] = f"{ref_name} (without code)"
        defs[f"{ref_name}Spec"] = spec
    for model_def in defs.values():
        for name, prop in model_def.get("properties", {}).items():
            if name not in _CODE_MAPS:
                continue
            inner = prop.get("anyOf", [prop])
            for k, alt in enumerate(inner):
                ref = alt.get("items", {}).get("$ref", "") if alt.get("type") == "array" else ""
                if ref.endswith(("/Option", "/MissingCode")):
                    mapping = {"type": "object", "additionalProperties": {
                        "anyOf": [{"type": "string"}, {"$ref": ref + "Spec"}]},
                        "description": "short form: {code: label} or {code: {label: ...}}"}
                    if "minItems" in alt:
                        mapping["minProperties"] = alt["minItems"]
                    inner[k] = {"anyOf": [alt, mapping]}
            if "anyOf" not in prop:
                new = inner[0]
                extra = {k: v for k, v in prop.items() if k in ("title", "default", "description")}
                model_def["properties"][name] = {**new, **extra}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "surveykit questionnaire"
    return schema


# -- bounded YAML ------------------------------------------------------------------------
class YAMLReadError(ValueError):
    """A YAML text that :func:`parse_yaml` refuses; callers raise their own typed error.

    Attributes
    ----------
    message : str
        What is wrong and what to do, without file or line.
    line : int or None
        1-based line, where known.
    syntax : bool
        True for a YAML syntax error, False for a duplicate key or a refused size, depth or
        alias expansion.
    """

    def __init__(self, message: str, line: int | None = None, *, syntax: bool = False):
        super().__init__(message)
        self.message, self.line, self.syntax = message, line, syntax


def read_yaml_file(path: Path, error: type, what: str, hint: str = "") -> str:
    """The text of the YAML file ``path`` (a ``what``: questionnaire, codeframe...), or
    ``error`` (a :class:`~surveykit.errors.ProblemsError`) saying why it cannot be read:
    missing (with ``hint``), a folder, not UTF-8, too large, unreadable."""
    try:
        return read_yaml_text(path)
    except YAMLReadError as exc:
        raise error(Problem(exc.message, file=str(path))) from None
    except FileNotFoundError:
        raise error(Problem(f"{what} file not found: {path}; check the path{hint}",
                            file=str(path))) from None
    except IsADirectoryError:
        raise error(Problem(f"{path} is a folder; give the {what}'s .yaml file",
                            file=str(path))) from None
    except UnicodeDecodeError as exc:
        raise error(Problem(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the "
                            "file as UTF-8", file=str(path))) from None
    except OSError as exc:
        raise error(Problem(f"cannot read the file: {exc.strerror}",
                            file=str(path))) from None


def read_yaml_text(path: Path) -> str:
    """Read a YAML file as UTF-8 text, refusing one over :data:`YAML_MAX_BYTES` before it
    is read. ``OSError`` and ``UnicodeDecodeError`` pass through to the caller.

    Raises
    ------
    YAMLReadError
        The file is too large.
    """
    _check_size(Path(path).stat().st_size)
    return Path(path).read_text(encoding="utf-8")


def parse_yaml(text: str):
    """Parse YAML 1.2 text into ruamel's round-trip tree (line numbers kept), within bounds.

    The one YAML reader of surveykit. Refuses text over :data:`YAML_MAX_BYTES`, nesting
    deeper than :data:`YAML_MAX_DEPTH`, and a document that expands to more than
    :data:`YAML_MAX_NODES` values, each alias counted as the size of what it repeats (so an
    "alias bomb" of a few hundred bytes is refused while it is read, long before it is
    expanded). A value written with an unquoted ``": "`` gets a hint to quote it.

    Parameters
    ----------
    text : str
        The YAML document (one document).

    Returns
    -------
    CommentedMap, CommentedSeq or scalar
        Aliases share their anchor's object, as ruamel gives them.

    Raises
    ------
    YAMLReadError
        With the message, the line where known, and whether it is a syntax error.

    Examples
    --------
    >>> parse_yaml("a: &x [1, 2]\\nb: *x")["b"]
    [1, 2]
    >>> try:
    ...     parse_yaml("a: " + "[" * 200 + "]" * 200)
    ... except YAMLReadError as exc:
    ...     print(exc.line, exc.message.split(";")[0])
    1 nesting deeper than 100 levels
    """
    _check_size(len(text.encode("utf-8", errors="surrogatepass")))
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.Scanner, yaml.Composer = _BoundedScanner, _BoundedComposer
    try:
        return yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YAMLReadError(f"duplicate key: {exc.problem}; each key may appear once per "
                            "mapping", line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = str(exc.problem or exc.context)
        if exc.problem and exc.context:
            where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message += f" ({exc.context}{where})"
        hint = ""
        if exc.problem_mark and any(e in str(exc.problem) for e in _COLON_ERRORS):
            hint = _colon_hint(text, exc.problem_mark, flow="got ':'" in str(exc.problem))
        raise YAMLReadError(message + hint, line, syntax=True) from None


def _check_size(nbytes: int) -> None:
    if nbytes > YAML_MAX_BYTES:
        raise YAMLReadError(f"the file is {nbytes / 1e6:.1f} MB; surveykit reads YAML files of "
                            f"up to {YAML_MAX_BYTES / 1e6:g} MB (a questionnaire or targets "
                            "file is a few kilobytes): check that this is the right file")


def _too_deep(line: int | None) -> YAMLReadError:
    return YAMLReadError(f"nesting deeper than {YAML_MAX_DEPTH} levels; a questionnaire or "
                         "targets file nests a few levels: check for [ or { that are never "
                         "closed, or flatten the structure", line)


class _BoundedScanner(RoundTripScanner):
    """ruamel's round-trip scanner, refusing ``[`` / ``{`` nested deeper than the limit as
    soon as it reads one: on a long line of unclosed brackets the scanner otherwise looks up
    to 1,024 characters ahead at a cost that grows with the depth."""

    def fetch_flow_collection_start(self, *args, **kwargs):
        super().fetch_flow_collection_start(*args, **kwargs)
        if self.flow_level > YAML_MAX_DEPTH:
            raise _too_deep(self.reader.line + 1)


class _BoundedComposer(Composer):
    """ruamel's composer, counting depth and expanded values as the nodes are composed.

    An alias adds the number of values its anchor's node expands to; an alias to a node
    that is still open (a loop) is refused. Both checks run before ruamel recurses further,
    so a deep or exploding document stops early.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sk_depth = 0
        self._sk_count = 0
        self._sk_sizes: dict = {}  # anchor -> values its node expands to (once closed)

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)  # refuses an undefined alias
            size = self._sk_sizes.get(event.anchor)
            if size is None:
                raise YAMLReadError(f"the alias *{event.anchor} is used inside the value its "
                                    f"anchor &{event.anchor} names (a loop); write the value "
                                    "out instead", line)
            self._count(size, line, f" when the alias *{event.anchor} repeats its anchor")
            return node
        nested = isinstance(event, CollectionStartEvent)
        self._sk_depth += nested
        if self._sk_depth > YAML_MAX_DEPTH:
            raise _too_deep(line)
        anchor = event.anchor
        if anchor is not None:
            self._sk_sizes.pop(anchor, None)  # a redefined anchor is open again
        start = self._sk_count
        self._count(1, line, "")
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._sk_sizes[anchor] = self._sk_count - start
        self._sk_depth -= nested
        return node

    def _count(self, n: int, line: int | None, how: str) -> None:
        self._sk_count += n
        if self._sk_count > YAML_MAX_NODES:
            raise YAMLReadError(f"the document expands to more than {YAML_MAX_NODES:,} values"
                                f"{how}; aliases (*name) that repeat anchors (&name) which "
                                "themselves hold aliases multiply: write the repeated parts "
                                "out, or split the file", line)


_COLON_ERRORS = ("mapping values are not allowed here", "but got ':'")


def _colon_hint(text: str, mark, *, flow: bool) -> str:
    """For an unquoted ``": "`` inside a value: say to quote it, showing the line quoted."""
    lines = text.splitlines()
    if not 0 <= mark.line < len(lines):
        return ""
    line, col = lines[mark.line], mark.column
    if not line[col:col + 1] == ":":
        return ""
    # the key this value belongs to: the last "key: " before the offending colon, after the
    # start of the line, a "- " or a flow "{" / ","
    head = line[:col]
    start = max(head.rfind("{"), head.rfind(","), head.rfind("[")) if flow else -1
    m = re.match(r"\s*(?:-\s+)*([^\s:#][^:#]*?):\s+(\S.*)$", head[start + 1:])
    if not m:
        return ""
    key, value_start = m.group(1), m.group(2)
    rest = line[col:]
    if start >= 0:  # flow style: the value ends at the next , ] or }
        rest = re.split(r"[,\]}]", rest, maxsplit=1)[0]
    else:
        rest = re.split(r"\s+#", rest, maxsplit=1)[0]
    value = (value_start + rest).rstrip()
    return (f"; a value that contains ': ' must be quoted: write {key}: {_quoted(value)}")


def _quoted(text: str) -> str:
    """``text`` as a YAML quoted scalar."""
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- YAML with positions ---------------------------------------------------------------
def _plain(node, path: tuple, lines: dict, flow: set | None = None):
    """Turn ruamel's round-trip nodes into plain dict/list, recording each path's line
    (and in ``flow`` the paths of mappings written in flow style, ``{...}``)."""
    flow = set() if flow is None else flow
    if isinstance(node, CommentedMap):
        if node.fa.flow_style():
            flow.add(path)
        out = {}
        for key, value in node.items():
            key = _plain(key, (), {})
            try:
                lines[(*path, key)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            text_value = key in _TEXT_KEYS or (path and path[-1] in _CODE_MAPS)
            if text_value and not isinstance(value, str | bool | dict | list | None):
                out[key] = _as_written(value)  # a label or text written as a number
            else:
                out[key] = _plain(value, (*path, key), lines, flow)
        return out
    if isinstance(node, CommentedSeq):
        out = []
        for i, value in enumerate(node):
            try:
                lines[(*path, i)] = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            out.append(_plain(value, (*path, i), lines, flow))
        return out
    if isinstance(node, ScalarBoolean):  # an anchored true/false (a subclass of int)
        return bool(node)
    if type(node).__module__.startswith("ruamel"):
        # ScalarString, ScalarFloat, ScalarInt... -> plain Python
        for typ in (bool, int, float, str):
            if isinstance(node, typ):
                return typ(node)
    return node


def _as_written(value) -> str:
    """The text of a scalar as the author wrote it (``1.10`` stays ``"1.10"``)."""
    if not type(value).__module__.startswith("ruamel"):
        return str(value)
    buf = io.StringIO()
    YAML(typ="rt").dump(value, buf)
    return buf.getvalue().removesuffix("\n").removesuffix("...").strip()


def _clean_loc(loc: tuple, data) -> tuple:
    """Map pydantic's error location onto the document's keys.

    Drops union-tag elements (e.g. ``'grid'``), maps ``from_`` to ``from`` and the list index
    of a short-form ``{code: label}`` mapping to its code.
    """
    out, cur = [], data
    prev = None
    for part in loc:
        if isinstance(cur, dict) and prev in _CODE_MAPS and isinstance(part, int) \
                and 0 <= part < len(cur):
            key = list(cur)[part]
            out.append(key)
            cur = cur[key]
            cur = cur if isinstance(cur, dict) else {"label": cur}
        elif isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and part == "from_" and "from" in cur:
            out.append("from")
            cur = cur["from"]
        elif isinstance(cur, dict) and part in QUESTION_TYPES and cur.get("type") == part:
            continue  # discriminator tag
        else:
            out.append(part)
            cur = None
        prev = part
    return tuple(out)


def _message(err: dict, loc: tuple = (), data=None, flow: frozenset | set = frozenset()) -> str:
    """The user's message for one pydantic error at the cleaned location ``loc``."""
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; " + (_fragment_hint(loc, data, flow)
                                    or "check its spelling against `surveykit schema`")
    if kind == "union_tag_invalid":
        found = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else None
        return f"unknown question type {found!r}; use one of {_TYPES_TEXT}"
    if kind == "union_tag_not_found":
        return f"question has no 'type'; use one of {_TYPES_TEXT}"
    if loc[-2:] == ("roles", "respondent_id") and kind in ("string_too_short",
                                                             "string_pattern_mismatch"):
        return (f"must name the id column of the responses (e.g. resp_id), not "
                f"{err.get('input')!r}: write the column name, without spaces at either end, "
                "or leave the key out for the default resp_id")
    if kind == "string_pattern_mismatch":
        extra = " . -" if err["loc"] == ("id",) else ""
        return (f"{err.get('input')!r} is not a valid id; ids start with a letter and use "
                f"only letters, digits and _{extra}")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else kind


def _fragment_hint(loc: tuple, data, flow) -> str:
    """Hint for an unknown key that is a piece of text cut at an unquoted comma.

    ``{text: price, level paid}`` reads as ``text: price`` plus a key ``level paid`` with no
    value. A key with a space in it, or with no value, is taken for such a fragment; the
    hint rebuilds the text from the value before it (and any fragments around it).
    """
    if not loc or not isinstance(loc[-1], str):
        return ""
    key, parent = loc[-1], data
    for part in loc[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return ""
    if not isinstance(parent, dict) or key not in parent:
        return ""
    if " " not in key.strip() and parent[key] is not None:
        return ""
    keys = list(parent)
    i = j = keys.index(key)
    while i > 0 and parent[keys[i - 1]] is None and isinstance(keys[i - 1], str):
        i -= 1  # earlier fragments of the same text
    while j + 1 < len(keys) and parent[keys[j + 1]] is None and isinstance(keys[j + 1], str):
        j += 1  # later ones
    before = keys[i - 1] if i > 0 and isinstance(parent[keys[i - 1]], str) else None
    if before not in _TEXT_KEYS:  # a fragment follows text, not an id or a type
        before = None
    if loc[:-1] in flow and before is not None:
        text = ", ".join([parent[before], *keys[i:j + 1]])
        return (f"it looks like the rest of {before!r} cut off at a comma (inside {{...}} or "
                f"[...] a comma ends a value): quote the whole text: {before}: {_quoted(text)}")
    return ("it looks like a piece of text, not a field name: quote the text it belongs to, "
            f"e.g. text: {_quoted('..., ' + key)} (unquoted, a comma inside {{...}} or [...] "
            "ends the value)")


def _schema_problems(exc: ValidationError, data, prefix: tuple, source, line_of,
                     flow: set | None = None) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = _clean_loc((*prefix, *err["loc"]), data)
        problems.append(Problem(_message(err, loc, data, flow or set()), path=format_path(loc),
                                line=line_of(loc), file=source))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


