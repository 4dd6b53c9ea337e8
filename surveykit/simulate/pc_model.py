"""The generating model behind :func:`~surveykit.simulate.default_truth`: composition,
latent factors, drivers, loyalty links, needs segments, population truth and the CRM extract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..questionnaire import Questionnaire


def _probs(x) -> np.ndarray:
    p = np.asarray(x, dtype=float)
    return p / p.sum()


def _pick(rng, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix -> 0-based index."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random((len(probs), 1)) > cum).sum(axis=1)


def _round_codes(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.rint(x), lo, hi)


class _PCModel:
    """The generating model behind :func:`default_truth`."""

    product = ["performance", "mobility", "dependability", "brand_value"]

    def __init__(self, q: Questionnaire, truth: dict):
        self.q, self.truth = q, truth
        self.factors = list(truth["factors"])
        self.items = {i: f for f, items in truth["factors"].items() for i in items}
        comp = truth["composition"]
        self.segments = [int(s) for s in comp["segment"]["population"]]
        self.regions = list(range(1, len(comp["region_given_segment"]["1"]) + 1))
        self.genders = [int(g) for g in comp["gender"]["population_within_individuals"]]

    # -- composition ------------------------------------------------------------------
    def cells(self, *, sample: bool) -> tuple[list[tuple[int, int, int]], np.ndarray]:
        """(segment, region, gender or 0) cells with population (or sample) probabilities."""
        comp = self.truth["composition"]
        seg_p = comp["segment"]["population"]
        gen_p = comp["gender"]["population_within_individuals"]
        cells, probs = [], []
        for s in self.segments:
            reg = _probs(comp["region_given_segment"][str(s)])
            genders = self.genders if s <= 3 else [0]
            for r in self.regions:
                for g in genders:
                    p = seg_p[str(s)] / 100 * reg[r - 1] * (gen_p[str(g)] / 100 if g else 1.0)
                    if sample:
                        p *= comp["segment"]["selection_factor"][str(s)]
                        p *= comp["region"]["selection_factor"][str(r)]
                        p *= comp["gender"]["selection_factor"][str(g)] if g else 1.0
                    cells.append((s, r, g))
                    probs.append(p)
        return cells, _probs(probs)

    def margins(self, *, sample: bool) -> dict:
        cells, p = self.cells(sample=sample)
        seg = {s: 0.0 for s in self.segments}
        reg = {r: 0.0 for r in self.regions}
        gen = {g: 0.0 for g in self.genders}
        for (s, r, g), pi in zip(cells, p, strict=True):
            seg[s] += pi
            reg[r] += pi
            if g:
                gen[g] += pi
        tot = sum(gen.values())
        return {"segment": {k: 100 * v for k, v in seg.items()},
                "region": {k: 100 * v for k, v in reg.items()},
                "gender": {k: 100 * v / tot for k, v in gen.items()}}

    def targets(self, n: int) -> dict:
        m = self.margins(sample=False)
        return {"total": n, "unit": "percent", "margins": [
            {"variable": "segment", "targets": _hundred(m["segment"])},
            {"variable": "region", "targets": _hundred(m["region"])},
            {"variable": "gender", "within": {"cust_type": 1}, "targets": _hundred(m["gender"])},
        ]}

    # -- the outcome chain (used for the sample and for the population draw) ------------
    def core(self, rng, seg: np.ndarray, reg: np.ndarray) -> dict:
        t, n = self.truth, len(seg)
        k = len(self.factors)
        corr = np.full((k, k), t["factor_correlations"]["product"])
        for i, f in enumerate(self.factors):
            if f not in self.product:
                corr[i, :] = corr[:, i] = t["factor_correlations"]["product_service"]
        np.fill_diagonal(corr, 1.0)
        chol = np.linalg.cholesky(corr)
        F = rng.standard_normal((n, k)) @ chol.T
        for level, codes in (("segment", seg), ("region", reg)):
            for code, shifts in t["factor_shifts"][level].items():
                rows = codes == int(code)
                for f, d in shifts.items():
                    F[rows, self.factors.index(f)] += d
        out = {"F": F}
        sd = t["item_sd"]
        for item, f in self.items.items():
            lam = t["factors"][f][item]
            z = lam * F[:, self.factors.index(f)] + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
            out[item] = _round_codes(t["item_means"][item] + sd * z, 0, 10)
        d = t["drivers"]
        mean = np.zeros(n)
        lin = np.zeros(n)
        for s in self.segments:
            rows = seg == s
            mean[rows] = d["segment_mean"][str(s)]
            for a, w in d["weights"][str(s)].items():
                lin[rows] += w * (out[a][rows] - t["item_means"][a])
        for r, shift in d["region_shift"].items():
            mean[reg == int(r)] += shift
        overall = _round_codes(mean + lin + d["noise_sd"] * rng.standard_normal(n), 0, 10)
        ln = t["links"]
        nps = _round_codes(ln["nps"]["intercept"] + ln["nps"]["slope"] * overall
                           + ln["nps"]["noise_sd"] * rng.standard_normal(n), 0, 10)
        rp = ln["repurchase"]
        zr = rp["slope"] * (overall - rp["centre"]) + rng.standard_normal(n)
        repurchase = 1.0 + (zr[:, None] > np.asarray(rp["cutpoints"])[None, :]).sum(axis=1)
        cp = ln["complaint"]
        eta = (cp["intercept"] + cp["slope_overall_sat"] * (overall - 7)
               + cp["slope_svc_speed"] * (out["svc_speed"] - 6.2))
        complaint = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), 1.0, 2.0)
        out.update(overall_sat=overall, nps=nps, repurchase=repurchase, complaint=complaint)
        return out

    # -- the sample ---------------------------------------------------------------------
    def sample(self, rng, n: int) -> tuple[dict, pd.DataFrame]:
        t = self.truth
        cells, p = self.cells(sample=True)
        idx = rng.choice(len(cells), size=n, p=p)
        cell = np.asarray(cells)[idx]
        seg, reg, gen = cell[:, 0], cell[:, 1], cell[:, 2].astype(float)
        ind = seg <= 3
        core = self.core(rng, seg, reg)
        v: dict[str, object] = {}
        v["cust_type"] = np.where(ind, 1.0, 2.0)
        v["region"] = reg.astype(float)
        v["gender"] = np.where(ind, gen, np.nan)
        # age within the segment's band
        age = np.full(n, np.nan)
        age[seg == 1] = rng.integers(18, 25, (seg == 1).sum())
        age[seg == 2] = rng.integers(25, 41, (seg == 2).sum())
        older = seg == 3
        age[older] = np.clip(np.rint(41 + rng.gamma(2.2, 7.5, older.sum())), 41, 88)
        v["age"] = age
        occ_p = {1: [0.86, 0.01, 0.02, 0.02, 0.05, 0, 0.04],
                 2: [0.03, 0.25, 0.27, 0.17, 0.25, 0, 0.03],
                 3: [0, 0.12, 0.08, 0.05, 0.35, 0.30, 0.10]}
        occ = np.full(n, np.nan)
        for s, pr in occ_p.items():
            rows = seg == s
            occ[rows] = 1 + _pick(rng, np.tile(_probs(pr), (rows.sum(), 1)))
        retire = older & (age >= 62) & (rng.random(n) < 0.6)
        occ[retire] = 6
        v["occupation"] = occ
        gaming_p = np.select([seg == 1, seg == 2], [0.45, 0.35], 0.08)
        v["use_1"] = (rng.random(n) < 0.8).astype(float)
        v["use_2"] = (rng.random(n) < gaming_p).astype(float)
        v["use_3"] = (rng.random(n) < np.where(occ == 4, 0.85, 0.12)).astype(float)
        v["use_4"] = (rng.random(n) < np.where(occ == 3, 0.7, 0.08)).astype(float)
        v["use_5"] = (rng.random(n) < 0.7).astype(float)
        # organisations: type and size consistent with the segment rules
        org_type = np.full(n, np.nan)
        org_size = np.full(n, np.nan)
        large, sme, gov = seg == 4, seg == 5, seg == 6
        org_type[large] = np.where(rng.random(large.sum()) < 0.75, 1, 2)
        big = 4 + _pick(rng, np.tile(_probs([0.45, 0.25, 0.30]), (large.sum(), 1)))
        small_ent = 1 + _pick(rng, np.tile(_probs([0.2, 0.4, 0.4]), (large.sum(), 1)))
        org_size[large] = np.where((org_type[large] == 1) & (rng.random(large.sum()) < 0.1),
                                   small_ent, big)
        org_type[sme] = 2
        org_size[sme] = 1 + _pick(rng, np.tile(_probs([0.15, 0.5, 0.35]), (sme.sum(), 1)))
        org_type[gov] = np.where(rng.random(gov.sum()) < 0.55, 3, 4)
        org_size[gov] = 1 + _pick(rng, np.tile(_probs([0.05, 0.15, 0.2, 0.3, 0.15, 0.15]),
                                               (gov.sum(), 1)))
        v["org_type"], v["org_size"] = org_type, org_size
        v["it_role"] = np.where(ind, np.nan,
                                1 + _pick(rng, np.tile(_probs([0.4, 0.35, 0.25]), (n, 1))))
        # grids with don't know / not used
        miss = t["missing"]
        for item in self.items:
            x = core[item].copy()
            if item.startswith("svc_"):
                nu_ind = miss["not_used"]["individual"].get(item, 0.0)
                nu_org = miss["not_used"]["organisation"].get(item, 0.0)
                u = rng.random(n)
                x[u < np.where(ind, nu_ind, nu_org)] = 97
                x[(x != 97) & (rng.random(n) < miss["dont_know"]["service"])] = 98
            else:
                rate = miss["dont_know"].get(item, miss["dont_know"]["default_attribute"])
                x[rng.random(n) < rate] = 98
            v[item] = x
        for name in ("overall_sat", "nps", "complaint"):
            v[name] = core[name]
        rep = core["repurchase"].copy()
        rep[rng.random(n) < miss["dont_know"]["repurchase"]] = 98
        v["repurchase"] = rep
        self._complaint_reasons(rng, v, core, ind)
        needs, traits = self._attitudes(rng, v, seg)
        self._purchase(rng, v, seg, needs, core, ind)
        v["duration_sec"] = self._duration(rng, n, ind, core["complaint"])
        ids = rng.choice(900000, size=n, replace=False) + 100000
        v["customer_id"] = np.array([f"C{i:06d}" for i in ids], dtype=object)
        v["resp_id"] = np.arange(100001, 100001 + n)
        refresh = np.where(ind, 14.0, 20.0)  # organisations keep machines longer
        v["months_owned"] = np.clip(np.rint(rng.gamma(1.6, refresh / 1.6)), 0, 96)
        respondents = pd.DataFrame({"resp_id": v["resp_id"], "segment": seg,
                                    "needs_segment": needs})
        for j, f in enumerate(self.factors):
            respondents[f] = np.round(core["F"][:, j], 4)
        for j, f in enumerate(self.truth["needs_segments"]["traits"]):
            respondents[f] = np.round(traits[:, j], 4)
        self._needs = needs
        return v, respondents

    def _complaint_reasons(self, rng, v, core, ind) -> None:
        n = len(ind)
        yes = core["complaint"] == 1
        slow = core["svc_speed"] <= 5
        probs = {1: np.where(core["sat_reliab"] <= 5, 0.6, 0.3),
                 2: np.where(slow, 0.65, 0.2), 3: np.full(n, 0.2),
                 4: np.where(ind, 0.15, 0.08), 5: np.full(n, 0.12),
                 6: np.where(core["sat_updates"] <= 5, 0.45, 0.15), 7: np.full(n, 0.05)}
        for code, p in probs.items():
            v[f"complaint_reasons_{code}"] = np.where(yes, (rng.random(n) < p).astype(float),
                                                      np.nan)
        none = yes & ~np.any([v[f"complaint_reasons_{c}"] == 1 for c in probs], axis=0)
        v["complaint_reasons_1"][none] = 1.0
        texts = np.array(["Invoice was wrong", "Missing accessories in the box",
                          "Sales promise not kept", "Charger stopped working"], dtype=object)
        v["complaint_reasons_7_text"] = np.where(v["complaint_reasons_7"] == 1,
                                                 texts[rng.integers(0, len(texts), n)], np.nan)

    def _attitudes(self, rng, v, seg) -> tuple[np.ndarray, np.ndarray]:
        ns = self.truth["needs_segments"]
        n = len(seg)
        probs = np.vstack([_probs(ns["class_probabilities_by_segment"][str(s)]) for s in seg])
        needs = 1 + _pick(rng, probs)
        means = np.asarray([ns["trait_means"][str(c)] for c in (1, 2, 3)])
        traits = means[needs - 1] + ns["trait_sd_within"] * rng.standard_normal((n, 3))
        cut = np.array([-1.5, -0.6, 0.2, 1.0])
        offsets = {"att_latest": -0.1, "att_paymore": 0.1, "att_specs": 0.3,
                   "att_compare": -0.2, "att_deal": 0.1, "att_promo": 0.0,
                   "att_service": -0.3, "att_inperson": 0.2, "att_onevendor": 0.1}
        for j, item in enumerate(ns["items"]):
            sign = -1.0 if item in ns["reverse_items"] else 1.0
            z = sign * traits[:, j // 3] - offsets.get(item, 0.0)
            z = z + ns["item_noise_sd"][item] * rng.standard_normal(n)
            v[item] = 1.0 + (z[:, None] > cut[None, :]).sum(axis=1)
        return needs, traits

    def _purchase(self, rng, v, seg, needs, core, ind) -> None:
        n = len(seg)
        ch = {1: [0.12, 0.43, 0.10, 0.10, 0.22, 0.03, 0, 0],
              2: [0.22, 0.50, 0.12, 0.12, 0, 0.04, 0, 0],
              3: [0.10, 0.25, 0.05, 0.45, 0, 0.15, 0, 0],
              4: [0.05, 0.10, 0, 0.05, 0, 0.25, 0.20, 0.35],
              5: [0.10, 0.25, 0.02, 0.10, 0, 0.43, 0.02, 0.08],
              6: [0.02, 0.05, 0, 0.03, 0.05, 0.15, 0.60, 0.10]}
        v["channel"] = 1.0 + _pick(rng, np.vstack([_probs(ch[s]) for s in seg]))
        info = {1: [0.55, 0.50, 0.35, 0.10, 0.20, 0.02, 0.02],
                2: [0.65, 0.45, 0.25, 0.10, 0.30, 0.10, 0.03],
                3: [0.20, 0.08, 0.55, 0.40, 0.12, 0.05, 0.10],
                4: [0.30, 0.05, 0.10, 0.03, 0.35, 0.60, 0.35],
                5: [0.30, 0.10, 0.20, 0.10, 0.25, 0.30, 0.45],
                6: [0.20, 0.03, 0.10, 0.03, 0.25, 0.55, 0.30]}
        p = np.vstack([info[s] for s in seg])
        ticks = rng.random((n, 7)) < p
        other = rng.random(n) < 0.03
        empty = ~(ticks.any(axis=1) | other)
        top_source = np.argmax(p, axis=1)
        rescue = empty & (rng.random(n) < 0.75)
        ticks[np.flatnonzero(rescue), top_source[rescue]] = True
        none = (rng.random(n) < 0.03) | (empty & ~rescue)
        ticks[none] = False
        other[none] = False
        for j in range(7):
            v[f"info_sources_{j + 1}"] = ticks[:, j].astype(float)
        v["info_sources_8"] = other.astype(float)
        v["info_sources_99"] = none.astype(float)
        texts = np.array(["Trade fair", "Company newsletter", "Price comparison site",
                          "Tech forum"], dtype=object)
        v["info_sources_8_text"] = np.where(other, texts[rng.integers(0, 4, n)], np.nan)
        # decision factors: top 3 by Gumbel-perturbed utilities (Plackett-Luce)
        base = {1: [0.6, 0.2, 0.9, 1.0, 1.6, 0.2, 0.4, 0.1, 0.0, 0.6],
                2: [1.5, 1.0, 0.8, 0.8, 0.4, 0.5, 0.6, 0.2, 0.1, 0.5],
                3: [0.2, 0.8, 0.7, 0.1, 1.2, 0.6, 0.9, 1.3, 0.2, 0.1],
                4: [0.5, 0.1, 0.3, 0.3, 0.6, 0.5, 1.3, 1.0, 1.5, 0.0],
                5: [0.5, 0.1, 0.3, 0.2, 1.5, 0.3, 1.0, 1.0, 0.6, 0.0],
                6: [0.3, 0.1, 0.2, 0.1, 1.2, 0.3, 1.0, 0.8, 1.4, 0.0]}
        boost = {1: [0.8, 0.3, 0, 0, -0.4, 0, 0, 0, 0, 0],
                 2: [-0.3, 0, 0, 0, 0.9, 0, 0, 0, 0, 0],
                 3: [0, 0, 0, 0, 0, 0, 0.3, 0.9, 0, 0]}
        util = np.vstack([base[s] for s in seg]) + np.vstack([boost[c] for c in needs])
        util = util + rng.gumbel(size=util.shape)
        order = np.argsort(-util, axis=1)[:, :3]
        ranks = np.full((n, 10), np.nan)
        ranks[np.arange(n)[:, None], order] = np.arange(1, 4)
        for j in range(10):
            v[f"decision_factors_{j + 1}"] = ranks[:, j]
        # pain points: linked to attribute satisfaction and customer type
        pp = {1: np.full(n, 0.22), 2: np.full(n, 0.18),
              3: np.where(core["sat_battery"] <= 5, 0.55, 0.15),
              4: np.where(core["sat_cooling"] <= 5, 0.5, 0.12),
              5: np.where(core["svc_speed"] <= 5, 0.55, 0.08),
              6: np.where(ind, 0.05, 0.30), 7: np.where(ind, 0.06, 0.28),
              8: np.where(seg == 1, 0.45, 0.20)}
        ticks = np.column_stack([rng.random(n) < pp[c] for c in range(1, 9)])
        other = rng.random(n) < 0.04
        none = ~(ticks.any(axis=1) | other)
        for j in range(8):
            v[f"pain_points_{j + 1}"] = ticks[:, j].astype(float)
        v["pain_points_9"] = other.astype(float)
        v["pain_points_99"] = none.astype(float)
        texts = np.array(["Too much pre-installed software", "Webcam quality",
                          "Few ports", "Hard to upgrade memory"], dtype=object)
        v["pain_points_9_text"] = np.where(other, texts[rng.integers(0, 4, n)], np.nan)
        comments = {
            3: "Battery drains far too fast, I have to carry the charger everywhere.",
            4: "Fan gets loud and the case gets hot under load.",
            5: "It took more than three days to get a reply from service.",
            8: "Good machine but too expensive for what you get.",
            2: "Too many models with specs I do not need.",
        }
        comment = np.full(n, np.nan, dtype=object)
        give = rng.random(n) < self.truth["missing"]["comment_given"]
        for code, text in comments.items():
            comment[give & (v[f"pain_points_{code}"] == 1) & pd.isna(comment)] = text
        happy = give & pd.isna(comment) & (core["overall_sat"] >= 8)
        comment[happy] = "Very happy with it, keep it up."
        rest = give & pd.isna(comment)
        comment[rest] = "Nothing special to add."
        v["pain_text"] = comment
        v["email"] = np.full(n, np.nan, dtype=object)  # filled from CRM in crm()
        self._email_given = rng.random(n) < self.truth["missing"]["email_given"]

    def _duration(self, rng, n, ind, complaint) -> np.ndarray:
        base = np.where(ind, 620.0, 700.0) + np.where(complaint == 1, 45.0, 0.0)
        d = base * np.exp(0.28 * rng.standard_normal(n))
        return np.rint(np.clip(d, 0.6 * 620, 3.5 * 700))

    # -- truth computed from draws -------------------------------------------------------
    def finish_truth(self, clean: pd.DataFrame, rng, seed: int) -> None:
        t = self.truth
        N = int(t.get("population_draw", 400_000))
        cells, p = self.cells(sample=False)
        counts = _allocate(N, p)
        cell = np.repeat(np.asarray(cells), counts, axis=0)
        seg, reg = cell[:, 0], cell[:, 1]
        core = self.core(rng, seg, reg)
        pop = pd.DataFrame({"segment": seg, "region": reg, "overall_sat": core["overall_sat"],
                            "nps": core["nps"], "repurchase": core["repurchase"],
                            "complaint": core["complaint"]})
        t["population"] = _metrics(pop)
        t["population_by_segment"] = {str(s): _metrics(g) for s, g in pop.groupby("segment")}
        t["population_by_region"] = {str(r): _metrics(g) for r, g in pop.groupby("region")}
        t["population_note"] = (f"computed from {N} draws of the population composition "
                                "(targets), same model and seed family as the sample")
        # what the clean sample shows without weights
        derived = self.q.derive(clean)
        samp = pd.DataFrame({
            "segment": derived["segment"], "region": clean["region"],
            "overall_sat": clean["overall_sat"], "nps": clean["nps"],
            "repurchase": clean["repurchase"].where(clean["repurchase"] <= 5),
            "complaint": clean["complaint"]})
        sample_metrics = _metrics(samp)
        margins_pop, margins_smp = self.margins(sample=False), self.margins(sample=True)
        observed = {v: (samp[v].value_counts(normalize=True) * 100).sort_index()
                    for v in ("segment", "region")}
        gender = clean["gender"][clean["cust_type"] == 1]
        observed["gender"] = (gender.value_counts(normalize=True) * 100).sort_index()
        t["sample_skew"] = {
            "description": "respondents are selected with probability proportional to "
                           "selection_factor[segment] * selection_factor[region] * "
                           "selection_factor[gender] (individuals); young professionals, "
                           "tier-1 cities and men are over-represented, older users and "
                           "tier-3/4 cities under-represented",
            "expected_sample_percent": {k: {str(c): round(x, 2) for c, x in m.items()}
                                        for k, m in margins_smp.items()},
            "population_percent": {k: {str(c): round(x, 2) for c, x in m.items()}
                                   for k, m in margins_pop.items()},
            "observed_sample_percent": {k: {str(int(c)): round(float(x), 2)
                                            for c, x in s.items()}
                                        for k, s in observed.items()},
            "unweighted_sample": sample_metrics,
            "bias_direction": {m: ("up" if sample_metrics[m] > t["population"][m] else "down")
                               for m in ("overall_sat_mean", "nps", "repurchase_top2",
                                         "complaint_rate")},
        }
        # needs segments: separation in the latent item space and on observed codes
        ns = t["needs_segments"]
        means = np.asarray([ns["trait_means"][str(c)] for c in (1, 2, 3)])
        sign = np.array([-1.0 if i in ns["reverse_items"] else 1.0 for i in ns["items"]])
        centroids = means[:, np.repeat(np.arange(3), 3)] * sign
        noise = np.array([ns["item_noise_sd"][i] for i in ns["items"]])
        within = np.sqrt(ns["trait_sd_within"] ** 2 + np.mean(noise ** 2))
        pairs = [(0, 1), (0, 2), (1, 2)]
        dist = np.mean([np.linalg.norm(centroids[a] - centroids[b]) for a, b in pairs])
        ns["separation"] = float(dist / within)
        ns["separation_definition"] = ("mean Euclidean distance between the 3 class centroids "
                                       "in the latent 9-item space / within-class item sd")
        obs = clean[ns["items"]].to_numpy(dtype=float)
        lab = self._needs
        cents = np.vstack([obs[lab == c].mean(axis=0) for c in (1, 2, 3)])
        wsd = np.sqrt(np.mean([obs[lab == c].var(axis=0).mean() for c in (1, 2, 3)]))
        ns["separation_observed"] = float(np.mean([np.linalg.norm(cents[a] - cents[b])
                                                   for a, b in pairs]) / wsd)
        ns["sample_shares"] = {str(c): round(float((lab == c).mean()), 4) for c in (1, 2, 3)}
        # loadings of the attitude items on their traits (population mixture)
        seg_p = _probs([t["composition"]["segment"]["population"][str(s)]
                        for s in self.segments])
        cls_p = seg_p @ np.vstack([_probs(ns["class_probabilities_by_segment"][str(s)])
                                   for s in self.segments])
        mu = cls_p @ means
        var_t = cls_p @ (means - mu) ** 2 + ns["trait_sd_within"] ** 2
        for j, item in enumerate(ns["items"]):
            k = j // 3
            lam = np.sqrt(var_t[k] / (var_t[k] + noise[j] ** 2))
            t["factors"].setdefault(ns["traits"][k], {})[item] = float(
                sign[j] * lam)
        t["factors_note"] = ("standardized loadings on the latent (continuous) item before it "
                             "is cut into codes; negative = reverse-worded item (raw codes); "
                             "attitude loadings are for the population mixture of needs classes")
        t["crm"]["links"] = ("spend_12m and orders_12m rise with NPS (promoters spend most); "
                             "detractors are more often lapsed (older last_purchase, no orders "
                             "in 12 months); service_tickets_12m rise with complaints")

    # -- CRM extract ----------------------------------------------------------------------
    def crm(self, clean: pd.DataFrame, respondents: pd.DataFrame, rng) -> pd.DataFrame:
        t = self.truth["crm"]
        as_of = np.datetime64(t["as_of"])
        n = len(clean)
        seg = respondents["segment"].to_numpy()
        nps = clean["nps"].to_numpy()
        promoter, detractor = nps >= 9, nps <= 6
        org = seg >= 4
        n_missing = min(int(t["survey_ids_missing"]), n // 20)
        missing = np.zeros(n, bool)
        missing[rng.choice(n, size=n_missing, replace=False)] = True
        # survey customers
        lapsed = rng.random(n) < np.where(detractor, 0.35, np.where(promoter, 0.05, 0.12))
        recency = np.where(lapsed, rng.integers(366, 1100, n), rng.integers(5, 365, n))
        tenure = recency + rng.integers(30, 3000, n)
        rate = np.where(org, 6.0, 1.2) * np.where(promoter, 1.5, np.where(detractor, 0.7, 1.0))
        orders = np.where(lapsed, 0, 1 + rng.poisson(rate))
        unit = np.where(org, 5200.0, 5600.0) * np.exp(0.35 * rng.standard_normal(n))
        spend = np.round(orders * unit * np.where(promoter, 1.15, 1.0), 2)
        margin = np.round(np.clip(0.16 + 0.04 * rng.standard_normal(n)
                                  + np.where(org, -0.03, 0.0), 0.03, 0.4), 3)
        compl = clean["complaint"].to_numpy() == 1
        tickets = rng.poisson(np.where(compl, 1.8, 0.3) * np.where(org, 2.0, 1.0))
        extra = int(t["crm_only_rows"])
        used = set(clean["customer_id"])
        pool = rng.choice(900000, size=extra * 3, replace=False) + 100000
        extra_ids = [f"C{i:06d}" for i in pool if f"C{i:06d}" not in used][:extra]
        e_org = rng.random(extra) < 0.3
        e_lapsed = rng.random(extra) < 0.3
        e_recency = np.where(e_lapsed, rng.integers(366, 1100, extra),
                             rng.integers(5, 365, extra))
        e_orders = np.where(e_lapsed, 0, 1 + rng.poisson(np.where(e_org, 6.0, 1.2)))
        e_unit = np.where(e_org, 5200.0, 5600.0) * np.exp(0.35 * rng.standard_normal(extra))
        keep = ~missing
        cid = np.concatenate([clean["customer_id"].to_numpy()[keep], np.asarray(extra_ids)])
        rec = np.concatenate([recency[keep], e_recency])
        ten = np.concatenate([tenure[keep], e_recency + rng.integers(30, 3000, extra)])
        frame = pd.DataFrame({
            "customer_id": cid,
            "first_purchase": (as_of - ten.astype("timedelta64[D]")).astype(str),
            "last_purchase": (as_of - rec.astype("timedelta64[D]")).astype(str),
            "orders_12m": np.concatenate([orders[keep], e_orders]).astype(int),
            "spend_12m": np.concatenate([spend[keep], np.round(e_orders * e_unit, 2)]),
            "margin_rate": np.concatenate([margin[keep], np.round(np.clip(
                0.16 + 0.04 * rng.standard_normal(extra), 0.03, 0.4), 3)]),
            "service_tickets_12m": np.concatenate([tickets[keep],
                                                   rng.poisson(0.5, extra)]).astype(int),
        })
        num = np.array([int(c[1:]) for c in frame["customer_id"]])
        frame["email"] = [f"user{k}@example.com" for k in num]
        frame["phone"] = [f"+1-555-{k // 10000:03d}-{k % 10000:04d}" for k in num]
        frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
        # optional e-mail in the survey: the customer's CRM address (or a new one)
        give = self._email_given
        email = np.array([f"user{int(c[1:])}@example.com" for c in clean["customer_id"]],
                         dtype=object)
        clean["email"] = np.where(give, email, np.nan)
        t["n_rows"] = len(frame)
        t["survey_ids_missing"] = int(n_missing)
        t["crm_only_rows"] = len(extra_ids)
        return frame


def _allocate(total: int, p: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``p`` (largest remainder)."""
    raw = p * total
    counts = np.floor(raw).astype(int)
    short = total - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts


def _hundred(shares: dict) -> dict:
    """Percent shares rounded to one decimal that sum to exactly 100."""
    keys = list(shares)
    tenths = _allocate(1000, _probs([shares[k] for k in keys]))
    return {k: round(t / 10, 1) for k, t in zip(keys, tenths, strict=True)}


def _metrics(df: pd.DataFrame) -> dict:
    o, n, r, c = (df[k].dropna() for k in ("overall_sat", "nps", "repurchase", "complaint"))
    return {
        "overall_sat_mean": round(float(o.mean()), 4),
        "overall_sat_top2": round(float((o >= 9).mean()), 4),
        "nps": round(float(100 * ((n >= 9).mean() - (n <= 6).mean())), 3),
        "promoters": round(float((n >= 9).mean()), 4),
        "detractors": round(float((n <= 6).mean()), 4),
        "repurchase_top2": round(float((r >= 4).mean()), 4),
        "complaint_rate": round(float((c == 1).mean()), 4),
    }
