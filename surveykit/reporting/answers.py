"""Sections built from answer shares: pain points, channels and sources, value and lifecycle.

A mixin of :class:`surveykit.reporting.findings.SegmentFindings`: every table is the share
choosing each answer in the segment against the total (:func:`surveykit.estimates.estimate`)
with the test against the rest of the sample (:func:`surveykit.estimates.compare`).
Differences are shown as the segment share as shown minus the total share as shown, and
the significant ones are named largest first; a chart shows the top answers of each
question on one 0-100% axis; long tables fold their other rows into a closed block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._util import lower_first
from .names import value_text
from .narrative import fmt_diff, fmt_p, fmt_value, join_words, low_base_phrase, upper_first
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import Section, comparison_columns, fold

__all__ = ["AnswerSections", "pick_quotes"]

#: answers that say nothing ("Nothing special to add.", "n/a", "-")
_EMPTY = re.compile(r"^\W*(nothing|none|no comments?|n/?a|nope|nil|not really|no|nothing "
                    r"special|nothing to add)\b", re.I)
_STOP = {"and", "the", "for", "too", "not", "all", "are", "with", "from", "that", "this",
         "after", "more", "very", "than", "other", "nothing", "particular", "does", "what",
         "your", "you", "our", "its", "was", "has", "have", "been", "any", "much", "many"}


def _words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[^\W\d_]{3,}", str(text).lower()) if w not in _STOP}


def pick_quotes(answers: Sequence[str], topic: str, k: int = 3) -> tuple[list[str], int]:
    """Up to ``k`` distinct comments: those that mention ``topic``'s words first (most
    words in common, then longest), then the longest others; answers that say nothing
    ("Nothing special to add.") never. Returns the quotes and how many mention the topic.

    Examples
    --------
    >>> pick_quotes(["Nothing special to add.", "Service took three days to reply.",
    ...              "Battery drains far too fast, always.", "ok"], "Slow after-sales service")
    (['Service took three days to reply.', 'Battery drains far too fast, always.'], 1)
    """
    seen, pool = set(), []
    for a in answers:
        a = str(a).strip()
        if len(a) < 4 or _EMPTY.match(a) or a.lower() in seen:
            continue
        seen.add(a.lower())
        pool.append(a)
    want = _words(topic)
    scored = sorted(((len(want & _words(a)), len(a), i) for i, a in enumerate(pool)),
                    key=lambda x: (-x[0], -x[1], x[2]))
    chosen = [pool[i] for _, _, i in scored[:k]]
    return chosen, sum(1 for s, _, _ in scored[:k] if s > 0)


def coded_open_question(q, df: pd.DataFrame, qid: str):
    """Open question ``qid`` of ``df`` coded into themes (:class:`surveykit.text.CodedText`)
    when a codeframe beside the questionnaire (``<name>.codeframe.yaml``) codes it, else
    None."""
    source = getattr(q, "source", None)
    if not source or qid not in df.columns:
        return None
    from ..text import code_text, codeframe_path, load_codeframe

    path = codeframe_path(source)
    if not path.is_file():
        return None
    cf = load_codeframe(path)
    return code_text(df, qid, cf) if qid in cf.model.questions else None


class AnswerSections:
    """Pain points, channels and information sources, value tier and lifecycle.

    Expects the attributes and helpers of ``SegmentFindings`` (``df``, ``q``, ``mask``,
    ``label``, ``spec``, ``_estimate``, ``_compare``, ...).
    """

    # -- 5. pain points -----------------------------------------------------------------------
    def _option_table(self, qids: Sequence[str]) -> pd.DataFrame:
        """Share choosing each option of multi / single questions: segment vs total."""
        rows = []
        for qid in qids:
            cols = self._columns_of(qid)
            if not cols:
                continue
            if self._is_multi(qid):
                rows.extend(self._multi_rows(
                    qid, cols, {c: self._var_label(c).split(": ", 1)[-1] for c in cols}))
            else:
                rows.extend(self._category_rows(cols[0], question=qid))
        t = pd.DataFrame(rows)
        return t.sort_values("estimate", ascending=False, kind="stable") if not t.empty else t

    def _is_multi(self, qid: str) -> bool:
        try:
            return self.q.question(qid).type == "multi"
        except KeyError:
            return False

    def _single_columns(self) -> list[str]:
        """The single-coded columns whose categories a page tests one by one
        (:meth:`_category_rows`): the profile, single-choice pain-point, channel and
        source questions, value tier and lifecycle."""
        out = [v for v in self.spec.profile if v in self.df.columns]
        for qid in [*self.spec.pain_points, *self.spec.channels, *self.spec.sources]:
            cols = self._columns_of(qid)
            if cols and not self._is_multi(qid):
                out.append(cols[0])
        out += [c for c in (self.spec.value_tier, self.spec.lifecycle)
                if c and c in self.df.columns]
        return list(dict.fromkeys(out))

    def _category_tests(self, var: str) -> None:
        """Run the test of each category of ``var`` against the rest that some segment's
        page runs (a segment base of at least the minimum): in preparation, so that
        every page finds its tests in the shared results (:func:`.shared.prepare_shared`)."""
        every = self._estimate(var, stat="proportion", by=self.segment_by)
        if "category" not in every:
            return
        tested = every.loc[every["n"] >= self.min_base, "category"]
        for cat in pd.unique(tested.to_numpy(dtype=object)):
            try:
                self._compare(var, stat="proportion", codes=[cat])
            except _EXPECTED:
                continue

    def _multi_rows(self, qid: str, cols: list[str], labels: dict, data=None) -> list[dict]:
        """One row per 0/1 column of a multi-response question (or of coded themes in
        ``data``): the segment's share, the total's and the test against the rest."""
        try:
            seg = self._estimate(cols, stat="proportion", by=self.segment_by, data=data)
            tot = self._estimate(cols, stat="proportion", data=data)
            cmp_ = (None if self.low_base else
                    self._compare(cols, stat="proportion", data=data))
        except _EXPECTED:
            return []
        seg = seg[self._mine(seg)]
        total = dict(zip(tot["variable"].tolist(), tot["estimate"].to_numpy(), strict=True))
        tests = self._tests(cmp_)
        return [self._option_row(qid, labels[v], est, n, total[v], tests.get(v),
                                 exclusive=self._is_exclusive(qid, v))
                for v, est, n in zip(seg["variable"].tolist(), seg["estimate"].to_numpy(),
                                     seg["n"].to_numpy(), strict=True)]

    def _themes(self, qid: str):
        """The coded answers of open question ``qid`` (:func:`coded_open_question`), coded
        once per report and cached."""
        key = f"themes:{qid}"
        if key not in self._cache:
            # coded once per run (.shared): the codeframe and the theme columns
            found = self.shared.get(self._page_key("themes", qid),
                                    lambda: self._code_themes(qid))
            coded = None
            if found is not None:
                from ..text.coding import CodedText

                cf, cols, info = found
                coded = CodedText(self._tag(self.df.assign(**{c: cols[c].to_numpy()
                                                               for c in cols.columns}),
                                            f"themes:{qid}"),
                                  pd.DataFrame(), cf, qid, *info)
            self._cache[key] = coded
        return self._cache[key]

    def _code_themes(self, qid: str):
        """``(codeframe, theme columns, (language, n_missing, n_distinct))`` of open
        question ``qid`` (:func:`coded_open_question`), or None when no codeframe codes
        it."""
        coded = coded_open_question(self.q, self.df, qid)
        if coded is None:
            return None
        new = [c for c in coded.data.columns if c not in self.df.columns]
        return (coded.codeframe, coded.data[new],
                (coded.language, coded.n_missing, coded.n_distinct))

    def _coding_notes_once(self) -> tuple[list[str], list[str]]:
        """:meth:`coding_notes`, computed once per run (.shared): the human coding sheet
        is read where the run was prepared (a Dask worker has no copy of it)."""
        return self.shared.get(self._page_key("coding_notes", self.spec.open_text),
                               self.coding_notes)

    def coding_notes(self) -> tuple[list[str], list[str]]:
        """The method note's sentences on coded open questions: (plain notes, technical
        detail): which codeframe coded what, and how far its rules agree with a person's
        coding (the codeframe's ``human_coding`` sheet), or that they were not checked."""
        notes, technical = [], []
        for qid in self.spec.open_text:
            coded = self._themes(qid) if qid in self.df.columns else None
            if coded is None:
                continue
            cf = coded.codeframe
            langs = join_words([{"en": "English", "zh": "Chinese"}.get(x, x)
                                for x in cf.languages])
            said = (f"Answers to '{self._var_label(qid)}' were sorted into "
                    f"{len(cf.theme_ids)} themes by the word rules of codeframe '{cf.id}' "
                    f"({langs})")
            sheet = cf.human_coding_path
            if sheet is None:
                notes.append(said + "; the rules have not been checked against a person's "
                             "coding.")
                technical.append(
                    f"To check codeframe '{cf.id}': export a sample with "
                    "surveykit.text.export_coding_sheet, have it ticked by a person, and name "
                    "the sheet as human_coding in the codeframe; the method note then states "
                    "the agreement.")
                continue
            from ..text import sheet_agreement

            agreed = sheet_agreement(cf, sheet)
            a = agreed.to_frame().set_index("code")
            kappas = a.drop(index="overall")["kappa"].dropna()
            notes.append(
                said + f"; on {agreed.n_rows:,} answers that a person also coded "
                f"({sheet.name}), the rules agree with Krippendorff's alpha "
                f"{a.loc['overall', 'alpha']:.2f}"
                + (f" (Cohen's kappa per code from {kappas.min():.2f} to {kappas.max():.2f})"
                   if len(kappas) else "") + ".")
        return notes, technical

    def _theme_section(self, s: Section, qid: str, quotes: int) -> bool:
        """Coded themes of open question ``qid`` in section ``s``: shares vs total with
        tests, a sentence from that table, and the most typical (masked) quotes of the top
        themes. False when the question has no codeframe."""
        coded = self._themes(qid)
        if coded is None:
            return False
        from ..text import typical_quotes

        cf, cols = coded.codeframe, coded.theme_columns
        labels = {coded.columns[t]: cf.label(t) for t in cf.theme_ids}
        t = pd.DataFrame(self._multi_rows(qid, cols, labels, data=coded.data))
        label = self._var_label(qid)
        if t.empty:
            return False
        t = t.sort_values("estimate", ascending=False, kind="stable")
        s.findings.extend(self._option_findings(
            t, "themes", who=f"in {lower_first(label)} among {self.name.people} who commented"))
        frame, suffix = self._option_display(t, polarity=-1)
        s.tables.append((f"Themes in '{label}': % of those who commented, highest first"
                         + suffix, frame))
        seg_data = coded.data.loc[self.mask, [qid, *cols]]     # (what the quotes read)
        col_of = {lab: c for c, lab in labels.items()}
        for _, r in t[t["estimate"] > 0].head(quotes).iterrows():   # one per top theme
            q = typical_quotes(seg_data, qid, col_of[r["option_raw"]], n=1)
            s.quotes.extend(f"[{r['option']}] {text}" for text in q["quote"].tolist())
        if s.quotes:
            s.quotes_label = ("In their own words: the most typical comments of the top "
                              "themes (verbatim; e-mails, phone numbers and long numbers "
                              "masked):")
        s.notes.append(f"Themes coded by the rules of codeframe '{cf.model.id}' "
                       f"({len(cols)} themes); shares are of the respondents who answered "
                       f"'{label}', and one comment can carry several themes.")
        self._cache.setdefault("theme_tables", {})[qid] = t
        return True

    def _category_rows(self, var: str, *, question: str) -> list[dict]:
        """One row per category of single-coded ``var``: segment share, total share and,
        where the cell's base reaches the minimum, the test against the rest."""
        try:
            seg = self._estimate(var, stat="proportion", by=self.segment_by)
            tot = self._estimate(var, stat="proportion")
        except _EXPECTED:
            return []
        if "category" not in seg:
            return []
        seg = seg[self._mine(seg)]
        total: dict = {}
        for cat, est in zip(tot["category"].tolist(), tot["estimate"].to_numpy(), strict=True):
            total.setdefault(value_text(cat), est)
        rows = []
        for cat, est, n in zip(seg["category"].to_numpy(dtype=object),
                               seg["estimate"].to_numpy(), seg["n"].to_numpy(), strict=True):
            c = None
            if not self.low_base and n >= self.min_base:
                try:
                    c = self._row(self._compare(var, stat="proportion", codes=[cat]))
                except _EXPECTED:
                    c = None
            rows.append(self._option_row(
                question, self._cat_label(var, cat), est, n,
                total.get(value_text(cat), np.nan),
                None if c is None else (float(c["p_value"]), bool(c["significant"]))))
        return rows

    def _is_exclusive(self, qid: str, column: str) -> bool:
        try:
            opts = self.q.question(qid).options or []
        except (KeyError, AttributeError):
            return False
        return any(f"{qid}_{o.code}" == column and o.exclusive for o in opts)

    def _option_row(self, qid, label, estimate, n, total, test, *,
                    exclusive: bool = False) -> dict:
        """One row of an option table: ``test`` is ``(p_value, significant)`` of the test
        against the rest of the sample, or None (not tested)."""
        return {"question": qid, "question_label": self._var_label(qid)
                if qid in self.df.columns else self.q.question(qid).short_label,
                "option": upper_first(label), "option_raw": label, "exclusive": exclusive,
                "estimate": float(estimate), "n": int(n),
                "total": float(total), "difference": float(estimate) - float(total),
                "p_value": np.nan if test is None else test[0],
                "significant": False if test is None else test[1]}

    def _option_findings(self, t: pd.DataFrame, what: str, *, who: str | None = None
                         ) -> list[str]:
        out = []
        if t.empty:
            return [f"No {what} data are available for this segment."]
        base = int(t["n"].max())
        top = t[~t["exclusive"]].head(3) if "exclusive" in t else t.head(3)
        if top.empty:
            top = t.head(3)
        who = who or self.name.among
        out.append(f"The most frequent {what} {who} are "
                   + join_words([f"{lower_first(r['option'])} "
                                 f"({fmt_value(r['estimate'], 'percent')} vs "
                                 f"{fmt_value(r['total'], 'percent')} in total)"
                                 for _, r in top.iterrows()])
                   + f" (base n = {base:,}"
                   + (f"; {low_base_phrase(base, self.min_base)})." if base < self.min_base
                      else ")."))
        sig = self._gaps(t, "percent")
        if base >= self.min_base and not self.low_base:
            if len(sig):
                more = len(sig) > 4
                out.append(f"{len(sig)} of {len(t)} answers "
                           f"{'differs' if len(sig) == 1 else 'differ'} significantly from the "
                           f"rest of the sample{', the largest gaps' if more else ''}: "
                           + join_words([f"{lower_first(r['option'])} "
                                         f"({'more' if r['difference'] > 0 else 'less'} often, "
                                         f"{fmt_diff(r['shown_diff'], 'percent')}, "
                                         f"{fmt_p(r['p_value'])})"
                                         for _, r in sig.head(4).iterrows()]) + ".")
            else:
                out.append("None of these differs significantly from the rest of the sample.")
        return out

    def _option_display(self, t: pd.DataFrame, *, polarity=0) -> tuple[pd.DataFrame, str]:
        """The display table of an option table, and a caption suffix: the question column
        only when the table holds several questions, the base in the caption when every row
        has the same one; the top and significant rows shown, the rest folded."""
        columns = {
            "Answer": t["option"].tolist(),
            "Question": t["question_label"].tolist(),
            "Segment": [fmt_value(v, "percent") for v in t["estimate"]],
            **comparison_columns(t, "percent", self.min_base, polarity=polarity,
                                 unit=False)}
        suffix = ""
        if len(set(columns["Question"])) <= 1:
            del columns["Question"]
        bases = t["n"].tolist()
        if len(set(bases)) == 1:
            del columns["n"]
            suffix = f", base n = {int(bases[0]):,}"
        frame = pd.DataFrame(columns, dtype=object)
        show = (np.arange(len(t)) < 5) | t["significant"].astype(bool).to_numpy()
        fold(frame, show, what="answers (less frequent, not significantly different)")
        return frame, suffix

    def _pain_polarity(self, t: pd.DataFrame) -> list[int]:
        """Mentioning a pain point more often is worse; "nothing in particular" is better."""
        return [1 if ex else -1 for ex in t["exclusive"]]

    def pain_points(self, *, quotes: int = 3) -> Section:
        """Pain points ranked, vs the total, with a chart and a few comments chosen to
        illustrate the most common pain point (escaped)."""
        s = Section("pain_points", "Pain points")
        order = self._pain_questions()
        t = self._cache.get("pain")
        if t is None:   # (the summary may have built it already)
            t = self._option_table(order)
        for i, qid in enumerate(order):
            sub = t[t["question"] == qid] if not t.empty else t
            if sub.empty:
                continue
            qlabel = sub["question_label"].iloc[0]
            asked = self._routed(qid)
            if i == 0 and not asked:
                s.findings.extend(self._option_findings(sub, "pain points")[:2])
            else:
                base = int(sub["n"].max())
                top = sub[~sub["exclusive"]].head(3)
                s.findings.append(
                    f"{qlabel} ({'asked only where relevant, ' if asked else ''}base n = "
                    f"{base:,}"
                    + (f"; {low_base_phrase(base, self.min_base)}" if base < self.min_base
                       else "")
                    + "): most often "
                    + join_words([f"{lower_first(r['option'])} "
                                  f"({fmt_value(r['estimate'], 'percent')} vs "
                                  f"{fmt_value(r['total'], 'percent')} in total)"
                                  for _, r in top.iterrows()]) + ".")
            frame, suffix = self._option_display(sub, polarity=self._pain_polarity(sub))
            s.tables.append((f"{qlabel}: % mentioning, highest first"
                             + (" (asked only where relevant)" if asked else "") + suffix,
                             frame))
            if i == 0:
                try:
                    from .. import charts

                    main = sub[~sub["exclusive"]].head(10)
                    s.figures.append(charts.share_chart(
                        main, label="option", polarity=-1,
                        title=f"{qlabel}: {self.label} vs total (% mentioning)"))
                except Exception:  # noqa: BLE001 - a chart never stops the report
                    pass
        top_pain = self._top_pain() if not t.empty else None
        for qid in self.spec.open_text:
            if qid not in self.df.columns or self._theme_section(s, qid, quotes):
                continue
            answers = self.df.loc[self.mask, qid].dropna().astype(str).str.strip()
            answers = answers[answers != ""]
            if not len(answers):
                continue
            topic = top_pain[0]["option"] if top_pain is not None else ""
            shown, hits = pick_quotes(answers.tolist(), topic, quotes)
            if not shown:
                continue
            from ..text import mask_personal_data

            s.quotes.extend(mask_personal_data(q) for q in shown)
            label = self._var_label(qid)
            if topic and hits:
                s.quotes_label = (f"In their own words: comments on the top pain point, "
                                  f"{lower_first(topic)} (verbatim, unedited):")
                how = (f"{hits} of the {len(shown)} shown mention{'s' if hits == 1 else ''} "
                       f"the top pain point ({lower_first(topic)})"
                       + ("; the others are the longest other comments." if hits < len(shown)
                          else "."))
            else:
                s.quotes_label = "In their own words (verbatim, unedited):"
                how = ("none mentions the top pain point"
                       + (f" ({lower_first(topic)})" if topic else "")
                       + f", so the {len(shown)} longest different comments are shown.")
            s.notes.append(f"{len(answers):,} of {self.n:,} respondents in the segment "
                           f"answered '{label}'; {how}")
        if not s.findings and s.quotes:
            s.findings.extend(s.notes)
            s.notes.clear()
        s.data["table"] = t
        self._cache["pain"] = t
        return s

    def _routed(self, qid: str) -> bool:
        try:
            return bool(self.q.question(qid).ask_if)
        except KeyError:
            return False

    def _pain_questions(self) -> list[str]:
        """Pain-point questions, those asked of everyone first (questionnaire order kept)."""
        return sorted(self.spec.pain_points, key=self._routed)

    # -- 6. channels and sources ------------------------------------------------------------
    def channels(self) -> Section:
        """Purchase channels and information sources, vs the total, with a chart each."""
        s = Section("channels", "Channels and information sources")
        ch = self._option_table(self.spec.channels)
        src = self._option_table(self.spec.sources)
        for t, what, k in ((ch, "channels", 2), (src, "information sources", 1)):
            if t.empty:
                continue
            s.findings.extend(self._option_findings(t, what)[:k])
            caption = join_words(list(dict.fromkeys(t["question_label"])))
            frame, suffix = self._option_display(t)
            s.tables.append((caption + suffix, frame))
            try:
                from .. import charts

                s.figures.append(charts.share_chart(
                    t.head(10), label="option", polarity=0,
                    title=f"{upper_first(caption)}: {self.label} vs total"))
            except Exception:  # noqa: BLE001 - a chart never stops the report
                pass
        if ch.empty and src.empty:
            s.findings.append("The questionnaire has no channel or information-source "
                              "questions.")
        return s

    # -- 7. value tier and lifecycle -------------------------------------------------------------
    def value_lifecycle(self) -> Section:
        """Value tier and lifecycle mix (CRM data), vs the total."""
        s = Section("value_lifecycle", "Value tier and lifecycle")
        cols = [c for c in (self.spec.value_tier, self.spec.lifecycle)
                if c and c in self.df.columns]
        if not cols:
            s.findings.append("No CRM data were joined for this run, so value tier and "
                              "lifecycle mix are not shown (run with --crm to add them).")
            return s
        rows = [row for col in cols for row in self._category_rows(col, question=col)]
        t = pd.DataFrame(rows)
        for col in cols:
            sub = t[t["question"] == col] if not t.empty else t
            if not sub.empty:
                s.findings.extend(self._option_findings(
                    sub.sort_values("estimate", ascending=False, kind="stable"),
                    lower_first(self._var_label(col)) + " groups")[:2])
        if not t.empty:
            frame, suffix = self._option_display(t)
            frame.attrs.pop("show", None)   # a mix reads whole: no rows folded away
            s.tables.append(("Value tier and lifecycle stage (CRM)" + suffix, frame))
        s.notes.extend(n for n in (self.survey.meta or {}).get("crm_notes", [])
                       if n.startswith("lifecycle stages as of"))
        return s
