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


#: The demo's second wave: label, seed and the declared true change (points on 0-10).
DEMO_WAVES = ("2026Q1", "2026Q2")
DEMO_WAVE2_SEED = 20261123
DEMO_WAVE2_CHANGE = {"overall_sat": 0.3}


def simulate_demo_wave(questionnaire: Questionnaire, *, n: int = 4000,
                       seed: int = DEMO_WAVE2_SEED,
                       change: dict | None = None) -> Simulation:
    """The demo survey's second wave (``data/demo/wave2``): the demo's ground truth with
    overall satisfaction raised by ``change["overall_sat"]`` points in every segment
    (it flows on to NPS, repurchase and complaints), a new sample (``seed``) and new
    respondent ids (``resp_id`` + 1,000,000). ``truth["wave"]`` records the change;
    ``truth["population"]`` holds this wave's population values.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> sim = simulate_demo_wave(q, n=300)
    >>> int(sim.responses["resp_id"].min()), sim.truth["wave"]["change"]
    (1100001, {'overall_sat': 0.3})
    """
    from .engine import simulate
    from .truth import default_truth

    change = dict(DEMO_WAVE2_CHANGE if change is None else change)
    unknown = [k for k in change if k != "overall_sat"]
    if unknown:
        raise SimulationError(f"the demo wave can change overall_sat only, not {unknown}")
    truth = default_truth()
    means = truth["drivers"]["segment_mean"]
    for s in means:
        means[s] = means[s] + change.get("overall_sat", 0.0)
    sim = simulate(questionnaire, n, seed, truth)
    rid = questionnaire.roles.respondent_id
    for frame in (sim.responses, sim.problems, sim.respondents):
        if rid in frame.columns and len(frame):
            frame[rid] = pd.to_numeric(frame[rid]) + 1_000_000
    sim.truth["wave"] = {"label": DEMO_WAVES[1], "previous": DEMO_WAVES[0], "seed": seed,
                         "change": change, "note": "overall_sat segment means raised by "
                         "this many points (0-10); NPS, repurchase and complaints follow"}
    return sim


def write_demo_wave(questionnaire: Questionnaire, out_dir, *, n: int = 4000,
                    seed: int = DEMO_WAVE2_SEED) -> list:
    """Write :func:`simulate_demo_wave` to ``out_dir`` (the files of
    :func:`~surveykit.simulate.write_demo`), byte-for-byte reproducibly."""
    from .engine import write_simulation

    return write_simulation(simulate_demo_wave(questionnaire, n=n, seed=seed), questionnaire,
                            out_dir)
