"""Measurement-model checks and the 0-100 index: unidimensionality, HTMT, GoF, ACSI scores.

All of them come from the (weighted) item correlations or from the fitted weights, for one
sample or a stack of bootstrap replicates at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import PLSError
from ._spec import ModelSpec


def unidim(R: np.ndarray, spec: ModelSpec) -> pd.DataFrame:
    """Cronbach's alpha, Dillon-Goldstein's rho and the first two eigenvalues per block.

    From the block's (weighted) correlation matrix ``R_j`` of ``k`` items, as R plspm's
    ``unidim``: standardized alpha ``k/(k-1) * (sum(R_j) - k) / sum(R_j)`` (0 if negative);
    rho ``(sum l)^2 / ((sum l)^2 + k - sum l^2)`` with ``l`` the correlations of the items
    with the first principal component (``l = sqrt(eig_1) v_1``); eigenvalues of ``R_j``.
    Alpha and rho are for reflective (mode A) blocks and are NaN for mode B blocks (R
    plspm prints 0) and for one-item blocks.
    """
    rows = []
    b = spec.block_index
    for k, c in enumerate(spec.constructs):
        j = np.flatnonzero(b == k)
        q = len(j)
        Rj = R[np.ix_(j, j)]
        ev, V = np.linalg.eigh(Rj)
        ev, V = ev[::-1], V[:, ::-1]
        alpha = rho = np.nan
        if q > 1 and spec.modes[c] == "A":
            tot = Rj.sum()
            alpha = max(0.0, q / (q - 1) * (tot - q) / tot)
            lo = np.sqrt(max(ev[0], 0.0)) * V[:, 0]
            num = lo.sum() ** 2
            rho = num / (num + q - (lo ** 2).sum())
        rows.append({"construct": c, "mode": spec.modes[c], "n_items": q,
                     "cronbach_alpha": alpha, "dillon_goldstein_rho": rho,
                     "eig_1st": float(ev[0]), "eig_2nd": float(ev[1]) if q > 1 else np.nan})
    return pd.DataFrame(rows)


def htmt(R: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Heterotrait-monotrait ratios ``(B, L, L)`` from item correlations ``R (B, p, p)``.

    ``HTMT_ij = mean(r between items of i and j) / sqrt(mean(r within i) * mean(r within
    j))``, the within means over distinct pairs (Henseler, Ringle & Sarstedt, 2015). Signed
    correlations, as in the paper: reverse-keyed items must be re-coded first. NaN where a
    block has one item.
    """
    odm = spec.odm
    k = odm.sum(axis=0)
    H = odm.T[None] @ R @ odm[None]
    hetero = H / np.outer(k, k)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(k > 1, (np.einsum("bll->bl", H) - k) / (k * (k - 1)), np.nan)
        out = hetero / np.sqrt(mono[:, :, None] * mono[:, None, :])
    return out


def gof(loadings: np.ndarray, r2: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Goodness of fit ``sqrt(mean communality * mean R²)`` per replicate (R plspm).

    The mean communality is over the items of blocks with more than one item; the mean
    R² over the endogenous constructs.
    """
    b = spec.block_index
    sizes = np.bincount(b, minlength=len(spec.constructs))
    multi = sizes[b] > 1
    endo = spec.path.any(axis=1)
    if not multi.any():
        return np.full(loadings.shape[0], np.nan)
    return np.sqrt((loadings[:, multi] ** 2).mean(axis=1) * r2[:, endo].mean(axis=1))


def resolve_ranges(scale_range, spec: ModelSpec, X: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Each item's ``(low, high)`` scale ends ``(p, 2)`` and a note when they were guessed.

    ``scale_range``: ``None`` (the observed lowest and highest answer of each item, noted),
    one ``(low, high)`` for every item, or a dict keyed by item or by construct (an item's
    own entry wins). Answers outside an item's range are refused.
    """
    items = spec.items
    p = len(items)
    note = None
    if scale_range is None:
        out = np.column_stack([np.nanmin(X, axis=0), np.nanmax(X, axis=0)])
        note = ("scale_range not given: each item's 0-100 index runs from its lowest to its "
                "highest observed answer; pass scale_range=(low, high) for the questionnaire's "
                "scale ends")
    elif isinstance(scale_range, Mapping):
        out = np.full((p, 2), np.nan)
        b = spec.block_index
        for i, m in enumerate(items):
            rng_ = scale_range.get(m, scale_range.get(spec.constructs[b[i]]))
            if rng_ is not None:
                out[i] = _pair(rng_, m)
        extra = [key for key in scale_range if key not in items and key not in spec.constructs]
        if extra:
            raise PLSError(f"scale_range names {', '.join(map(repr, extra))}, which are neither "
                           "items nor constructs of the model")
        missing = [m for i, m in enumerate(items) if np.isnan(out[i, 0])]
        if missing:
            raise PLSError(f"scale_range gives no range for item(s) "
                           f"{', '.join(map(repr, missing))}; add them (or their construct)")
    else:
        out = np.tile(_pair(scale_range, "every item"), (p, 1))
    flat = out[:, 1] <= out[:, 0]
    if flat.any():
        i = int(np.argmax(flat))
        raise PLSError(f"item {items[i]!r}: scale range {tuple(out[i])} is empty; its low end "
                       "must be below its high end")
    lo_bad = np.nanmin(X, axis=0) < out[:, 0] - 1e-9
    hi_bad = np.nanmax(X, axis=0) > out[:, 1] + 1e-9
    if (lo_bad | hi_bad).any():
        i = int(np.argmax(lo_bad | hi_bad))
        raise PLSError(f"item {items[i]!r} has answers from {np.nanmin(X[:, i]):g} to "
                       f"{np.nanmax(X[:, i]):g}, outside its scale range {out[i, 0]:g}-"
                       f"{out[i, 1]:g}; fix scale_range or recode missing-value codes to NaN")
    return out, note


def _pair(v, who) -> np.ndarray:
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError):
        raise PLSError(f"scale_range for {who} must be (low, high); got {v!r}") from None
    return np.array([lo, hi])


def index_weights(w_std: np.ndarray, scale: np.ndarray, ranges: np.ndarray,
                  spec: ModelSpec) -> np.ndarray:
    """The ACSI index weights of each item, summing to 1 within each block (``(B, p)``).

    The outer weights ``w_std`` apply to the items divided by ``scale`` (their SDs when the
    model was fitted on standardized data, else 1). Un-standardized onto each item's 0-100
    scale, ``w_j / scale_j * (high_j - low_j)``, they are divided by their block's sum. A
    block with a negative weight gets NaN (its index would not stay within 0-100).
    """
    w = np.atleast_2d(w_std / scale * (ranges[:, 1] - ranges[:, 0]))
    odm = spec.odm
    sums = w @ odm
    neg = (np.where(w < 0, 1.0, 0.0) @ odm) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = w / sums[:, spec.block_index]
    out[neg[:, spec.block_index]] = np.nan
    return out


def index_values(X: np.ndarray, wbar: np.ndarray, ranges: np.ndarray,
                 spec: ModelSpec) -> np.ndarray:
    """0-100 index of each row of ``X`` (raw answers or means) with index weights ``wbar``
    (``(p,)``, or one row per row of ``X``); NaN for a block whose weights are NaN. The
    weights are positive and sum to 1, so the index lies in 0-100: rounding beyond it (as
    100.00000000000001) is clipped."""
    x100 = 100 * (X - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])
    out = np.clip((x100 * np.nan_to_num(wbar)) @ spec.odm, 0.0, 100.0)
    bad = (np.isnan(wbar).astype(float) @ spec.odm) > 0
    return np.where(bad, np.nan, out)
