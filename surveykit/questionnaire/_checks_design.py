"""Checks of a questionnaire's sample design (``roles.design``), a part of
:func:`surveykit.questionnaire.checks.check_document`: the design names columns that exist
and hold one code or number per respondent, replicate weights are declared completely, and
the fpc fits the stages of sampling."""

from __future__ import annotations

import re

_NOT_DESIGN = ("open", "multi", "grid", "rank")


def check_roles_design(r, kinds: dict, problem, suggest) -> None:
    """``roles.design`` names columns that exist (questions, derived variables, the CRM key
    or the base weight), and its fpc fits its stages."""
    d = r.design
    base = ("roles", "design")
    known = {k: v for k, v in kinds.items() if v not in _NOT_DESIGN}
    known.update({c: "role" for c in (r.customer_id, r.base_weight) if c})

    def column(path, name, what, numeric=False):
        if name not in kinds and name not in known:
            problem(path, f"{what} column {name!r} is not a question, derived variable, "
                    f"customer_id or base_weight{suggest(name, known)}; declare it (e.g. a "
                    "single or numeric question) so that its values are checked")
        elif name not in known:
            problem(path, f"{what} column {name!r} is a {kinds[name]} question; a design "
                    "column holds one code or number per respondent")
        elif numeric and known[name] not in ("numeric", "derived", "role", "unknown"):
            problem(path, f"fpc column {name!r} is a {known[name]} question; an fpc is a "
                    "number (population size or sampling fraction): use a numeric question")

    def each(field, values):
        listed = isinstance(getattr(d, field), list)
        return [((*base, field, j) if listed else (*base, field), v)
                for j, v in enumerate(values)]

    if d.replicate_weights is not None:
        rw = d.replicate_weights
        path = (*base, "replicate_weights")
        if d.cluster_columns or d.strata_columns or d.fpc_values:
            problem(path, "give replicate_weights or clusters / strata / fpc, not both: the "
                    "replicate weights already carry the design")
        if (rw.columns is None) == (rw.pattern is None):
            problem(path, "replicate_weights needs exactly one of 'columns' (a list) or "
                    "'pattern' (a regular expression matching them)")
        if rw.pattern is not None:
            try:
                re.compile(rw.pattern)
            except re.error as exc:
                problem((*path, "pattern"), f"pattern {rw.pattern!r} is not a valid regular "
                        f"expression ({exc})")
        if rw.type == "Fay" and rw.rho is None:
            problem(path, "type Fay needs rho (Fay's coefficient, e.g. 0.5)")
        if rw.type == "JKn" and rw.combined_weights and rw.rscales is None:
            problem(path, "type JKn with combined weights needs rscales ((n_h - 1) / n_h of "
                    "the stratum of each replicate), as R svrepdesign")
        if rw.rscales is not None and rw.columns is not None \
                and len(rw.rscales) != len(rw.columns):
            problem((*path, "rscales"), f"rscales has {len(rw.rscales)} values for "
                    f"{len(rw.columns)} replicate columns; give one per replicate")
        return
    clusters, strata, fpc = d.cluster_columns, d.strata_columns, d.fpc_values
    for path, name in each("clusters", clusters):
        column(path, name, "cluster")
    if len(set(clusters)) != len(clusters):
        problem((*base, "clusters"), "a cluster column is listed twice")
    for path, name in each("strata", strata):
        column(path, name, "stratum")
    stages = max(1, len(clusters))
    if len(strata) > stages:
        problem((*base, "strata"), f"{len(strata)} strata columns for {stages} stage(s) of "
                "clusters; give one per stage at most")
    if fpc and len(fpc) != stages:
        problem((*base, "fpc"), f"fpc has {len(fpc)} value(s) for {stages} stage(s) of "
                "sampling; give one per stage (population size or sampling fraction), or "
                "none for sampling with replacement")
    for path, v in each("fpc", fpc):
        if isinstance(v, str):
            column(path, v, "fpc", numeric=True)
        elif not v > 0:
            problem(path, f"fpc {v:g} must be positive: a population size (>= the units "
                    "sampled) or a sampling fraction (0 < f <= 1)")
        elif 1 < v and not float(v).is_integer():
            problem(path, f"fpc {v:g} is neither a sampling fraction (0 < f <= 1) nor a "
                    "whole population size")
    if d.nest and not strata:
        problem((*base, "nest"), "nest: true means cluster ids restart within strata; it "
                "needs strata")
