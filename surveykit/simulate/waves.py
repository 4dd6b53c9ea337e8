"""Several survey waves from one declared truth, each with its declared true change.

A truth file's ``waves:`` block (:mod:`surveykit.simulate.truth_file`) names the waves and
shifts latent variables or items per wave. :func:`simulate_waves` simulates every wave in
full (:func:`~surveykit.simulate.simulate_from_truth` with ``wave=``); :class:`WaveModel`
draws only the answer columns, fast, for replication studies of the trend tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..questionnaire import Questionnaire
from ._common import SimulationError
from .declared import _Model, simulate_from_truth
from .engine import Simulation
from .truth_file import build_spec

__all__ = ["simulate_waves", "stack_waves", "WaveModel"]


def simulate_waves(questionnaire: Questionnaire, truth, *, n: int | None = None,
                   seed: int | None = None) -> dict[str, Simulation]:
    """Simulate every wave the truth declares: wave label -> Simulation, in wave order.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.simulate.truth_file import read_truth
    >>> q = load_questionnaire("questionnaires/employee_engagement.yaml")
    >>> truth = read_truth("data/employee_engagement/simulation.yaml")[0]
    >>> truth["waves"] = {"2025": {}, "2026": {"shift": {"engagement": 0.5}}}
    >>> truth["population_draw"] = 2000     # a small population draw: a fast example
    >>> sims = simulate_waves(q, truth, n=300)
    >>> list(sims), sims["2026"].truth["wave"]["shift"]
    (['2025', '2026'], {'engagement': 0.5})
    """
    spec = build_spec(questionnaire, truth, n=n, seed=seed)
    if not spec.waves:
        raise SimulationError("the truth declares no waves; add waves: {label: {shift: "
                              "{name: change}}, ...} (surveykit.simulate.truth_file)")
    return {w: simulate_from_truth(questionnaire, truth, n=n, seed=seed, wave=w)
            for w in spec.waves}


def stack_waves(sims: dict[str, Simulation], wave: str = "wave") -> pd.DataFrame:
    """The waves' responses in one frame with a ``wave`` column (an ordered categorical,
    as :func:`surveykit.waves.read_waves` makes it)."""
    df = pd.concat([s.responses.assign(**{wave: w}) for w, s in sims.items()],
                   ignore_index=True)
    df[wave] = pd.Categorical(df[wave], categories=list(sims), ordered=True)
    df.attrs.update({"waves": list(sims), "wave_column": wave})
    return df


class WaveModel:
    """The generating model of a truth's waves, drawing only answer columns (no routing,
    missing codes, open text or population truth): fast enough for hundreds of
    replications.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.simulate.truth_file import read_truth
    >>> q = load_questionnaire("questionnaires/satisfaction_index.yaml")
    >>> truth = read_truth("data/satisfaction_index/simulation.yaml")[0]
    >>> truth["waves"] = {"Q1": {}, "Q2": {"shift": {"overall_sat": 0.3}}}
    >>> df = WaveModel(q, truth).draw(500, seed=1, columns=["overall_sat"])
    >>> df.shape, df["wave"].unique().tolist()
    ((1000, 3), ['Q1', 'Q2'])
    """

    def __init__(self, questionnaire: Questionnaire, truth):
        self.spec = build_spec(questionnaire, truth)
        if not self.spec.waves:
            raise SimulationError("the truth declares no waves; add waves: {label: {shift: "
                                  "{name: change}}, ...}")
        self.model = _Model(questionnaire, self.spec)

    @property
    def waves(self) -> list[str]:
        return list(self.spec.waves)

    def draw(self, n: int, *, seed: int, columns: list[str] | None = None,
             wave: str = "wave") -> pd.DataFrame:
        """``n`` respondents per wave: the wave, the segment and the answer ``columns``
        (default: every item of the truth), drawn from the sample composition."""
        seg = self.spec.segment.variable
        frames = []
        for k, (label, shift) in enumerate(self.spec.waves.items()):
            rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
            comp = self.model.composition(rng, n, sample=True)
            _, z = self.model.draw(rng, comp, shift)
            answers = self.model.answers(z, shift)
            cols = list(answers) if columns is None else columns
            unknown = [c for c in cols if c not in answers]
            if unknown:
                raise SimulationError(f"column(s) {', '.join(unknown)} are not items of the "
                                      f"truth; items: {', '.join(answers)}")
            frames.append(pd.DataFrame({wave: label, seg: comp[seg],
                                        **{c: answers[c] for c in cols}}))
        return pd.concat(frames, ignore_index=True)
