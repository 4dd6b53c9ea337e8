"""The XPath tree shared by both directions of :mod:`surveykit.questionnaire.xpath`: its
nodes, how a tree is written as XPath text, and what a translation knows of each name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Questionnaire


class XPathError(ValueError):
    """An expression that cannot be translated (the caller adds where it is)."""


# -- the XPath tree ------------------------------------------------------------------------
# Nodes are tuples:
#   ("or", [..]) ("and", [..]) ("cmp", op, l, r) ("arith", op, l, r) ("neg", x)
#   ("num", value) ("str", text) ("ref", name) ("path", text) ("call", name, [args])
TRUE = ("call", "true", [])
FALSE = ("call", "false", [])
BLANK = ("str", "")

_PREC = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
         "+": 5, "-": 5, "*": 6, "div": 6, "mod": 6}


def _prec(node) -> int:
    tag = node[0]
    if tag in ("or", "and"):
        return _PREC[tag]
    if tag in ("cmp", "arith"):
        return _PREC[node[1]]
    if tag == "neg":
        return 7
    return 8


def xpath_text(node) -> str:
    """The XPath text of a tree (parentheses only where precedence needs them).

    Examples
    --------
    >>> xpath_text(("and", [("cmp", ">=", ("ref", "a"), ("num", 1)),
    ...                     ("or", [("cmp", "=", ("ref", "b"), ("num", 2)), TRUE])]))
    '${a} >= 1 and (${b} = 2 or true())'
    """
    def wrap(child, need: int) -> str:
        text = xpath_text(child)
        return f"({text})" if _prec(child) < need else text

    tag = node[0]
    if tag in ("or", "and"):
        need = _PREC[tag] + 1
        return f" {tag} ".join(wrap(c, need) for c in node[1])
    if tag == "cmp":
        return f"{wrap(node[2], 5)} {node[1]} {wrap(node[3], 5)}"
    if tag == "arith":
        p = _PREC[node[1]]
        return f"{wrap(node[2], p)} {node[1]} {wrap(node[3], p + 1)}"
    if tag == "neg":
        return f"-{wrap(node[1], 7)}"
    if tag == "num":
        return _number_text(node[1])
    if tag == "str":
        return _string_text(node[1])
    if tag == "ref":
        return f"${{{node[1]}}}"
    if tag == "path":
        return node[1]
    if tag == "call":
        return f"{node[1]}({', '.join(xpath_text(a) for a in node[2])})"
    raise XPathError(f"unknown XPath node {tag!r}")


def _number_text(value) -> str:
    """XPath has no exponent notation: ``1e-05`` is written ``0.00001``."""
    if isinstance(value, bool):
        raise XPathError("true/false is not a number")
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, trim="-")


def _string_text(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


def _and(parts) -> tuple:
    """A conjunction, flattened and without repeated parts (``true()`` when empty)."""
    out, seen = [], set()
    for p in parts:
        for q in (p[1] if p[0] == "and" else [p]):
            key = xpath_text(q)
            if key not in seen and q != TRUE:
                seen.add(key)
                out.append(q)
    if any(q == FALSE for q in out):
        return FALSE
    return out[0] if len(out) == 1 else ("and", out) if out else TRUE


def _or(parts) -> tuple:
    out = []
    for p in parts:
        out.extend(p[1] if p[0] == "or" else [p])
    out = [p for p in out if p != FALSE]
    if any(p == TRUE for p in out):
        return TRUE
    return out[0] if len(out) == 1 else ("or", out) if out else FALSE


def _literal(value) -> tuple:
    return ("str", value) if isinstance(value, str) else ("num", value)


_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class _Name:
    """What the translation needs to know about a name read by an expression."""

    name: str
    kind: str  # a Variable kind, or a question type for question ids (multi, grid, rank)
    missing: tuple = ()  # declared missing codes
    text: bool = False  # compared as text
    question: str | None = None  # the multi/rank question of an option column
    code: object = None  # the option code of an option column
    items: tuple = ()  # a grid's item ids


def _names(q: Questionnaire) -> dict[str, _Name]:
    out: dict[str, _Name] = {}
    for v in q.variables().values():
        if v.kind == "multi_option" or v.kind == "rank_option":
            qid = v.question
            code = next(o.code for o in q.question(qid).options if f"{qid}_{o.code}" == v.name)
            out[v.name] = _Name(v.name, v.kind, question=qid, code=code)
        else:
            out[v.name] = _Name(v.name, v.kind, tuple(v.missing_codes), not v.numeric)
    for question in q.questions:
        if question.type in ("multi", "rank"):
            out[question.id] = _Name(question.id, question.type)
        elif question.type == "grid":
            out[question.id] = _Name(question.id, "grid",
                                     items=tuple(i.id for i in question.items))
    return out


def names_in(q: Questionnaire) -> dict:
    """The names an expression of ``q`` may read, as the translation sees them."""
    return _names(q)
