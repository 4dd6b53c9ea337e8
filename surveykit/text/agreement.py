"""Agreement between the automatic coding and a human coder.

Cohen's kappa per theme (chance-corrected agreement of two coders on one yes/no code) and
Krippendorff's alpha for nominal data, per theme and overall (every answer x theme decision
pooled as one unit). Kappa matches scikit-learn's ``cohen_kappa_score``; alpha follows
Krippendorff (2011), "Computing Krippendorff's alpha-reliability", with the coincidence
matrix of pairable values (units with fewer than two values left out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util import short_repr
from ..errors import TextError

__all__ = ["sheet_agreement", "agreement", "Agreement", "cohen_kappa", "krippendorff_alpha"]


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two coders' codes of the same units (NaN pairs left out).

    ``(p_o - p_e) / (1 - p_e)``, with ``p_o`` the share of units coded alike and ``p_e`` the
    agreement expected from each coder's own shares; NaN when ``p_e`` is 1 (both coders gave
    every unit the same code).

    Examples
    --------
    >>> round(cohen_kappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]), 4)
    0.3333
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if not len(a):
        return float("nan")
    cats = np.union1d(a, b)
    p_o = float(np.mean(a == b))
    p_e = float(sum(np.mean(a == c) * np.mean(b == c) for c in cats))
    return float("nan") if np.isclose(p_e, 1.0) else (p_o - p_e) / (1 - p_e)


def krippendorff_alpha(data) -> float:
    """Krippendorff's alpha for nominal data.

    Parameters
    ----------
    data : array-like (coders x units)
        Codes; NaN where a coder did not code a unit.

    Returns
    -------
    float
        ``1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k``, from the coincidence matrix
        ``o`` of the pairable values (units coded by at least two coders), ``n_c`` its margins
        and ``n`` their sum. NaN when there is no variation (every value the same).

    Examples
    --------
    Krippendorff's (2011) nominal example, four coders and twelve units, alpha = 0.743:

    >>> nan = float("nan")
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    x = np.asarray(data, dtype=float)
    if x.ndim != 2:
        raise TextError("data must be a coders x units table")
    cats = np.unique(x[np.isfinite(x)])
    if len(cats) < 2:
        return float("nan")
    # counts[u, c]: how many coders gave unit u the value c
    counts = np.stack([(x == c).sum(axis=0) for c in cats], axis=1).astype(float)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    o = (counts[:, :, None] * counts[:, None, :]
         - np.einsum("uc,ck->uck", counts, np.eye(len(cats))))
    o = (o / (m - 1)[:, None, None]).sum(axis=0)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    off = ~np.eye(len(cats), dtype=bool)
    expected = (np.outer(n_c, n_c)[off]).sum()
    return float(1 - (n - 1) * o[off].sum() / expected) if expected > 0 else float("nan")


class Agreement:
    """The result of :func:`agreement`.

    ``to_frame()``: one row per code (``code, n, auto_yes, human_yes, both_yes, agreement,
    kappa, alpha``) and a last row ``overall`` (alpha over every answer x code decision,
    kappa as the mean of the codes' kappas).
    """

    def __init__(self, table: pd.DataFrame, n_rows: int, left_out: dict):
        self.table, self.n_rows, self.left_out = table, n_rows, left_out

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def alpha(self) -> float:
        return float(self.table.loc[self.table["code"] == "overall", "alpha"].iloc[0])

    def summary(self) -> str:
        t = self.table[self.table["code"] != "overall"]
        low = t[t["kappa"] < 0.6].sort_values("kappa")
        parts = [f"Agreement of automatic and human coding on {self.n_rows:,} answers and "
                 f"{len(t)} codes: Krippendorff's alpha (nominal, all decisions) "
                 f"{self.alpha:.3f}; Cohen's kappa per code from {t['kappa'].min():.2f} to "
                 f"{t['kappa'].max():.2f}."]
        if len(low):
            parts.append("Codes below 0.6 (review their rules): " + ", ".join(
                f"{r.code} ({r.kappa:.2f})" for r in low.itertuples()) + ".")
        for what, items in self.left_out.items():
            if items:
                parts.append(f"Left out: {len(items):,} {what}.")
        return " ".join(parts)

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.table.to_html(index=False,
                                                               float_format="{:.3f}".format)

    def __repr__(self) -> str:
        return short_repr(self)


def agreement(auto, human: pd.DataFrame, *, columns: list[str] | None = None) -> Agreement:
    """Cohen's kappa per code and Krippendorff's alpha overall, automatic vs human coding.

    Parameters
    ----------
    auto : DataFrame or CodedText
        The automatic coding (0/1 columns ``{question}_{code}``), e.g. ``code_text(...)``.
    human : DataFrame
        The human coding of some of the same rows (same index labels, same columns), e.g.
        from :func:`surveykit.text.read_coding_sheet`; NaN rows (not coded yet) are left out.
    columns : list of str, optional
        The codes' columns to compare (default: every column of ``human`` that ``auto`` has).

    Returns
    -------
    Agreement

    Examples
    --------
    >>> auto = pd.DataFrame({"q_a": [1, 0, 1, 0, 1.0], "q_b": [0, 0, 1, 1, 0.0]})
    >>> human = pd.DataFrame({"q_a": [1, 0, 1, 1, 1.0], "q_b": [0, 0, 1, 1, 0.0]})
    >>> agreement(auto, human).to_frame()[["code", "kappa", "alpha"]].round(3)
          code  kappa  alpha
    0      q_a  0.545  0.571
    1      q_b  1.000  1.000
    2  overall  0.773  0.808
    """
    data = getattr(auto, "data", auto)
    if not isinstance(data, pd.DataFrame) or not isinstance(human, pd.DataFrame):
        raise TextError("auto and human must be DataFrames (or auto a CodedText)")
    cols = list(columns) if columns is not None else [c for c in human.columns
                                                      if c in data.columns]
    missing = [c for c in cols if c not in data.columns or c not in human.columns]
    if missing or not cols:
        raise TextError(f"no common code columns to compare ({', '.join(map(repr, missing))} "
                        "missing); the human sheet and the coding must use the same "
                        "{question}_{code} columns")
    unknown = human.index.difference(data.index)
    rows = human.index.intersection(data.index)
    a = data.loc[rows, cols].apply(pd.to_numeric, errors="coerce")
    h = human.loc[rows, cols].apply(pd.to_numeric, errors="coerce")
    both = a.notna().all(axis=1) & h.notna().all(axis=1)
    left_out = {"rows of the human sheet not in the data": list(unknown),
                "rows not coded by both": list(rows[~both.to_numpy()])}
    a, h = a[both], h[both]
    if a.empty:
        raise TextError("no row is coded by both; check that the sheet's row ids are the "
                        "data's index labels and that the sheet is filled in")
    out = []
    for c in cols:
        x, y = a[c].to_numpy(), h[c].to_numpy()
        out.append({"code": c, "n": len(x), "auto_yes": int((x == 1).sum()),
                    "human_yes": int((y == 1).sum()), "both_yes": int(((x == 1) & (y == 1))
                                                                      .sum()),
                    "agreement": float((x == y).mean()), "kappa": cohen_kappa(x, y),
                    "alpha": krippendorff_alpha(np.vstack([x, y]))})
    pooled = np.vstack([a.to_numpy().ravel(), h.to_numpy().ravel()])
    out.append({"code": "overall", "n": int(pooled.shape[1]),
                "auto_yes": int((pooled[0] == 1).sum()), "human_yes": int((pooled[1] == 1)
                                                                          .sum()),
                "both_yes": int(((pooled[0] == 1) & (pooled[1] == 1)).sum()),
                "agreement": float((pooled[0] == pooled[1]).mean()),
                "kappa": float(np.nanmean([r["kappa"] for r in out])) if out else np.nan,
                "alpha": krippendorff_alpha(pooled)})
    return Agreement(pd.DataFrame(out), int(both.sum()), left_out)


def sheet_agreement(codeframe, path=None) -> Agreement:
    """How far the codeframe's automatic coding agrees with a person's coding sheet.

    The answers on the sheet (as the coder saw them) are coded by ``codeframe`` and compared
    with the ticks, code by code, so the sheet needs no link to the data's rows.

    Parameters
    ----------
    codeframe : Codeframe
    path : str or path-like, optional
        The ticked sheet (default: the codeframe's ``human_coding``).

    Returns
    -------
    Agreement

    Examples
    --------
    A coder ticks "battery" on the first answer, "service" on the second (the rules say
    "price") and "no comment" on the third:

    >>> import tempfile
    >>> from openpyxl import load_workbook
    >>> from surveykit.text import export_coding_sheet, load_codeframe
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> d = pd.DataFrame({"pain_text": ["the battery dies", "too expensive", "nothing"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = export_coding_sheet(d, "pain_text", f"{tmp}/s.xlsx", coded=cf)
    ...     wb = load_workbook(p)
    ...     sheet = wb["coding"]
    ...     col = {c.value: c.column for c in sheet[1]}
    ...     for row, code in ((2, "battery"), (3, "service"), (4, "none")):
    ...         _ = sheet.cell(row, col[code], 1)
    ...     wb.save(p)
    ...     a = sheet_agreement(cf, p)
    >>> a.n_rows, round(a.alpha, 3)
    (3, 0.641)
    """
    from .coding import code_text
    from .sheets import read_coding_sheet

    path = codeframe.human_coding_path if path is None else path
    if path is None:
        raise TextError(f"codeframe {codeframe.id!r} names no human_coding sheet; pass path=")
    human = read_coding_sheet(path)
    question = human.attrs["question"]
    answers = pd.DataFrame({question: pd.Series(human.attrs["answers"], dtype=object)})
    auto = code_text(answers, question, codeframe)
    return agreement(auto, human.loc[answers.index])
