"""Surveys simulated from a declared ground truth file (:func:`simulate_from_truth`).

The truth file (format: :mod:`surveykit.simulate.truth_file`) says who is in the sample
(segments and profile shares, skewed by selection factors so that weighting matters), which
latent constructs the items measure, how the constructs drive the outcome in each segment,
how loyalty and other measures follow, and what people write in open answers. Any question
the truth does not mention gets generic answers; routing is obeyed for every question
(:meth:`Questionnaire.asked`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import atomic_write
from ..questionnaire import Questionnaire
from ._common import PROBLEM_RULES, SimulationError
from .engine import Simulation, _assemble, _csv_text, _json_clean, _targets_yaml
from .pc_model import _allocate, _hundred
from .problems import _plant_problems
from .truth_file import Spec, build_spec, cut_points

TRUTH_FILES = ("responses.csv", "targets.yaml", "truth.json", "truth_respondents.csv")
EMAIL_RATE = 0.85  # share of those asked who leave an address in a pii open question


def _shares(x: np.ndarray, codes) -> dict:
    return {str(c): round(float(np.mean(x == c)), 4) for c in codes}


class _Model:
    """The generating model of a :class:`Spec`."""

    def __init__(self, q: Questionnaire, spec: Spec):
        self.q, self.s = q, spec
        self.names = [c.name for c in spec.constructs]
        self.chol = np.linalg.cholesky(spec.corr) if self.names else None
        items = {it.column: (k, it) for k, c in enumerate(spec.constructs) for it in c.items}
        K = len(self.names)
        A = np.zeros((len(spec.drivers), K))
        own = np.zeros(len(spec.drivers))
        for j, d in enumerate(spec.drivers):
            if d in self.names:
                A[j, self.names.index(d)] = 1.0
            else:
                k, it = items[d]
                A[j, k] = it.sign * it.loading
                own[j] = 1 - it.loading ** 2
        cov = A @ spec.corr @ A.T + np.diag(own)
        self.norm, self.noise, self.paths = {}, {}, {}
        for s, w in spec.weights.items():
            explained = float(w @ cov @ w)
            total = explained / spec.r2
            self.norm[s] = np.sqrt(total)
            self.noise[s] = np.sqrt(total - explained)
            self.paths[s] = w / self.norm[s]

    # -- who is in the sample ------------------------------------------------------------
    def _selected(self, prof, s) -> np.ndarray:
        p = prof.shares[s] * prof.selection
        return p / p.sum()

    def sample_shares(self) -> np.ndarray:
        seg = self.s.segment
        p = seg.shares[None] * seg.selection
        for prof in self.s.profile:
            p = p * np.array([prof.shares[s] @ prof.selection for s in seg.codes])
        return p / p.sum()

    def composition(self, rng, n: int, *, sample: bool) -> dict:
        seg = self.s.segment
        codes = np.asarray(seg.codes, dtype=float)
        if sample:
            segs = codes[rng.choice(len(codes), size=n, p=self.sample_shares())]
        else:
            segs = np.repeat(codes, _allocate(n, seg.shares[None]))
        comp = {seg.variable: segs}
        for prof in self.s.profile:
            values = np.empty(n)
            for s in seg.codes:
                rows = segs == s
                p = self._selected(prof, s) if sample else prof.shares[s]
                values[rows] = np.asarray(prof.codes, float)[rng.choice(len(p), rows.sum(), p=p)]
            comp[prof.variable] = values
        return comp

    def margins(self, *, sample: bool) -> dict:
        seg = self.s.segment
        pseg = self.sample_shares() if sample else seg.shares[None]
        out = {seg.variable: dict(zip(seg.codes, 100 * pseg, strict=True))}
        for prof in self.s.profile:
            m = sum(ps * (self._selected(prof, s) if sample else prof.shares[s])
                    for ps, s in zip(pseg, seg.codes, strict=True))
            out[prof.variable] = dict(zip(prof.codes, 100 * m, strict=True))
        return out

    # -- latent variables and answers ----------------------------------------------------
    @staticmethod
    def _shift(shift: dict, comp: dict, n: int) -> np.ndarray:
        total = np.zeros(n)
        for var, by_code in shift.items():
            for code, d in by_code.items():
                total[comp[var] == code] += d
        return total

    def _items(self, rng, latent, values: np.ndarray, z: dict) -> None:
        for it in latent.items:
            e = rng.standard_normal(len(values))
            z[it.column] = it.sign * it.loading * values + np.sqrt(1 - it.loading ** 2) * e

    def draw(self, rng, comp: dict, wave: dict | None = None) -> tuple[dict, dict]:
        """Latent variables (``lat``) and the items' latent answers before location (``z``);
        ``wave``: a wave's shifts of latent variables (added before they drive others)."""
        s = self.s
        wave = wave or {}
        n = len(comp[s.segment.variable])
        lat: dict[str, np.ndarray] = {}
        z: dict[str, np.ndarray] = {}
        if self.names:
            F = rng.standard_normal((n, len(self.names))) @ self.chol.T
            for k, c in enumerate(s.constructs):
                lat[c.name] = F[:, k] + self._shift(c.shift, comp, n)
                if c.name in wave:
                    lat[c.name] = lat[c.name] + wave[c.name]
                self._items(rng, c, lat[c.name], z)
        X = np.column_stack([lat[d] if d in lat else z[d] for d in s.drivers])
        e = rng.standard_normal(n)
        eta = self._shift(s.outcome.shift, comp, n)
        segs = comp[s.segment.variable]
        for code, w in s.weights.items():
            rows = segs == code
            eta[rows] += (X[rows] @ w + self.noise[code] * e[rows]) / self.norm[code]
        if s.outcome.name in wave:
            eta = eta + wave[s.outcome.name]
        lat[s.outcome.name] = eta
        self._items(rng, s.outcome, eta, z)
        for link in s.links:
            zeta = self._shift(link.shift, comp, n)
            for src, b in link.sources.items():
                zeta += b * (lat[src] if src in lat else z[src])
            resid = np.sqrt(max(0.05, 1 - sum(b * b for b in link.sources.values())))
            lat[link.name] = zeta + resid * rng.standard_normal(n)
            if link.name in wave:
                lat[link.name] = lat[link.name] + wave[link.name]
            self._items(rng, link, lat[link.name], z)
        return lat, z

    def answers(self, z: dict, wave: dict | None = None) -> dict:
        """Codes from the latent answers; ``wave``: a wave's shifts of single items."""
        out = {}
        wave = wave or {}
        for latent in (*self.s.constructs, self.s.outcome, *self.s.links):
            for it in latent.items:
                x = z[it.column] + it.location
                if it.column in wave:
                    x = x + wave[it.column]
                idx = np.searchsorted(cut_points(len(it.codes)), x)
                out[it.column] = it.codes[idx]
        return out

    def multi(self, rng, comp: dict) -> dict:
        out = {}
        segs = comp[self.s.segment.variable]
        for qid, m in self.s.multi.items():
            P = np.vstack([m["p"][s] for s in segs]) if len(segs) else np.zeros((0, 0))
            ticks = rng.random(P.shape) < P
            excl = [j for j, x in enumerate(m["exclusive"]) if x]
            for j in excl:
                ticks[ticks[:, j]] = False
                ticks[:, j] = False
            if excl:
                ticks[~ticks.any(axis=1), excl[0]] = True
            for j, code in enumerate(m["codes"]):
                out[f"{qid}_{code}"] = ticks[:, j].astype(float)
        return out

    def _theme_logits(self, spec: dict, lat: dict, z: dict, comp: dict, answers: dict,
                      n: int) -> np.ndarray:
        """Log-odds of each theme per respondent: its weight, moved by its source (low or
        high), its segment's factor and its NPS group's factor."""
        segs = comp[self.s.segment.variable]
        group = (_nps_groups(answers[spec["nps"]], spec["nps"]) if spec["nps"]
                 else np.full(n, None))
        cols = []
        for t in spec["themes"]:
            src = t["source"]
            x = t["log_weight"] + spec["strength"] * t["sign"] * (
                (lat[src] if src in lat else z[src]) if src else np.zeros(n))
            for code, lw in t["log_by_segment"].items():
                x = x + lw * (segs == code)
            for g, lw in t["log_by_nps"].items():
                x = x + lw * (group == g)
            cols.append(x)
        return np.column_stack(cols)

    def open_text(self, rng, lat: dict, z: dict, comp: dict, answers: dict,
                  n: int) -> tuple[dict, dict, dict]:
        """Open answers (``texts``), the themes each mentions (``themes``, ``a;b``) and the
        language of each (``languages``, for questions that declare languages or noise)."""
        texts, themes, languages = {}, {}, {}
        for qid, spec in self.s.open_text.items():
            give = rng.random(n) < spec["rate"]
            logits = self._theme_logits(spec, lat, z, comp, answers, n)
            first = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
            masked = logits.copy()
            masked[np.arange(n), first] = -np.inf
            second = np.argmax(masked + rng.gumbel(size=logits.shape), axis=1)
            two = give & (rng.random(n) < spec["second"]) & (len(spec["themes"]) > 1)
            langs = list(spec["languages"])
            lang = (np.asarray(langs, dtype=object)[
                rng.choice(len(langs), n, p=list(spec["languages"].values()))]
                if len(langs) > 1 else np.full(n, langs[0], dtype=object))
            phrase = {1: np.full(n, np.nan, dtype=object), 2: np.full(n, np.nan, dtype=object)}
            label = np.full(n, np.nan, dtype=object)
            for k, pick, rows_of in ((1, first, give), (2, second, two)):
                for j, t in enumerate(spec["themes"]):
                    for lg in langs:
                        rows = rows_of & (pick == j) & (lang == lg)
                        phrases = np.asarray(t["phrases"][lg], dtype=object)
                        phrase[k][rows] = phrases[rng.integers(0, len(phrases), int(rows.sum()))]
                    rows = rows_of & (pick == j)
                    label[rows] = t["name"] if k == 1 else label[rows] + ";" + t["name"]
            if spec["noise"] == 0 and langs == ["en"]:      # plain: phrases joined by a space
                text = phrase[1].copy()
                text[two] = text[two] + " " + phrase[2][two]
            else:
                from ..text.synthetic import compose_answer

                text = np.full(n, np.nan, dtype=object)
                for i in np.flatnonzero(give):
                    parts = [phrase[1][i]] + ([phrase[2][i]] if two[i] else [])
                    text[i] = compose_answer(rng, parts, lang[i], spec["noise"])
                languages[f"{qid}_language"] = np.where(give, lang, np.nan)
            texts[qid], themes[f"{qid}_themes"] = text, label
        return texts, themes, languages


def _nps_groups(x: np.ndarray, column: str) -> np.ndarray:
    """``detractor``, ``passive`` or ``promoter`` by the cut-offs of the NPS estimate; None
    for a missing answer (or a declared missing code)."""
    from .._weighted_stats import _nps_score

    x = np.asarray(x, dtype=float)
    score = _nps_score(np.where((x >= 0) & (x <= 10), x, np.nan), column)
    return np.select([score == -100, score == 0, score == 100],
                     ["detractor", "passive", "promoter"], None).astype(object)


# ---------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------
def simulate_from_truth(questionnaire: Questionnaire, truth, *, n: int | None = None,
                        seed: int | None = None, problems: int | None = None,
                        wave: str | None = None) -> Simulation:
    """Simulate respondents to ``questionnaire`` from a declared ground truth.

    Parameters
    ----------
    questionnaire : Questionnaire
        A loaded questionnaire.
    truth : path or dict
        The truth file (``data/<survey>/simulation.yaml``; format in
        :mod:`surveykit.simulate.truth_file`) or the same content as a dict.
    n, seed : int, optional
        Override the truth's respondents and seed.
    problems : int, optional
        Rows per planted quality rule (default: the truth's ``problems``, else 0: clean).
    wave : str, optional
        A wave the truth declares (``waves:``): its shifts are applied, the seed is ``seed +
        k`` for the k-th wave (0 = first) and respondent ids start at ``100001 + k *
        1000000``; ``truth["wave"]`` records it, and the population values in the truth are
        that wave's. Default: the model without wave shifts.

    Returns
    -------
    Simulation
        ``responses`` (routing obeyed, codes on each question's scale), ``truth`` (the
        declared truth plus the population values, per-segment driver ranking
        ``truth["drivers"]["top_drivers"]``, paths, loadings and the sample skew),
        ``targets`` (population margins of ``roles.weighting``), ``respondents`` (latent
        scores and open-text themes per respondent), ``problems``; ``crm`` is empty.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/employee_engagement.yaml")
    >>> sim = simulate_from_truth(q, "data/employee_engagement/simulation.yaml", n=300)
    >>> sim.responses.shape[0], sim.problems.empty
    (300, True)
    >>> sim.truth["drivers"]["top_drivers"]["4"][0]  # engineering: career growth first
    'gr_career'
    """
    if not isinstance(questionnaire, Questionnaire):
        raise SimulationError("simulate_from_truth() needs a loaded Questionnaire; use "
                              "surveykit.questionnaire.load_questionnaire(path) first")
    for name, value in (("n", n), ("seed", seed), ("problems", problems)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise SimulationError(f"{name} must be a non-negative integer, got {value!r}")
    spec = build_spec(questionnaire, truth, n=n, seed=seed)
    shift, k = {}, 0
    if wave is not None:
        if str(wave) not in spec.waves:
            raise SimulationError(f"wave {wave!r} is not declared in the truth's waves: "
                                  f"{', '.join(spec.waves) or 'none declared'}")
        k = list(spec.waves).index(str(wave))
        shift = spec.waves[str(wave)]
    per_rule = spec.problems if problems is None else problems
    if spec.n < (100 if per_rule else 10):
        raise SimulationError(f"n={spec.n} is too small; use n >= {100 if per_rule else 10}")
    q, model = questionnaire, _Model(questionnaire, spec)
    sample_ss, pop_ss, text_ss, assemble_ss, problem_ss = np.random.SeedSequence(
        spec.seed + k).spawn(5)
    rng = np.random.default_rng(sample_ss)
    comp = model.composition(rng, spec.n, sample=True)
    lat, z = model.draw(rng, comp, shift)
    answers = model.answers(z, shift)
    for col, (code, rate) in spec.missing.items():
        answers[col] = np.where(rng.random(spec.n) < rate, float(code), answers[col])
    intended = {**comp, **answers, **model.multi(rng, comp)}
    texts, themes, languages = model.open_text(np.random.default_rng(text_ss), lat, z, comp,
                                               answers, spec.n)
    intended.update(texts)
    ids = np.arange(100001, 100001 + spec.n) + k * 1_000_000
    trng = np.random.default_rng(text_ss.spawn(1)[0])
    pii = [v.name for v in q.variables().values() if v.kind == "open" and v.pii
           and v.name not in texts]
    for col in pii:
        intended[col] = np.where(trng.random(spec.n) < EMAIL_RATE,
                                 np.array([f"respondent{i}@example.com" for i in ids],
                                          dtype=object), np.nan)
    clean = _assemble(q, spec.n, intended, np.random.default_rng(assemble_ss))
    if k and q.roles.respondent_id in clean.columns:  # each wave its own respondents
        clean[q.roles.respondent_id] = clean[q.roles.respondent_id] + k * 1_000_000
    generic = [c for c, v in q.variables().items() if v.kind not in ("derived", "id")
               and c not in intended and c in clean.columns]
    truth = _truth(q, spec, model, clean, comp, np.random.default_rng(pop_ss), generic, pii,
                   shift)
    if wave is not None:
        truth["wave"] = {"label": str(wave), "index": k, "seed": spec.seed + k,
                         "shift": shift, "note": "shifts in SD units of the latent variable "
                         "or the item's latent answer; population values are this wave's"}
    rid = q.roles.respondent_id
    respondents = pd.DataFrame({rid: clean[rid].to_numpy(),
                                spec.segment.variable: comp[spec.segment.variable]})
    for name, values in lat.items():
        respondents[name] = np.round(values, 3)
    for name, values in themes.items():
        asked = clean[name[:-len("_themes")]].notna().to_numpy()
        respondents[name] = np.where(asked, values, np.nan)
    for name, values in languages.items():
        asked = clean[name[:-len("_language")]].notna().to_numpy()
        respondents[name] = np.where(asked, values, np.nan)
    truth["open_text_counts"] = {name[:-len("_themes")]: _theme_counts(respondents[name])
                                 for name in themes}
    if per_rule:
        responses, planted = _plant_problems(q, clean, np.random.default_rng(problem_ss),
                                             per_rule)
    else:
        responses = clean
        planted = pd.DataFrame(columns=["resp_id", "question", "rule", "row", "detail"])
    truth["problems"] = {"rows_per_rule": int(per_rule), "planted": bool(per_rule),
                         "counts": {r: int((planted["rule"] == r).sum()) for r in PROBLEM_RULES}}
    margins = model.margins(sample=False)
    targets = {"total": spec.n, "unit": "percent", "margins": [
        {"variable": v, "targets": _hundred(margins[v])} for v in q.roles.weighting]}
    return Simulation(responses=responses, truth=_json_clean(truth), problems=planted,
                      crm=pd.DataFrame(), targets=targets, respondents=respondents)


def write_from_truth(questionnaire: Questionnaire, truth, out_dir, *, n: int | None = None,
                     seed: int | None = None) -> list[Path]:
    """Simulate from a truth file and write the survey folder, byte-for-byte reproducibly.

    Writes ``responses.csv``, ``targets.yaml`` (population margins of the weighting
    variables), ``truth.json`` (the declared truth and the computed one) and
    ``truth_respondents.csv`` (latent scores and open-text themes per respondent), plus
    ``planted_problems.csv`` when the truth plants problems; each through a temporary file.

    Parameters
    ----------
    questionnaire : Questionnaire
        The loaded questionnaire.
    truth : path or dict
        The truth file (see :func:`simulate_from_truth`).
    out_dir : path
        Folder to write into (created if needed); may be the truth file's own folder.
    n, seed : int, optional
        Override the truth's respondents and seed.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/product_feedback.yaml")
    >>> truth = "data/product_feedback/simulation.yaml"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     a = write_from_truth(q, truth, Path(tmp) / "a", n=200)
    ...     b = write_from_truth(q, truth, Path(tmp) / "b", n=200)
    ...     same = [x.read_bytes() == y.read_bytes() for x, y in zip(a, b)]
    >>> [p.name for p in a], all(same)
    (['responses.csv', 'targets.yaml', 'truth.json', 'truth_respondents.csv'], True)
    """
    sim = simulate_from_truth(questionnaire, truth, n=n, seed=seed)
    texts = {
        "responses.csv": _csv_text(sim.responses),
        "targets.yaml": _targets_yaml(sim.targets, sim.truth, questionnaire),
        "truth.json": json.dumps(sim.truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        "truth_respondents.csv": _csv_text(sim.respondents),
    }
    if sim.truth["problems"]["planted"]:
        texts["planted_problems.csv"] = _csv_text(sim.problems)
    out = Path(out_dir)
    return [atomic_write(out / name, text.encode("utf-8")) for name, text in texts.items()]


# ---------------------------------------------------------------------------------------
# the computed truth
# ---------------------------------------------------------------------------------------
def _theme_counts(labels: pd.Series) -> dict:
    """How many answers mention each theme (``"a;b"`` counts for a and for b)."""
    counts: dict[str, int] = {}
    for text in labels.dropna():
        for theme in text.split(";"):
            counts[theme] = counts.get(theme, 0) + 1
    return dict(sorted(counts.items()))


def _index(q: Questionnaire, col: str, x: np.ndarray) -> np.ndarray:
    codes = sorted(c for c in q.variable(col).value_labels if isinstance(c, int | float))
    lo, hi = float(codes[0]), float(codes[-1])
    return (x - lo) / (hi - lo) * 100


def _column_stats(q: Questionnaire, col: str, x: np.ndarray) -> dict:
    x = x[~np.isnan(x)]
    var = q.variable(col)
    codes = sorted(c for c in var.value_labels if isinstance(c, int | float))
    if not len(x):
        return {"n": 0}
    if var.kind == "single":
        return {"n": int(len(x)), "share": _shares(x, codes)}
    out = {"n": int(len(x)), "mean": round(float(x.mean()), 4),
           "index": round(float(_index(q, col, x).mean()), 3)}
    scale = q.scale_of(col)
    if scale is not None:
        out["top_box"] = round(float(np.isin(x, scale.favourable_codes).mean()), 4)
    if var.kind == "nps":
        out["nps"] = round(float(100 * ((x >= 9).mean() - (x <= 6).mean())), 3)
    return out


def _construct_scores(q: Questionnaire, frame: pd.DataFrame, items: dict) -> np.ndarray:
    """Mean of the items' 0-100 indices, reverse-keyed items (sign -1) reversed."""
    parts = [np.where(sign < 0, 100 - _index(q, c, frame[c].to_numpy(float)),
                      _index(q, c, frame[c].to_numpy(float))) for c, sign in items.items()]
    return np.mean(parts, axis=0)


def _truth(q, spec: Spec, model: _Model, clean: pd.DataFrame, comp: dict, rng,
           generic: list, pii: list, shift: dict | None = None) -> dict:
    from ..drivers import shapley_from_corr

    segvar = spec.segment.variable
    N = spec.population_draw
    pcomp = model.composition(rng, N, sample=False)
    plat, pz = model.draw(rng, pcomp, shift)
    pop = pd.DataFrame({**{k: v for k, v in pcomp.items()}, **model.answers(pz, shift)})
    not_routed, asked = [], {}
    for col in pop.columns:
        qu = q.question(q.variable(col).question)
        if qu.ask_if:
            try:
                asked[col] = q.asked(pop, qu.id).to_numpy()
            except KeyError:
                not_routed.append(col)
    latents = [*spec.constructs, spec.outcome, *spec.links]
    items = [it.column for lt in latents for it in lt.items if it.column not in not_routed]
    headline = [it.column for lt in (spec.outcome, *spec.links) for it in lt.items
                if it.column not in not_routed]

    def stats(frame: pd.DataFrame, cols: list, mask) -> dict:
        out = {}
        for c in cols:
            m = mask & asked.get(c, np.ones(len(pop), bool))
            out[c] = _column_stats(q, c, frame[c].to_numpy(float)[m])
        return out

    qconstructs = {}
    for c in q.constructs:
        cols, rev = q.construct_items(c.id)
        if all(x in pop.columns and x not in asked for x in cols):
            qconstructs[c.id] = _construct_scores(q, pop, {x: -1.0 if x in rev else 1.0
                                                            for x in cols})
    everyone = np.ones(len(pop), bool)
    population = {"columns": stats(pop, items, everyone),
                  "construct_index": {k: round(float(v.mean()), 3)
                                      for k, v in qconstructs.items()}}
    by_segment = {}
    for s in spec.segment.codes:
        rows = pop[segvar].to_numpy() == s
        by_segment[str(s)] = {"share": round(float(rows.mean()), 4),
                              "columns": stats(pop, headline, rows),
                              "construct_index": {k: round(float(v[rows].mean()), 3)
                                                  for k, v in qconstructs.items()}}
    # the driver ranking the data should show: Shapley (LMG) in the population
    signs = {lt.name: {it.column: it.sign for it in lt.items} for lt in spec.constructs}
    X = np.column_stack([_construct_scores(q, pop, signs[d]) if d in signs
                         else pop[d].to_numpy(float) for d in spec.drivers])
    y = pop[spec.outcome_column].to_numpy(float)
    drivers = {"outcome": spec.outcome_column, "outcome_construct": spec.outcome.name,
               "drivers": spec.drivers, "segment_variable": segvar,
               "level": "construct" if all(d in signs for d in spec.drivers) else "item",
               "construct_score": "mean of the construct's items rescaled to 0-100 "
                                  "(reverse-keyed items reversed)",
               "r2_latent": spec.r2, "by_segment": {}, "top_drivers": {}}
    groups = [("Total", everyone), *((str(s), pop[segvar].to_numpy() == s)
                                     for s in spec.segment.codes)]
    for key, rows in groups:
        corr = np.corrcoef(np.column_stack([X[rows], y[rows]]), rowvar=False)
        phi = shapley_from_corr(corr)
        order = [spec.drivers[j] for j in np.argsort(-phi, kind="stable")]
        entry = {"r2": round(float(phi.sum()), 4),
                 "shapley_share": {d: round(float(v / phi.sum()), 4)
                                   for d, v in zip(spec.drivers, phi, strict=True)},
                 "ranking": order}
        if key != "Total":
            code = spec.segment.codes[[str(c) for c in spec.segment.codes].index(key)]
            w = spec.weights[code]
            entry["weights"] = dict(zip(spec.drivers, map(float, w), strict=True))
            entry["paths"] = {d: round(float(b), 4)
                              for d, b in zip(spec.drivers, model.paths[code], strict=True)}
            entry["declared_top"] = [spec.drivers[j] for j in np.argsort(-w, kind="stable")
                                     if w[j] > w.min()]
        drivers["by_segment"][key] = entry
        drivers["top_drivers"][key] = order[:3]
    # the sample as drawn, against the population
    outcome = clean[spec.outcome_column].to_numpy(float)
    unweighted = _column_stats(q, spec.outcome_column, outcome)
    pop_outcome = population["columns"][spec.outcome_column]
    margins_pop, margins_smp = model.margins(sample=False), model.margins(sample=True)
    observed = {v: _shares(comp[v], codes) for v, codes in
                [(spec.segment.variable, spec.segment.codes),
                 *((p.variable, p.codes) for p in spec.profile)]}
    skew = {
        "description": "respondents are selected with probability proportional to the "
                       "product of the selection factors of their segment and profile codes",
        "population_percent": {v: {str(c): round(float(x), 2) for c, x in m.items()}
                               for v, m in margins_pop.items()},
        "expected_sample_percent": {v: {str(c): round(float(x), 2) for c, x in m.items()}
                                    for v, m in margins_smp.items()},
        "observed_sample_share": observed,
        "unweighted_sample": {spec.outcome_column: unweighted},
        "bias_direction": {spec.outcome_column: "up" if unweighted["mean"] > pop_outcome["mean"]
                           else "down"},
    }
    latents_out = {lt.name: {"kind": lt.kind,
                             "items": {it.column: it.loading for it in lt.items},
                             "loadings_raw": {it.column: it.sign * it.loading for it in lt.items},
                             "reverse": [it.column for it in lt.items if it.sign < 0],
                             "locations": {it.column: it.location for it in lt.items},
                             **({"from": lt.sources} if lt.sources else {})}
                   for lt in latents}
    multi = {qid: {"population_share": {
        str(code): round(float(sum(spec.segment.shares[None][i] * m["p"][s][j]
                                   for i, s in enumerate(spec.segment.codes))), 4)
        for j, code in enumerate(m["codes"])}} for qid, m in spec.multi.items()}
    return {
        "kind": "declared", "questionnaire": q.id, "seed": spec.seed, "n": spec.n,
        "declared": spec.raw, "segment_variable": segvar,
        "segments": {str(c): q.labels(segvar).get(c, str(c)) for c in spec.segment.codes},
        "latent_variables": latents_out, "drivers": drivers,
        "population": population, "population_by_segment": by_segment,
        "population_draw": N,
        "population_note": f"computed from {N} draws of the population composition "
                           "(targets), same model, before declared missing codes",
        "not_in_population": sorted(not_routed), "sample_skew": skew,
        "multi": multi, "generic_columns": generic,
        "pii_columns": {c: f"fake addresses at example.com for {EMAIL_RATE:.0%} of those "
                           "asked" for c in pii},
        "model": "item = cut(location + sign * loading * latent + sqrt(1 - loading^2) * "
                 "N(0, 1)) at evenly spaced points on (-2, 2), codes in ascending order; "
                 "outcome latent = shift + (sum_d weight[s][d] * driver_d + noise) / norm[s], "
                 "unit variance within segment s, r2_latent explained; "
                 "link = shift + sum_k effect_k * source_k + noise",
    }
