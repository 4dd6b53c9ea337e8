"""Raking, post-stratification and trimming: the public calls and the raking engine.

Raking runs on the cell table of :mod:`.cells` (bounded iterative proportional fitting,
then Newton steps when the table is small); final weights are mapped back to the rows
with one gather. When raking does not converge, a linear program on the units says
whether the targets can be reached together (within the caps) at all.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._util import as_list, check_columns, resolve_weights
from ..errors import SurveykitWarning, WeightingError
from .cells import _build_design, _Design, _Margin
from .report import WeightingReport
from .targets import Margin, Targets, _check_total, _norm_key, _target_value, load_targets

MISSING_POLICIES = ("error", "exclude", "own_category")


# ----------------------------------------------------------------------------- raking
def _margin_targets(mg: _Margin, x: np.ndarray, m: np.ndarray, total: float) -> np.ndarray:
    if mg.scope is None:
        return mg.share * total
    return mg.share * float(np.dot(m[mg.scope], x[mg.scope]))


def _max_error(des: _Design, x: np.ndarray, total: float) -> tuple[float, int, int, float, float]:
    """Largest relative margin error: (error, margin, category, achieved, target)."""
    worst = (0.0, -1, -1, 0.0, 0.0)
    mx = des.m * x
    for i, mg in enumerate(des.margins):
        s = np.bincount(mg.cat, weights=mx, minlength=mg.k + 1)[: mg.k]
        t = _margin_targets(mg, x, des.m, total)
        err = np.abs(s - t) / np.where(t > 0, t, total)
        j = int(np.argmax(err))
        if err[j] > worst[0] or worst[1] < 0:
            worst = (float(err[j]), i, j, float(s[j]), float(t[j]))
    return worst


def _capped_scale(x, m, cat, k, t, lo, hi, inside):
    """Per category, the factor lam_k with sum m * clip(lam_k * x, lo, hi) = t_k.

    Plain scaling when it clips nothing (the usual case); otherwise safeguarded Newton on a
    monotone piecewise-linear function, exact once the set of clipped units is right (a
    few steps), with bisection if a step leaves the bracket.
    """
    mx = m * x
    s0 = np.bincount(cat, weights=mx, minlength=k + 1)[:k]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(s0 > 0, t / s0, 1.0)
    ext = np.ones(k + 1)
    ext[:k] = lam
    y = ext[cat] * x
    pos = inside & (x > 0)
    if not (((y > hi) | (y < lo)) & pos).any():
        return lam
    a = np.zeros(k)
    b = np.full(k, np.inf)
    for _ in range(100):
        high = (y >= hi) & inside
        free = pos & ~high & (y > lo)
        g = np.bincount(cat, weights=m * np.clip(y, lo, hi) * pos, minlength=k + 1)[:k]
        slope = np.bincount(cat, weights=mx * free, minlength=k + 1)[:k]
        diff = g - t
        done = np.abs(diff) <= 1e-13 * np.maximum(t, 1e-300)
        if done.all():
            break
        a = np.where(diff < 0, np.maximum(a, lam), a)
        b = np.where(diff > 0, np.minimum(b, lam), b)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = lam - diff / slope
        mid = np.where(np.isfinite(b), 0.5 * (a + b), 2 * np.maximum(a, lam) + 1e-12)
        ok = (slope > 0) & (step > a) & (step < b)
        lam = np.where(done, lam, np.where(ok, step, mid))
        ext[:k] = lam
        y = ext[cat] * x
    return lam


_NEWTON_MAX_UNITS = 50_000


def _constraints(des: _Design, total: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin equations as ``C @ x = t`` on the units, and the dummy matrix ``D`` mapping
    per-category log factors to units (nested margins: ``share`` of the group's total)."""
    rows, rhs, dums = [], [], []
    for mg in des.margins:
        for j in range(mg.k):
            ind = (mg.cat == j).astype(float)
            dums.append(ind)
            if mg.scope is None:
                rows.append(des.m * ind)
                rhs.append(mg.share[j] * total)
            else:
                rows.append(des.m * (ind - mg.share[j] * mg.scope))
                rhs.append(0.0)
    return np.array(rows), np.array(rhs), np.array(dums).T


def _newton(des: _Design, raw: np.ndarray, total: float, bounds, err0: float,
            steps: int = 30) -> tuple[np.ndarray, float]:
    """Polish raking with Newton steps on the log margin factors (semi-smooth with caps:
    clipped units have zero derivative). Each step must lower the margin error, else it is
    halved; returns the best ``raw`` found and its error."""
    C, t, D = _constraints(des, total)
    pos = raw > 0
    lo, hi = bounds if bounds is not None else (0.0, np.inf)

    def weights(r):
        return np.where(pos, np.clip(r, lo, hi), 0.0)

    best, best_err = raw, err0
    for _ in range(steps):
        x = weights(best)
        free = pos & (best > lo) & (best < hi)
        F = C @ x - t
        J = C @ (D * (x * free)[:, None])
        try:
            delta = np.linalg.lstsq(J, -F, rcond=None)[0]
        except np.linalg.LinAlgError:  # pragma: no cover - lstsq rarely fails
            break
        step = D @ delta
        improved = False
        for _half in range(8):
            cand = best * np.exp(step)
            e = _max_error(des, weights(cand), total)[0]
            if e < best_err:
                best, best_err, improved = cand, e, True
                break
            step = step / 2
        if not improved or best_err <= 1e-15:
            break
    return best, best_err


def _rake_units(des: _Design, total: float, cap: tuple[float, float] | None, tol: float,
                max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Iterative proportional fitting on the unit table; returns per-row weight of each unit.

    With caps this is bounded raking: the weight of a unit is ``clip(w0 * prod of its
    margin factors, lo, hi)`` and each margin step re-solves that margin's factors with the
    clipping taken into account (coordinate ascent on the dual of the raking distance under
    bounds). Units inside the caps therefore keep the raking form, and every step leaves
    its margin exact and the caps respected. Once close, when the unit table is small,
    Newton steps on the margin factors take the margins to machine precision.
    """
    m, w0 = des.m, des.w0
    base_total = float(np.dot(m, w0))
    raw = w0 * (total / base_total)
    inside = [mg.cat < mg.k for mg in des.margins]
    exts = [np.ones(mg.k + 1) for mg in des.margins]
    pos = raw > 0
    bounds = None
    if cap is not None:
        mean = total / float(m.sum())
        bounds = lo, hi = cap[0] * mean, cap[1] * mean
        x = np.where(pos, np.clip(raw, lo, hi), 0.0)
    else:
        x = raw
    newton = len(m) <= _NEWTON_MAX_UNITS
    next_try = 1e-3
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - it is returned
        for mg, ins, ext in zip(des.margins, inside, exts, strict=True):
            t = _margin_targets(mg, x, m, total)
            if cap is None:
                s = np.bincount(mg.cat, weights=m * x, minlength=mg.k + 1)[: mg.k]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ext[: mg.k] = np.where(s > 0, t / s, 1.0)
                x = x * ext[mg.cat]
            else:
                base = raw / ext[mg.cat]  # this margin's current factors taken out
                ext[: mg.k] = _capped_scale(base, m, mg.cat, mg.k, t, lo, hi, ins)
                raw = base * ext[mg.cat]
                x = np.where(pos, np.clip(raw, lo, hi), 0.0)
        err = _max_error(des, x, total)[0]
        if newton and (err <= next_try or err <= tol):
            cur = raw if cap is not None else x
            polished, perr = _newton(des, cur, total, bounds, err)
            if perr < err:
                if cap is not None:
                    raw = polished
                    x = np.where(pos, np.clip(raw, lo, hi), 0.0)
                    for ext in exts:  # factors now live in raw
                        ext[:] = 1.0
                else:
                    x = polished
                err = perr
            if err <= max(tol, 1e-13):
                return x, it, err <= tol
            next_try = err / 100  # Newton stalled: sweep on, try again when 100x closer
        elif err <= tol and not newton:
            return x, it, True
    return x, it, _max_error(des, x, total)[0] <= tol


def _feasible(des: _Design, total: float, cap, floor: float = 0.0) -> bool | None:
    """Can the margins hold together (within the caps)? Linear programming on the units;
    None when the table is too large to check quickly or the check itself fails."""
    if len(des.m) > 20_000:
        return None
    try:
        from scipy.optimize import linprog

        rows, rhs = [], []
        for mg in des.margins:
            for j in range(mg.k):
                r = des.m * (mg.cat == j)
                if mg.scope is None:
                    rows.append(r)
                    rhs.append(mg.share[j] * total)
                else:  # share of the group's total: r - share * group = 0
                    rows.append(r - mg.share[j] * des.m * mg.scope)
                    rhs.append(0.0)
        rows.append(des.m.copy())
        rhs.append(total)
        mean = total / float(des.m.sum())
        pos = des.w0 > 0
        low = max(cap[0] if cap else 0.0, floor) * mean
        bounds = [(low, (cap[1] * mean if cap else None)) if p else (0.0, 0.0) for p in pos]
        res = linprog(np.zeros(len(des.m)), A_eq=np.array(rows), b_eq=np.array(rhs),
                      bounds=bounds, method="highs")
    except Exception:  # noqa: BLE001 - the diagnosis is a courtesy
        return None
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    return None


def _resolve_cap(cap) -> tuple[float, float] | None:
    if cap is None:
        return None
    if isinstance(cap, numbers.Number):
        lo, hi = 0.0, float(cap)
    elif isinstance(cap, Sequence) and len(cap) == 2:
        lo = 0.0 if cap[0] is None else float(cap[0])
        hi = math.inf if cap[1] is None else float(cap[1])
    else:
        raise WeightingError(f"cap must be a number (max weight / mean weight) or a pair "
                             f"(min, max), not {cap!r}")
    if not (0 <= lo < 1 < hi):
        raise WeightingError(f"cap (min, max) relative to the mean weight must satisfy "
                             f"0 <= min < 1 < max; got ({lo:g}, {hi:g})")
    return lo, hi


def _check_caps_reachable(des: _Design, total: float, cap) -> None:
    mean = total / float(des.m.sum())
    lo, hi = cap[0] * mean, cap[1] * mean
    for mg in des.margins:
        if mg.scope is not None:
            continue
        nk = np.bincount(mg.cat, weights=des.m, minlength=mg.k + 1)[: mg.k]
        t = mg.share * total
        for j in range(mg.k):
            if t[j] > hi * nk[j] * (1 + 1e-12) or t[j] < lo * nk[j] * (1 - 1e-12):
                side, bound = ("upper", hi * nk[j]) if t[j] > hi * nk[j] else ("lower",
                                                                                lo * nk[j])
                raise WeightingError(
                    f"targets cannot be reached within the caps {cap}: margin "
                    f"{mg.spec.title(des.pii)!r} category {mg.spec.describe(mg.keys[j], des.pii)}"
                    f" needs a weighted "
                    f"total of {t[j]:.6g}, but its {int(nk[j])} respondent(s) all at the "
                    f"{side} cap give {bound:.6g}; widen the caps or merge categories")


# ----------------------------------------------------------------------------- public API
def _base_weights(df: pd.DataFrame, base_weight) -> tuple[np.ndarray, bool]:
    if base_weight is None:
        return np.ones(len(df)), False
    w = resolve_weights(df, base_weight, error=WeightingError)
    return w, True


def rake(df: pd.DataFrame, targets: Any, *, base_weight=None, cap=None,
         total: str | float | None = None, missing: str = "error", tol: float = 1e-8,
         max_iter: int = 1000, strict: bool = True, pii=None,
         counts: str | None = None) -> WeightingReport:
    """Rake weights to population margins (iterative proportional fitting).

    Parameters
    ----------
    df : DataFrame
        One row per respondent; the weighting variables are columns (numeric codes,
        strings or categoricals). Not modified.
    targets : Targets, path, mapping or long DataFrame
        See :func:`load_targets`. Margins may be interlocked (several variables crossed)
        or nested (``within``: shares within one group).
    base_weight : str or array-like, optional
        Design weights to start from (column name or array of ``len(df)``).
    cap : float or (min, max), optional
        Bounds on the final weights relative to their mean, enforced while raking: each
        margin step clips to the bounds and spreads the remainder over unclipped units, so
        the result meets margins and caps together. ``cap=2`` means max 2x the mean.
    total : "n" or float, optional
        Sum of the weights: ``"n"`` (rows weighted, market-research convention) or a
        population size. Default: the targets' ``total``.
    missing : {"error", "exclude", "own_category"}
        Rows with a missing weighting variable: raise (default); exclude them (weight 0);
        or make "missing" a category of its own, held at its base-weighted sample share
        unless the targets give it a target (key ``null``).
    tol : float
        Convergence: largest relative error over all margin categories.
    max_iter : int
        Maximum raking sweeps.
    strict : bool
        If True (default) failure to converge raises; if False it warns and returns the
        report with ``converged=False``.
    pii : str or list of str, optional
        Weighting variables that hold personal data: error and warning messages name their
        margin but never show their categories. Default: ``df.attrs["pii_columns"]``
        (set by :func:`~surveykit.responses.read_responses` from the questionnaire).
    counts : str, optional
        Column of ``df`` holding how many respondents each row stands for: ``df`` is then a
        table of cells (one row per combination of the weighting variables and base
        weight, e.g. a ``GROUP BY`` over data larger than memory, see
        :mod:`surveykit.outofcore`), and ``.weights`` is the weight of one respondent of
        each row. Raking works on these counts anyway, so the weights are those of the
        respondents themselves.

    Returns
    -------
    WeightingReport
        ``.weights`` (Series named "weight" aligned with ``df.index``), ``.to_frame()``,
        ``.cells``, ``.summary()``, ``.efficiency``, ``.n_eff``, ``.converged``,
        ``.iterations``. Pass the report itself as ``weights=`` to
        :func:`surveykit.estimates.estimate` for calibration-aware standard errors.

    Raises
    ------
    WeightingError
        Naming the margin and category: a target category with no respondents, a sample
        category with no target, targets not summing to 100 / the total, missing values
        (policy ``error``), targets unreachable together or within the caps.

    Warns
    -----
    SurveykitWarning
        A target of 0 for a category that has respondents (they get weight 0), naming the
        category and how many respondents.

    Examples
    --------
    >>> df = pd.DataFrame({"g": [1, 1, 1, 2]})
    >>> r = rake(df, {"g": {1: 50, 2: 50}})
    >>> r.weights.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0]
    >>> cells = pd.DataFrame({"g": [1, 2], "n": [3, 1]})  # the same respondents, counted
    >>> rake(cells, {"g": {1: 50, 2: 50}}, counts="n").weights.round(3).tolist()
    [0.667, 2.0]
    """
    if missing not in MISSING_POLICIES:
        raise WeightingError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    if not (isinstance(tol, numbers.Number) and tol > 0):
        raise WeightingError(f"tol must be a positive number, not {tol!r}")
    if not (isinstance(max_iter, numbers.Integral) and max_iter >= 1):
        raise WeightingError(f"max_iter must be a positive integer, not {max_iter!r}")
    t = load_targets(targets)
    tot_spec = t.total if total is None else _check_total(total, "")
    capr = _resolve_cap(cap)
    if len(df) == 0:
        raise WeightingError("the data have no rows to weight")
    w0, given = _base_weights(df, base_weight)
    hide = df.attrs.get("pii_columns", ()) if pii is None else as_list(pii)
    freq = None
    if counts is not None:
        freq = resolve_weights(df, counts, error=WeightingError)
    des = _build_design(df, t, w0, missing, frozenset(hide), freq, uniform=not given)
    if not np.any(des.m * des.w0 > 0):
        raise WeightingError("every base weight is 0; nothing to rake")
    n_used = float(des.m.sum())
    total_v = n_used if tot_spec == "n" else float(tot_spec)
    if capr is not None:
        _check_caps_reachable(des, total_v, capr)
    x, it, conv = _rake_units(des, total_v, capr, tol, max_iter)
    weights = _row_weights(df, des, x, w0, unit_base=not given)
    report = WeightingReport(weights, method="rake", design=des, total=total_v, unit=t.unit,
                             iterations=it, converged=conv, cap=capr, tol=tol,
                             unit_totals=des.m * x)
    if not conv:
        err, i, j, got, want = _max_error(des, x, total_v)
        mg = des.margins[i]
        base = total_v if mg.scope is None else float(np.dot(des.m[mg.scope], x[mg.scope]))
        feasible = _feasible(des, total_v, capr)
        if feasible is False:
            why = ("the targets cannot be reached together within the caps "
                   f"{capr}; widen the caps or merge sparse categories" if capr else
                   "the targets cannot be reached together (they contradict each other, or "
                   "needed combinations have no respondents); check them")
        elif feasible is True and _feasible(des, total_v, capr, floor=1e-4) is False:
            why = ("the targets can only be met by giving some respondents (almost) zero "
                   "weight: a combination of categories the targets need has too few "
                   "respondents; merge sparse categories or check the targets")
        elif feasible is True:
            why = "the targets are reachable: raise max_iter"
        else:
            why = ("the targets may contradict each other"
                   f"{' or be out of reach within the caps' if capr else ''}; check them, "
                   "merge sparse categories or raise max_iter")
        msg = (f"raking did not converge in {it} iterations: margin {mg.spec.title(des.pii)!r}"
               f" category {mg.spec.describe(mg.keys[j], des.pii)} got to "
               f"{got / base * 100:.4f}% "
               f"against a target of {want / base * 100:.4f}% (relative error {err:.2e}); "
               f"{why}")
        if strict:
            raise WeightingError(msg)
        warnings.warn(msg, SurveykitWarning, stacklevel=2)
    return report


def _row_weights(df: pd.DataFrame, des: _Design, x: np.ndarray, w0: np.ndarray,
                 unit_base: bool = False) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(des.w0 > 0, x / des.w0, 0.0)
    w = des.row_values(f)                       # excluded rows: 0
    if not unit_base:
        w *= w0
    return pd.Series(w, index=df.index, name="weight", copy=False)


def post_stratify(df: pd.DataFrame, targets: Any, *, variables=None, base_weight=None,
                  total: str | float | None = None, missing: str = "error",
                  pii=None) -> WeightingReport:
    """Post-stratify: weight the cells of one or more crossed variables to their targets.

    Parameters
    ----------
    df : DataFrame
    targets : Targets / path / mapping / long DataFrame with exactly one margin, or, with
        ``variables``, a mapping ``{category or tuple of categories: target}`` or a
        DataFrame with the ``variables`` as columns and a ``target`` column.
    variables : str or list of str, optional
        The crossed post-stratification variables (when ``targets`` is a plain table).
    base_weight, total, missing, pii
        As for :func:`rake`.

    Returns
    -------
    WeightingReport

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 1]})
    >>> r = post_stratify(df, {(1, 1): 25, (1, 2): 25, (2, 1): 50}, variables=["a", "b"])
    >>> r.weights.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    if variables is not None:
        vs = tuple(as_list(variables))
        if isinstance(targets, pd.DataFrame):
            check_columns(targets, [*vs, "target"], error=WeightingError, what="targets column")
            items = [(tuple(r[v] for v in vs), r["target"]) for _, r in targets.iterrows()]
        elif isinstance(targets, Mapping):
            items = [(k if isinstance(k, tuple) else (k,), v) for k, v in targets.items()]
        else:
            raise WeightingError("with variables=, targets must be a mapping or a DataFrame")
        tg: dict[tuple, float] = {}
        for k, v in items:
            if len(k) != len(vs):
                raise WeightingError(f"post-stratification key {k!r} does not have one code "
                                     f"per variable {list(vs)}")
            tg[tuple(_norm_key(x) for x in k)] = _target_value(v, f"target {k!r}: ")
        unit = "percent" if abs(sum(tg.values()) - 100) <= 1e-4 else "count"
        t = Targets((Margin(vs, tg),), unit=unit)
    else:
        t = load_targets(targets)
        if len(t.margins) != 1 or t.margins[0].within:
            raise WeightingError(f"post_stratify needs exactly one margin (cross the "
                                 f"variables: variables: [a, b]); got {len(t.margins)}")
    rep = rake(df, t, base_weight=base_weight, total=total, missing=missing, max_iter=5,
               pii=pii)
    rep.method = "post-stratification"
    return rep


def trim(df: pd.DataFrame, weights, *, upper: float | None = None, lower: float | None = None,
         relative: bool = True, strict: bool = False) -> WeightingReport:
    """Trim weights to bounds and spread what was cut evenly over the untrimmed rows.

    Same rule as R ``survey::trimWeights``: weights outside ``[lower, upper]`` are set to
    the bound and the total trimmed is added in equal amounts to the other rows, so the
    sum of the weights is kept. With ``strict=True`` this repeats until no weight is out
    of bounds. Margins are not re-raked (use ``rake(..., cap=...)`` for that); when
    ``weights`` is a :class:`WeightingReport`, the new report shows how far trimming moved
    the achieved margins.

    Parameters
    ----------
    df : DataFrame
    weights : str, array-like, Series or WeightingReport
    upper, lower : float, optional
        Bounds; multiples of the mean weight if ``relative`` (default), else absolute.
    relative : bool
    strict : bool

    Returns
    -------
    WeightingReport

    Examples
    --------
    >>> df = pd.DataFrame({"x": range(4)})
    >>> w = trim(df, [1.0, 1.0, 1.0, 5.0], upper=2.0).weights  # bound: 2 x mean 2 = 4
    >>> w.round(3).tolist()
    [1.333, 1.333, 1.333, 4.0]
    """
    design = None
    if isinstance(weights, WeightingReport):
        if len(weights.weights) != len(df):
            raise WeightingError("the WeightingReport was made for data of another length")
        design = weights._design
        weights = weights.weights.to_numpy()
    w = resolve_weights(df, weights, error=WeightingError).copy()
    if upper is None and lower is None:
        raise WeightingError("give upper and/or lower bounds to trim to")
    mean = w.mean() if relative else 1.0
    hi = math.inf if upper is None else float(upper) * mean
    lo = -math.inf if lower is None else float(lower) * mean
    if not lo < hi:
        raise WeightingError(f"lower ({lower}) must be below upper ({upper})")
    for _ in range(10_000):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        new = np.clip(w, lo, hi)
        if outside.all():
            raise WeightingError("every weight is outside the trimming bounds; widen them")
        new[~outside] += (w - new).sum() / float((~outside).sum())
        w = new
        if not strict:
            break
    return WeightingReport(pd.Series(w, index=df.index, name="weight"), method="trim",
                           design=design, calibrated=False,
                           cap=(lower, upper))
