"""The questions of an XLSForm, field by field: how
:func:`~surveykit.questionnaire.xlsform.from_xlsform` turns a survey row (select, numeric,
text, grid group, other-specify, required, constraint) into a surveykit question. A part of
its reader (``_Reader``)."""

from __future__ import annotations

import re

from ._xlsform_book import _YES, META_TYPES, MISSING_KINDS, _code, _Node, _norm_type
from ._xlsform_sheets import PII, RANK_MAX, REVERSE, SCALE, SHORT, TYPE, UNIT
from ._xpath_read import parse_xpath
from ._xpath_tree import XPathError, xpath_text


class _Fields:
    """The reader's methods for single fields and grid groups (mixed into ``_Reader``)."""

    def entry(self, q: dict, row: dict, r: int, relevants: list, name: str) -> dict:
        if SHORT in row:
            q["label"] = row[SHORT]
        hint = self.hint(row)
        if hint:
            q["instruction"] = hint
        own = [(row["relevant"], r)] if row.get("relevant") else []
        e = {"q": q, "relevants": relevants + own, "row": r, "name": name}
        self.entries.append(e)
        return e

    def required(self, q: dict, row: dict) -> None:
        if row.get("required", "").lower() not in _YES:
            q["required"] = False
        if row.get(PII, "").lower() in _YES:
            q["pii"] = True

    def options(self, list_name: str, qname: str, r: int):
        rows = self.lists.get(list_name)
        if rows is None:
            self.notes.append(f"question {qname!r} (survey row {r}) not carried over: its "
                              f"choice list {list_name!r} is not on the choices sheet")
        return rows

    def missing_of(self, rows: list[dict], where: str) -> list[dict]:
        out = []
        for c in rows:
            kind = c["missing"] or "dont_know"
            if kind not in MISSING_KINDS:
                self.notes.append(f"{where}: missing-code kind {kind!r} of code {c['code']!r} "
                                  f"is not one of {', '.join(MISSING_KINDS)}; dont_know used")
                kind = "dont_know"
            out.append({"code": c["code"], "label": c["label"], "kind": kind})
        return out

    def field(self, node: _Node, block, relevants: list) -> None:
        row, r = node.row, node.rownum
        t = _norm_type(row.get("type", ""))
        base, _, rest = t.partition(" ")
        name = row.get("name", "")
        stype = row.get(TYPE, "").lower()
        if base in META_TYPES:
            self.meta.append((base, r))
            return
        if base == "calculate":
            self.calcs.append((name, row.get("calculation", ""), r))
            return
        if stype == "customer_id":
            self.customer_id = name
            return
        if base == "note":
            self.notes.append(f"note {name!r} (survey row {r}) not carried over: it shows "
                              "text and asks nothing")
            return
        if base == "text" and self.other_text(name, row, r):
            return
        q = {"id": None, "block": block}
        if base in ("select_one", "select_multiple", "rank"):
            parts = rest.split()
            if not parts:
                self.notes.append(f"question {name!r} (survey row {r}) not carried over: "
                                  f"{base} without a choice list")
                return
            list_name = parts[0]
            if "or_other" in parts[1:]:
                self.notes.append(f"question {name!r} (survey row {r}): 'or_other' not "
                                  "carried over; add an option marked other: true")
            rows = self.options(list_name, name, r)
            if rows is None:
                return
            q["id"] = self.id_of(name, r)
            if not self.select(q, base, stype, list_name, rows, row, r):
                return
        elif base in ("integer", "decimal", "range"):
            q["id"] = self.id_of(name, r)
            q.update({"type": "numeric", "text": self.label(row) or name})
            self.numeric(q, base, row, r)
        elif base == "text":
            q["id"] = self.id_of(name, r)
            q.update({"type": "open", "text": self.label(row) or name})
        else:
            self.notes.append(f"question {name!r} (survey row {r}, type {base}) not carried "
                              f"over: surveykit has no {base} questions")
            return
        if q["block"] is None:
            del q["block"]
        self.required(q, row)
        self.entry(q, row, r, relevants, name)

    def select(self, q, base, stype, list_name, rows, row, r) -> bool:
        qid, text = q["id"], self.label(row) or row.get("name", "")
        where = f"question {qid!r}"
        valid = [c for c in rows if not c["missing"]]
        flagged = [c for c in rows if c["missing"]]
        plain = [{"code": c["code"], "label": c["label"]} for c in valid]
        if base == "select_one":
            likert = "likert" in row.get("appearance", "").lower()
            kind = stype if stype in ("single", "rating", "nps") else \
                "rating" if likert and list_name in self.scale_lists else "single"
            q.update({"type": kind, "text": text})
            if kind == "nps":
                q["type"] = "nps"
                extra = [c for c in rows if c["code"] not in range(11) or isinstance(
                    c["code"], str)]
                if extra:
                    q["missing"] = self.missing_of(extra, where)
                return True
            scale = row.get(SCALE) or (list_name if list_name in self.scale_lists
                                       or kind == "rating" else None)
            if scale is not None:
                self.scale_lists.add(scale)
                q["scale"] = scale
                if scale != list_name:
                    known = {c["code"] for c in self.lists.get(scale, [])}
                    extra = [c for c in rows if c["code"] not in known]
                    if extra and kind == "single":
                        q["missing"] = self.missing_of(extra, where)
                    elif extra:
                        self.notes.append(f"{where}: codes {[c['code'] for c in extra]} beyond "
                                          f"scale {scale!r} not carried over (a rating takes "
                                          "its scale's codes)")
                return True
            q["options"] = plain
            if flagged:
                q["missing"] = self.missing_of(flagged, where)
            return True
        q.update({"type": "multi" if base == "select_multiple" else "rank", "text": text,
                  "options": [{"code": c["code"], "label": c["label"]} for c in rows]})
        if flagged:
            self.notes.append(f"{where}: codes {[c['code'] for c in flagged]} marked missing "
                              f"are ordinary options of a {q['type']} question")
        if base == "select_multiple":
            self.multi_constraint(q, row.get("constraint", ""), row.get("name", ""), row)
        elif row.get(RANK_MAX):
            q["rank_max"] = int(float(row[RANK_MAX]))
        return True

    def numeric(self, q: dict, base: str, row: dict, r: int) -> None:
        if base == "range":
            params = dict(re.findall(r"(\w+)\s*=\s*([-\d.]+)", row.get("parameters", "")))
            lo, hi, step = (float(params.get(k, d)) for k, d in
                            (("start", 1), ("end", 10), ("step", 1)))
            q.update({"min": min(lo, hi), "max": max(lo, hi)})
            if all(float(v).is_integer() for v in (lo, hi, step)):
                q["integer"] = True
        elif base == "integer":
            q["integer"] = True
        text = row.get("constraint", "")
        if not text:
            if UNIT in row:
                q["unit"] = row[UNIT]
            return
        for part in self.conjuncts(text, q["id"]):
            op, left, right = (part[1], part[2], part[3]) if part[0] == "cmp" else (None,) * 3
            if right == ("path", ".") and left is not None and left[0] == "num":
                left, right = right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if left == ("path", ".") and right[0] == "num":
                v = float(right[1])
                if op == ">=" or (op == ">" and q.get("integer") and v.is_integer()):
                    q["min"] = v + (op == ">")
                    continue
                if op == "<=" or (op == "<" and q.get("integer") and v.is_integer()):
                    q["max"] = v - (op == "<")
                    continue
            self.notes.append(f"constraint {xpath_text(part)!r} of question {q['id']!r} not "
                              "carried over (surveykit keeps min and max)")
        if UNIT in row:
            q["unit"] = row[UNIT]

    def conjuncts(self, text: str, qid: str) -> list:
        try:
            tree = parse_xpath(text)
        except XPathError as exc:
            self.notes.append(f"constraint of question {qid!r} not carried over: {exc}")
            return []
        return tree[1] if tree[0] == "and" else [tree]

    def multi_constraint(self, q: dict, text: str, name: str, row: dict) -> None:
        if not text:
            return
        here, count = ("path", "."), ("call", "count-selected", [("path", ".")])
        for part in self.conjuncts(text, q["id"]):
            if part[0] == "cmp" and part[2] == count and part[3][0] == "num" \
                    and part[1] in ("<=", "<"):
                q["max_choices"] = int(part[3][1]) - (part[1] == "<")
                continue
            if part[0] == "call" and part[1] == "not" and part[2][0][0] == "and":
                inner = part[2][0][1]
                sel = [p for p in inner if p[0] == "call" and p[1] == "selected"
                       and p[2][0] == here]
                rest = [p for p in inner if p not in sel]
                if len(sel) == 1 and rest == [("cmp", ">", count, ("num", 1))]:
                    code = _code(str(sel[0][2][1][1]))
                    for o in q["options"]:
                        if o["code"] == code:
                            o["exclusive"] = True
                            break
                    else:
                        self.notes.append(f"question {q['id']!r}: exclusive code {code!r} is "
                                          "not one of its options")
                    continue
            self.notes.append(f"constraint {xpath_text(part)!r} of question {q['id']!r} not "
                              "carried over (surveykit keeps exclusive options and "
                              "max_choices)")

    def other_text(self, name: str, row: dict, r: int) -> bool:
        """A text row ``{q}_{code}_text`` after question q with option ``code``: q's
        other-specify column."""
        m = re.fullmatch(r"(.+)_([^_]+)_text", name)
        if not m:
            return False
        qid = self.rename.get(m.group(1))
        entry = next((e for e in reversed(self.entries) if e["q"]["id"] == qid), None)
        if entry is None or "options" not in entry["q"]:
            if row.get(TYPE, "").lower() == "other_text":
                self.notes.append(f"other-specify text {name!r} (survey row {r}) not carried "
                                  "over: its question has no option list of its own")
                return True
            return False
        code = _code(m.group(2))
        option = next((o for o in entry["q"]["options"] if o["code"] == code), None)
        if option is None:
            return False
        option["other"] = True
        self.taken.add(name)
        return True

    def grid(self, group: _Node, block, relevants: list) -> None:
        row, r = group.row, group.rownum
        kids = [c for c in group.children if c.row.get("appearance", "").lower() != "label"]
        list_name = _norm_type(kids[0].row["type"]).split()[1]
        if self.options(list_name, row.get("name", ""), r) is None:
            return
        self.scale_lists.add(list_name)
        q = {"id": self.id_of(row.get("name", "") or f"grid_{r}", r)}
        if block is not None:
            q["block"] = block
        q.update({"type": "grid", "text": self.label(row) or row.get("name", ""),
                  "scale": list_name, "items": []})
        required = []
        for c in kids:
            item = {"id": self.id_of(c.row.get("name", ""), c.rownum),
                    "text": self.label(c.row) or c.row.get("name", "")}
            if c.row.get(REVERSE, "").lower() in _YES:
                item["reverse"] = True
            q["items"].append(item)
            required.append(c.row.get("required", "").lower() in _YES)
            if c.row.get("relevant"):
                self.notes.append(f"relevant of grid item {item['id']!r} (survey row "
                                  f"{c.rownum}) not carried over: a grid is asked as a whole "
                                  "(its group's relevant is its ask_if)")
        if not all(required):
            q["required"] = False
            if any(required):
                self.notes.append(f"grid {q['id']!r}: some items required, some not; read "
                                  "as not required")
        if row.get(PII, "").lower() in _YES:
            q["pii"] = True
        self.entry(q, row, r, relevants, row.get("name", ""))

    # -- routing and derived variables
