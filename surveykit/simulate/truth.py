"""The declared ground truth of the PC customer demo (:func:`default_truth`)."""

from __future__ import annotations

SEGMENTS = {1: "Students", 2: "Young professionals", 3: "Older users", 4: "Large enterprises",
            5: "SMEs", 6: "Government & education"}
REGIONS = {1: "Tier 1", 2: "New tier 1", 3: "Tier 2", 4: "Tier 3", 5: "Tier 4 / rural"}
NEEDS = {1: "Performance seekers", 2: "Value seekers", 3: "Service seekers"}

ATTRIBUTE_FACTORS = {
    "performance": {"sat_cpu": 0.82, "sat_gpu": 0.78, "sat_screen": 0.70, "sat_cooling": 0.65},
    "mobility": {"sat_battery": 0.78, "sat_portab": 0.80, "sat_keyboard": 0.62},
    "dependability": {"sat_reliab": 0.80, "sat_updates": 0.70, "sat_compat": 0.72,
                      "sat_security": 0.68},
    "brand_value": {"sat_value": 0.72, "sat_brand": 0.78, "sat_innov": 0.70},
    "service_quality": {"svc_speed": 0.80, "svc_resolution": 0.82, "svc_warranty": 0.70,
                        "svc_network": 0.72, "svc_onsite": 0.68, "svc_online": 0.74,
                        "svc_staff": 0.66, "svc_delivery": 0.55},
}
ATTITUDE_FACTORS = {
    "perf_orient": {"att_latest": 0.0, "att_paymore": 0.0, "att_specs": 0.0},
    "value_orient": {"att_compare": 0.0, "att_deal": 0.0, "att_promo": 0.0},
    "service_orient": {"att_service": 0.0, "att_inperson": 0.0, "att_onevendor": 0.0},
}


def default_truth() -> dict:
    """The declared ground truth of the PC customer demo (a JSON-able dict).

    Keys: ``composition`` (population shares and sample selection factors), ``factors``
    (standardized loadings), ``factor_correlations``, ``item_means`` (centre of each 0-10
    item), ``factor_shifts`` (factor means by segment and region, in SD units),
    ``drivers`` (outcome, attributes, weights and top drivers by segment), ``links``
    (satisfaction -> NPS, repurchase, complaint), ``needs_segments``, ``missing`` rates,
    ``problems`` (rows per planted rule) and ``crm``. :func:`simulate` adds the
    population values, the sample skew and the needs-segment separation.

    Examples
    --------
    >>> truth = default_truth()
    >>> truth["drivers"]["top"]["3"][0]
    'svc_speed'
    """
    attrs = ["sat_cpu", "sat_screen", "sat_battery", "sat_portab", "sat_reliab", "sat_compat",
             "sat_security", "sat_value", "sat_brand", "svc_speed"]
    small = dict.fromkeys(attrs, 0.02)

    def w(**big):
        return {a: big.get(a, small[a]) for a in attrs}

    weights = {
        "1": w(sat_value=0.42, sat_battery=0.22, sat_portab=0.06),          # students: price
        "2": w(sat_cpu=0.38, sat_screen=0.20, sat_portab=0.08),            # young pros: perf
        "3": w(svc_speed=0.40, sat_value=0.20, sat_battery=0.06),          # older: service
        "4": w(sat_security=0.36, sat_reliab=0.20, svc_speed=0.08),        # large: security
        "5": w(sat_value=0.38, svc_speed=0.20, sat_reliab=0.06),           # SMEs: cost, service
        "6": w(sat_security=0.38, sat_value=0.26, sat_compat=0.04),        # gov & edu
    }
    top = {s: sorted(ws, key=ws.get, reverse=True)[:2] for s, ws in weights.items()}
    return {
        "questionnaire": "pc_customers",
        "composition": {
            "segment": {"population": {"1": 14.0, "2": 24.0, "3": 22.0, "4": 14.0, "5": 16.0,
                                       "6": 10.0},
                        "selection_factor": {"1": 0.9, "2": 1.45, "3": 0.6, "4": 0.9, "5": 1.1,
                                             "6": 1.3},
                        "labels": {str(k): v for k, v in SEGMENTS.items()}},
            "region_given_segment": {
                "1": [0.22, 0.24, 0.24, 0.18, 0.12], "2": [0.26, 0.26, 0.22, 0.15, 0.11],
                "3": [0.12, 0.15, 0.24, 0.24, 0.25], "4": [0.30, 0.26, 0.22, 0.14, 0.08],
                "5": [0.14, 0.18, 0.26, 0.23, 0.19], "6": [0.14, 0.16, 0.24, 0.24, 0.22]},
            "region": {"selection_factor": {"1": 1.9, "2": 1.25, "3": 0.9, "4": 0.7, "5": 0.5},
                       "labels": {str(k): v for k, v in REGIONS.items()}},
            "gender": {"population_within_individuals": {"1": 49.0, "2": 49.0, "3": 2.0},
                       "selection_factor": {"1": 1.35, "2": 0.75, "3": 1.0}},
        },
        "factors": {f: dict(v) for f, v in ATTRIBUTE_FACTORS.items()},
        "factor_correlations": {
            "product": 0.45, "product_service": 0.35,
            "note": "every pair of the four product factors correlates 0.45; each with "
                    "service_quality 0.35 (within segment)"},
        "item_means": {"sat_cpu": 7.3, "sat_gpu": 6.9, "sat_screen": 7.2, "sat_battery": 6.3,
                       "sat_portab": 6.9, "sat_cooling": 6.4, "sat_keyboard": 7.0,
                       "sat_reliab": 7.1, "sat_updates": 6.5, "sat_compat": 7.1,
                       "sat_security": 6.9, "sat_value": 6.4, "sat_brand": 7.3, "sat_innov": 6.7,
                       "svc_speed": 6.2, "svc_resolution": 6.6, "svc_warranty": 6.9,
                       "svc_network": 6.5, "svc_onsite": 6.8, "svc_online": 6.4,
                       "svc_staff": 6.7, "svc_delivery": 7.4},
        "item_sd": 1.7,
        "factor_shifts": {
            "segment": {"1": {"brand_value": -0.25, "mobility": 0.1},
                        "2": {"performance": 0.3, "mobility": 0.2, "brand_value": 0.2},
                        "3": {"service_quality": -0.35, "performance": -0.1},
                        "4": {"dependability": 0.25, "service_quality": 0.2},
                        "5": {"service_quality": -0.15, "brand_value": -0.1},
                        "6": {"dependability": 0.05}},
            "region": {"1": {"service_quality": 0.35, "brand_value": 0.1},
                       "2": {"service_quality": 0.15},
                       "3": {},
                       "4": {"service_quality": -0.2},
                       "5": {"service_quality": -0.4, "brand_value": -0.1}},
        },
        "drivers": {
            "outcome": "overall_sat",
            "segment_variable": "segment",
            "attributes": attrs,
            "weights": weights,
            "top": top,
            "segment_mean": {"1": 7.0, "2": 7.7, "3": 6.5, "4": 7.5, "5": 6.9, "6": 7.1},
            "region_shift": {"1": 0.3, "2": 0.15, "3": 0.0, "4": -0.15, "5": -0.3},
            "noise_sd": 0.9,
            "model": "overall_sat = round(clip(segment_mean[s] + region_shift[r] + "
                     "sum_j weights[s][j] * (x_j - item_means[j]) + N(0, noise_sd), 0, 10)); "
                     "x_j is the 0-10 code of attribute j (its true value where the answer "
                     "is don't know / not used); weights are per scale point",
        },
        "links": {
            "nps": {"from": "overall_sat", "intercept": 0.3, "slope": 1.05, "noise_sd": 1.0,
                    "model": "nps = round(clip(intercept + slope * overall_sat + "
                             "N(0, noise_sd), 0, 10))"},
            "repurchase": {"from": "overall_sat", "slope": 0.6, "centre": 7.0,
                           "cutpoints": [-1.9, -1.0, -0.1, 1.1],
                           "model": "ordinal probit: z = slope * (overall_sat - centre) + "
                                    "N(0, 1); repurchase = 1 + number of cutpoints below z"},
            "complaint": {"from": ["overall_sat", "svc_speed"], "intercept": -1.55,
                          "slope_overall_sat": -0.45, "slope_svc_speed": -0.2,
                          "model": "P(complaint == 1) = logistic(intercept + "
                                   "slope_overall_sat * (overall_sat - 7) + "
                                   "slope_svc_speed * (svc_speed - 6.2))"},
        },
        "needs_segments": {
            "items": ["att_latest", "att_paymore", "att_specs", "att_compare", "att_deal",
                      "att_promo", "att_service", "att_inperson", "att_onevendor"],
            "k": 3,
            "labels": {str(k): v for k, v in NEEDS.items()},
            "traits": ["perf_orient", "value_orient", "service_orient"],
            "trait_means": {"1": [1.05, -0.5, -0.3], "2": [-0.5, 1.05, -0.3],
                            "3": [-0.4, -0.3, 1.05]},
            "trait_sd_within": 0.55,
            "item_noise_sd": {"att_latest": 0.5, "att_paymore": 0.6, "att_specs": 0.8,
                              "att_compare": 0.55, "att_deal": 0.65, "att_promo": 0.75,
                              "att_service": 0.5, "att_inperson": 0.7, "att_onevendor": 0.8},
            "reverse_items": ["att_specs"],
            "class_probabilities_by_segment": {
                "1": [0.25, 0.60, 0.15], "2": [0.55, 0.25, 0.20], "3": [0.10, 0.35, 0.55],
                "4": [0.25, 0.15, 0.60], "5": [0.15, 0.50, 0.35], "6": [0.15, 0.40, 0.45]},
        },
        "missing": {
            "dont_know": {"sat_gpu": 0.02, "sat_updates": 0.03, "sat_compat": 0.02,
                          "sat_security": 0.03, "default_attribute": 0.01, "service": 0.01,
                          "repurchase": 0.02},
            "not_used": {"individual": {"svc_speed": 0.06, "svc_resolution": 0.10,
                                        "svc_warranty": 0.05, "svc_network": 0.15,
                                        "svc_onsite": 0.55, "svc_online": 0.20,
                                        "svc_staff": 0.25, "svc_delivery": 0.03},
                         "organisation": {"svc_speed": 0.05, "svc_resolution": 0.06,
                                          "svc_warranty": 0.04, "svc_network": 0.10,
                                          "svc_onsite": 0.20, "svc_online": 0.15,
                                          "svc_staff": 0.50, "svc_delivery": 0.05}},
            "email_given": 0.12,
            "comment_given": 0.25,
        },
        "problems": {"rows_per_rule": 6},
        "crm": {"as_of": "2026-11-01", "survey_ids_missing": 40, "crm_only_rows": 200},
        "population_draw": 400_000,
    }
