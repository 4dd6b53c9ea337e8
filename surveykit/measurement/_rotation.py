"""Factor rotations in numpy: varimax and promax as R's ``stats::varimax`` /
``stats::promax`` (``psych::Promax``), oblimin as ``GPArotation::oblimin`` (the gradient
projection algorithm of Bernaards & Jennrich, 2005), which ``psych::fa`` calls.

Each takes unrotated loadings (items x factors) and returns the rotated loadings and, for
the oblique rotations, the factor correlation matrix ``phi``.
"""

from __future__ import annotations

import numpy as np


def varimax(L: np.ndarray, *, normalize: bool = True, eps: float = 1e-5,
            max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Varimax rotation as R's ``stats::varimax`` (Kaiser normalisation by default).

    Returns the rotated loadings and the orthogonal rotation matrix ``T``
    (rotated = ``L @ T``).

    Examples
    --------
    >>> L = np.array([[.8, .3], [.7, .4], [.3, .8], [.2, .7]])
    >>> Lr, T = varimax(L)
    >>> bool(np.allclose(T @ T.T, np.eye(2))), bool(np.allclose(Lr, L @ T))
    (True, True)
    """
    L = np.asarray(L, dtype=float)
    k = L.shape[1]
    if k < 2:
        return L.copy(), np.eye(k)
    sc = np.sqrt((L ** 2).sum(axis=1)) if normalize else np.ones(L.shape[0])
    x = L / sc[:, None]
    p = x.shape[0]
    T = np.eye(k)
    d = 0.0
    for _ in range(max_iter):
        z = x @ T
        B = x.T @ (z ** 3 - z * ((z ** 2).sum(axis=0) / p))
        u, s, vt = np.linalg.svd(B)
        T = u @ vt
        d_past, d = d, float(s.sum())
        if d < d_past * (1 + eps):
            break
    return (x @ T) * sc[:, None], T


def promax(L: np.ndarray, *, m: float = 4,
           normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Promax rotation as R's ``stats::promax(x, m = 4)`` with ``psych::Promax``'s factor
    correlations: varimax, the target ``x |x|^(m-1)``, the least-squares transformation
    to it with columns scaled as R, ``phi = U^-1 U^-T``. ``normalize=True`` (the default)
    wraps it in Kaiser normalisation as ``psych::fa(rotate = "promax")`` does
    (``psych::kaiser(L, "Promax")``: rows scaled to unit length before, back after);
    ``normalize=False`` is ``psych::Promax`` / ``stats::promax`` on ``L`` as given.

    Returns the rotated (pattern) loadings and ``phi``.

    Examples
    --------
    >>> L = np.array([[.8, .3], [.7, .4], [.3, .8], [.2, .7]])
    >>> Lr, phi = promax(L)
    >>> bool(np.allclose(np.diag(phi), 1)), bool(phi[0, 1] > 0)
    (True, True)
    """
    L = np.asarray(L, dtype=float)
    sc = np.sqrt((L ** 2).sum(axis=1)) if normalize else np.ones(L.shape[0])
    x, T = varimax(L / sc[:, None])
    Q = x * np.abs(x) ** (m - 1)
    U = np.linalg.lstsq(x, Q, rcond=None)[0]
    d = np.diag(np.linalg.inv(U.T @ U))
    U = U * np.sqrt(d)
    ui = np.linalg.inv(T @ U)
    return (x @ U) * sc[:, None], ui @ ui.T


def _oblimin_vgq(L: np.ndarray) -> tuple[np.ndarray, float]:
    """Quartimin (oblimin, gamma 0) criterion and its gradient in the loadings."""
    X = (L ** 2) @ (1.0 - np.eye(L.shape[1]))
    return L * X, float((L ** 2 * X).sum() / 4)


def oblimin(L: np.ndarray, *, eps: float = 1e-5,
            max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Oblimin (quartimin, gamma 0) rotation by gradient projection, as
    ``GPArotation::oblimin(L)`` (``GPFoblq``: no normalisation, ``eps = 1e-5``).

    Returns the rotated (pattern) loadings and ``phi``.

    Examples
    --------
    >>> L = np.array([[.8, .3], [.7, .4], [.3, .8], [.2, .7]])
    >>> Lr, phi = oblimin(L)
    >>> bool(np.allclose(np.diag(phi), 1)), bool(np.allclose(Lr @ phi @ Lr.T, L @ L.T))
    (True, True)
    """
    A = np.asarray(L, dtype=float)
    k = A.shape[1]
    if k < 2:
        return A.copy(), np.eye(k)
    T = np.eye(k)
    al = 1.0
    Lt = A @ np.linalg.inv(T).T
    Gq, f = _oblimin_vgq(Lt)
    G = -(Lt.T @ Gq @ np.linalg.inv(T)).T
    for _ in range(max_iter + 1):
        Gp = G - T * (T * G).sum(axis=0)
        s = float(np.sqrt((Gp ** 2).sum()))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt((X ** 2).sum(axis=0))
            Lt = A @ np.linalg.inv(Tt).T
            Gqt, ft = _oblimin_vgq(Lt)
            if f - ft > 0.5 * s ** 2 * al:
                break
            al /= 2
        T, f = Tt, ft
        G = -(Lt.T @ Gqt @ np.linalg.inv(Tt)).T
    return Lt, T.T @ T
