"""Each wave raked to its own population targets (:func:`weight_waves`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import WeightingError
from ..weighting import rake
from .reading import wave_label, wave_order

__all__ = ["weight_waves", "WaveWeighting"]


class WaveWeighting:
    """The weights of every wave and one :class:`~surveykit.weighting.WeightingReport` per
    wave (:attr:`reports`, in wave order).

    :attr:`weights` is aligned with the data's index (0 for rows a wave's raking excluded).
    """

    def __init__(self, weights: pd.Series, reports: dict, targets: dict, wave: str):
        self.weights = weights
        self.reports = reports
        self.targets = targets
        self.wave = wave

    def to_frame(self) -> pd.DataFrame:
        """Every wave's target vs achieved table, a ``wave`` column first."""
        return pd.concat([r.to_frame().assign(wave=w) for w, r in self.reports.items()],
                         ignore_index=True).pipe(lambda f: f[["wave", *f.columns[:-1]]])

    def summary_frame(self) -> pd.DataFrame:
        """One row per wave: ``wave, targets, n, n_eff, efficiency, min, max, converged``."""
        return pd.DataFrame([{"wave": w, "targets": self.targets[w], "n": r.n, "n_eff": r.n_eff,
                              "efficiency": r.efficiency, "min": r.min, "max": r.max,
                              "converged": r.converged} for w, r in self.reports.items()])

    def summary(self) -> str:
        """Each wave's weighting summary under its label."""
        return "\n\n".join(f"Wave {w} (targets: {self.targets[w]})\n{r.summary()}"
                           for w, r in self.reports.items())

    def __repr__(self) -> str:
        eff = ", ".join(f"{w}: {r.efficiency:.2f}" for w, r in self.reports.items())
        return f"WaveWeighting({len(self.reports)} waves; efficiency {eff})"

    def _repr_html_(self) -> str:
        f = self.summary_frame().round({"n_eff": 1, "efficiency": 3, "min": 2, "max": 2})
        return ("<p><b>Weighting per wave</b>: each wave raked to its own targets</p>"
                + f.to_html(index=False, escape=True))


def _describe(t) -> str:
    if isinstance(t, str | os.PathLike):
        return os.path.basename(os.fspath(t))
    return getattr(t, "source", None) or type(t).__name__


def weight_waves(df: pd.DataFrame, targets, *, wave: str | None = None,
                 **rake_options) -> WaveWeighting:
    """Rake each wave to its own targets with :func:`surveykit.weighting.rake`.

    Parameters
    ----------
    df : DataFrame
        All waves (e.g. from :func:`~surveykit.waves.read_waves`); not modified.
    targets : mapping or targets
        One targets file per wave: a mapping wave label -> targets (a ``targets.yaml``
        path, a mapping or :class:`~surveykit.weighting.Targets`; the format of
        :func:`~surveykit.weighting.load_targets`). Every wave needs its targets. One
        targets (not a mapping) is used for every wave (a population that did not move).
    wave : str, optional
        The wave column (default ``df.attrs["wave_column"]``, else ``"wave"``).
    **rake_options
        Passed to :func:`~surveykit.weighting.rake` for every wave (``missing=``,
        ``cap=``, ``total=``...).

    Returns
    -------
    WaveWeighting
        ``weights`` aligned with ``df.index``; ``reports``: one WeightingReport per wave.

    Raises
    ------
    WeightingError
        A wave without targets, targets for a wave the data do not have, and every error
        of :func:`~surveykit.weighting.rake` (its message starts with the wave).

    Examples
    --------
    >>> df = pd.DataFrame({"wave": ["Q1"] * 4 + ["Q2"] * 4,
    ...                    "sex": [1, 1, 1, 2, 1, 2, 2, 2]})
    >>> t = {"Q1": {"total": "n", "margins": [{"variable": "sex", "targets": {1: 50, 2: 50}}]},
    ...      "Q2": {"total": "n", "margins": [{"variable": "sex", "targets": {1: 25, 2: 75}}]}}
    >>> ww = weight_waves(df, t)
    >>> ww.weights.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0, 1.0, 1.0, 1.0, 1.0]
    >>> ww.summary_frame()[["wave", "n", "efficiency"]].round(3)
      wave  n  efficiency
    0   Q1  4        0.75
    1   Q2  4        1.00
    """
    wave = wave or df.attrs.get("wave_column") or "wave"
    waves = wave_order(df, wave)
    if isinstance(targets, Mapping) and not {"margins", "total", "unit"} & set(targets):
        given = {wave_label(k): v for k, v in targets.items()}
    else:
        given = dict.fromkeys(waves, targets)
    missing = [w for w in waves if w not in given]
    if missing:
        raise WeightingError(f"no targets for wave(s) {', '.join(missing)}; give one targets "
                             f"file per wave (given: {', '.join(given) or 'none'})")
    extra = [w for w in given if w not in waves]
    if extra:
        raise WeightingError(f"targets given for wave(s) {', '.join(extra)} that the data do "
                             f"not have (waves in the data: {', '.join(waves)})")
    labels = df[wave].map(wave_label).to_numpy()
    weights = np.zeros(len(df))
    reports = {}
    for w in waves:
        rows = labels == w
        part = df.loc[rows]
        try:
            rep = rake(part, given[w], **rake_options)
        except WeightingError as exc:
            raise WeightingError(f"wave {w}: {exc}") from None
        weights[rows] = rep.weights.reindex(part.index).to_numpy(dtype=float)
        reports[w] = rep
    return WaveWeighting(pd.Series(weights, index=df.index, name="weight"), reports,
                         {w: _describe(given[w]) for w in waves}, wave)
