"""Taylor-linearisation designs: R ``svydesign`` with strata, one or more stages of
clusters, finite-population corrections and a lonely-PSU policy."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._util import resolve_weights
from ..errors import DesignError, SurveykitWarning
from ._common import (
    LONELY_PSU,
    as_specs,
    check_frame,
    codes,
    column,
    first_of,
    interact,
    numeric_column,
)
from ._linear_variance import _Variances

if TYPE_CHECKING:  # (scipy.sparse is imported where a design is built)
    from scipy import sparse

__all__ = ["SurveyDesign"]

_CENSUS = 1e-7                  # R onestrat: a stratum with every f < 1e-7 adds nothing


@dataclass(frozen=True)
class _Stage:
    """One stage of sampling, as R ``svyrecvar`` sees it."""

    unit: np.ndarray            # (N,) sampling unit of each row, 0..n_units-1
    n_units: int
    stratum: np.ndarray         # (n_units,) stratum of each unit, 0..n_strata-1
    n_strata: int
    sampsize: np.ndarray        # (n_strata,) units sampled in each stratum
    popsize: np.ndarray         # (n_units,) population size of the unit's stratum (inf: none)
    parent: np.ndarray | None   # (n_units,) unit of the previous stage containing it
    weight: np.ndarray          # (n_units,) variance weight: f n/(n-1) x multiplier x average
    base_weight: np.ndarray     # (n_units,) the same without the "average" factor
    centred: np.ndarray         # (n_units,) centre at the stratum mean (not: lonely "adjust")
    undefined: bool             # "average" with no usable stratum somewhere: variance NaN
    usable: np.ndarray          # (n_strata,) not a lonely stratum left out by "average"
    call_sum: sparse.csr_matrix  # (n_calls, n_strata) 0/1: strata of each onestage() call
    call_unit: np.ndarray       # (n_units,) onestage() call of each unit
    mult_call: np.ndarray       # (n_calls,) sampling-fraction multiplier of each call
    stratum_sum: sparse.csr_matrix   # (n_strata, n_units) 0/1
    parent_sum: sparse.csr_matrix | None  # (n_parent_units, n_units) 0/1


class SurveyDesign(_Variances):
    """A complex sample design, R ``svydesign``: strata, clusters (one or more stages),
    finite-population corrections, weights, and a lonely-PSU policy.

    The design holds the design variables of one DataFrame (not the data): pass it with the
    same DataFrame to :func:`surveykit.estimates.estimate` / :func:`~surveykit.estimates.compare`
    (``design=``), :func:`surveykit.design.total` or :func:`surveykit.design.ratio`.
    Variances are Taylor linearisation from influence values, R ``svyrecvar``: the influence
    values are summed within the units of each stage, centred within strata and weighted by
    ``(1 - n_h/N_h) n_h / (n_h - 1)``; later stages add their variance times the sampling
    fraction ``n_h/N_h`` of the stage above, and only when an fpc is given (without one the
    first-stage "ultimate cluster" variance is the whole variance, as in R).

    Parameters
    ----------
    df : DataFrame
        The respondents (not modified; the design keeps its index to refuse other data).
    ids : None, column or list of columns
        Cluster identifiers, one per stage (R ``ids = ~psu + ssu``). ``None`` (R ``~1``):
        every row is its own primary sampling unit. Later stages are nested in earlier ones
        (school 1 of district 1 and school 1 of district 2 are different schools), as in R.
    strata : None, column or list of columns
        Stratum of the first stage (a list: one per stage; a later stage without its own
        uses the last one given, as R does).
    weights : None, column or array
        Sampling weights. Default: ``1 / probs``, else the product over stages of
        ``N_h / n_h`` from ``fpc`` when that is given, else 1 (R's defaults).
    probs : None, column or list of columns
        Selection probabilities, one per stage (multiplied), instead of ``weights``.
    fpc : None, column or list of columns
        Finite-population correction, one per stage: population sizes (all values >= 1) or
        sampling fractions (all values <= 1), per stratum (R ``as.fpc``). An fpc that
        implies more than 100% sampling is refused.
    nest : bool
        Cluster ids are only unique within strata (R ``nest = TRUE``): relabel them by stratum.
    check_strata : bool, optional
        Refuse first-stage clusters that lie in more than one stratum (default: ``not nest``,
        as R).
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        What a stratum with a single sampled unit contributes, R
        ``options(survey.lonely.psu)``: ``fail`` (default, as R) refuses the design;
        ``remove`` and ``certainty`` add nothing; ``adjust`` centres the unit at zero (the
        grand mean of the influence values) instead of its stratum mean; ``average`` replaces
        it by the average variance of the other strata (scaling by strata / usable strata).
        A stratum sampled completely (fpc: n = N) adds nothing and is never lonely.

    Attributes
    ----------
    n : int
        Rows.
    weights : ndarray
        The sampling weights (read-only).
    degf : int
        Design degrees of freedom, R ``degf``: first-stage units with a positive weight
        minus strata.
    n_stages : int

    Raises
    ------
    DesignError
        Missing design values, an unknown column, first-stage clusters that cross strata
        (``check_strata``), a lonely PSU under ``lonely_psu="fail"``, an fpc smaller than the
        sample or mixing counts and fractions, fewer fpc than stages, one PSU in all.

    Examples
    --------
    Ten schools in four districts, district the cluster, 40 districts in the population:

    >>> df = pd.DataFrame({"district": [1, 1, 2, 2, 2, 3, 3, 4, 4, 4],
    ...                    "score": [60, 64, 70, 74, 73, 55, 59, 80, 78, 83],
    ...                    "w": 10.0})
    >>> d = SurveyDesign(df, ids="district", weights="w", fpc=np.full(10, 40))
    >>> d
    SurveyDesign: 10 rows, 1 stage(s): 4 clusters (district), fpc; df = 3
    >>> from surveykit.estimates import estimate
    >>> r = estimate(df, "score", design=d)
    >>> round(float(r["se"].iloc[0]), 3), round(float(r["deff"].iloc[0]), 2)
    (4.862, 2.54)
    """

    def __init__(self, df: pd.DataFrame, *, ids=None, strata=None, weights=None, probs=None,
                 fpc=None, nest: bool = False, check_strata: bool | None = None,
                 lonely_psu: str = "fail") -> None:
        if not isinstance(df, pd.DataFrame):
            raise DesignError(f"df must be a pandas DataFrame, not {type(df).__name__}")
        if lonely_psu not in LONELY_PSU:
            raise DesignError(f"lonely_psu must be one of {LONELY_PSU}, not {lonely_psu!r}")
        N = len(df)
        if N < 2:
            raise DesignError("a design needs at least 2 rows")
        self.n = N
        self.index = df.index.copy()
        self.lonely_psu = lonely_psu
        check_strata = (not nest) if check_strata is None else bool(check_strata)
        if check_strata and nest:
            warnings.warn("check_strata=True has no point with nest=True (as R says)",
                          SurveykitWarning, stacklevel=2)
        id_specs = as_specs(ids, "ids")
        if any(isinstance(s, str) and s in ("1", "0") for s in id_specs):
            if len(id_specs) > 1:
                raise DesignError("ids='1' (every row its own unit) cannot be combined with "
                                  "other stages")
            id_specs = []
        self._id_names = [s if isinstance(s, str) else "ids" for s in id_specs] or ["rows"]
        id_codes = ([codes(column(df, s, "ids"))[0] for s in id_specs]
                    or [np.arange(N, dtype=np.int64)])
        S = len(id_codes)
        strata_specs = as_specs(strata, "strata")
        self.has_strata = bool(strata_specs)
        self._strata_names = [s if isinstance(s, str) else "strata" for s in strata_specs]
        if len(strata_specs) > S:
            raise DesignError(f"strata has {len(strata_specs)} columns for {S} stage(s) of ids")
        st_codes, self._stratum_labels = [], None
        for s in strata_specs:
            c, lab = codes(column(df, s, "strata"))
            st_codes.append(c)
            if self._stratum_labels is None:
                self._stratum_labels = lab
        if not st_codes:
            st_codes = [np.zeros(N, dtype=np.int64)]
            self._stratum_labels = np.array([1], dtype=object)
        # R svydesign: stage-k ids become the interaction of the ids of stages 1..k, and
        # with nest=TRUE also of the strata; stage-k strata (k > 1) are (strata, stage k-1 unit)
        units = [interact(*id_codes[: k + 1]) for k in range(S)]
        if nest and self.has_strata:
            units = [interact(*st_codes[: min(k + 1, len(st_codes))], units[k])
                     for k in range(S)]
        if units[0].max() == 0 and not (nest and self.has_strata):
            raise DesignError("the design has only one primary sampling unit; a variance "
                              "needs at least two (check ids)")
        if check_strata and self.has_strata:
            per = pd.DataFrame({"u": units[0], "h": st_codes[0]}).drop_duplicates()
            crossing = per["u"].duplicated(keep=False)
            if crossing.any():
                u0 = int(per.loc[crossing, "u"].iloc[0])
                row = df.index[int(np.argmax(units[0] == u0))]
                raise DesignError("clusters are not nested in strata at the first stage (the "
                                  f"cluster of row {row!r} lies in more than one stratum); "
                                  "pass nest=True if cluster ids restart within strata")
        strata_k = [st_codes[0]] + [interact(st_codes[min(k, len(st_codes) - 1)], units[k - 1])
                                    for k in range(1, S)]
        fpc_specs = as_specs(fpc, "fpc")
        if fpc_specs and len(fpc_specs) != S:
            raise DesignError(f"fpc has {len(fpc_specs)} column(s) for {S} stage(s) of ids; "
                              "give one per stage (or leave fpc out for with-replacement "
                              "sampling of the first stage)")
        self.fpc_given = bool(fpc_specs)
        raw_fpc = [numeric_column(df, s, "fpc") for s in fpc_specs]
        # the units and strata of each stage
        built = []
        for k in range(S):
            u = units[k]
            nu = int(u.max()) + 1
            h_unit = first_of(u, strata_k[k], nu)
            h_unit, _ = codes(pd.Series(h_unit))
            nh = int(h_unit.max()) + 1
            samp = np.bincount(h_unit, minlength=nh).astype(float)
            pop = np.full(nu, np.inf)
            if raw_fpc:
                pop = self._popsize(raw_fpc[k], u, nu, h_unit, samp, k, df)
            parent = first_of(u, units[k - 1], nu) if k > 0 else None
            built.append((u, nu, h_unit, nh, samp, pop, parent))
        self._stage1_psu = units[0]
        self._stage1_stratum = built[0][2]
        # weights
        if weights is not None and probs is not None:
            raise DesignError("give weights or probs, not both (as R svydesign)")
        if weights is not None:
            w = resolve_weights(df, weights, error=DesignError)
        elif probs is not None:
            p = np.ones(N)
            for s in as_specs(probs, "probs"):
                p = p * numeric_column(df, s, "probs")
            if (p <= 0).any() or (p > 1).any():
                raise DesignError("probs must be in (0, 1]")
            w = 1.0 / p
        elif self.fpc_given:
            w = np.ones(N)
            for (u, _, h, _, samp, pop, _) in built:
                w = w * (pop[u] / samp[h[u]])
            if not np.isfinite(w).all():
                raise DesignError("weights cannot come from an fpc without population sizes "
                                  "(inf); pass weights")
        else:
            w = np.ones(N)
        w = np.asarray(w, dtype=float).copy()
        w.setflags(write=False)
        self.weights = w
        self._weights_spec = weights
        used = S if self.fpc_given else 1     # R: later stages only with an fpc
        self.stages = self._build_stages(built[:used], df)
        self.n_stages = S
        self._rowwise = self._rowwise_parts()
        self.degf = int(self._degf_of(w > 0))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _popsize(x, u, nu, h_unit, samp, k, df) -> np.ndarray:
        fin = x[np.isfinite(x)]
        if (x <= 0).any():
            raise DesignError(f"fpc of stage {k + 1} has values <= 0")
        is_count = bool((fin > 1).any())
        if is_count and (fin < 1).any():
            raise DesignError(f"fpc of stage {k + 1} mixes population sizes (> 1) and "
                              "sampling fractions (< 1); give all as one or the other")
        xu = first_of(u, x, nu)
        n_u = samp[h_unit]
        pop = xu if is_count else n_u / xu
        if (pop < n_u - 1e-9).any():
            j = int(np.argmax(pop < n_u - 1e-9))
            row = df.index[int(np.argmax(u == j))]
            raise DesignError(f"fpc of stage {k + 1} implies more than 100% sampling (row "
                              f"{row!r}: population {pop[j]:g}, sampled units {n_u[j]:g}); "
                              "fpc is the population size (or the sampling fraction) of the "
                              "stratum")
        varies = pd.Series(pop).groupby(h_unit).nunique() > 1
        if varies.any():
            warnings.warn(f"fpc varies within stratum at stage {k + 1} (first: stratum code "
                          f"{int(varies.idxmax())}); each unit uses its own value, as R does",
                          SurveykitWarning, stacklevel=3)
        return pop.astype(float)

    def _build_stages(self, built, df) -> list[_Stage]:
        from scipy import sparse

        stages: list[_Stage] = []
        prev_mult = prev_frac = None    # per unit of the previous stage
        lonely_report = []
        for k, (u, nu, h, nh, samp, pop, parent) in enumerate(built):
            n_u = samp[h]
            finite = np.isfinite(pop)
            f = np.where(finite, (pop - n_u) / np.where(finite, pop, 1.0), 1.0)
            scale = np.where(n_u > 1, f * n_u / np.maximum(n_u - 1, 1), f)
            census_h = np.bincount(h, f >= _CENSUS, nh) == 0
            lonely_h = (samp == 1) & ~census_h
            centred = np.ones(nu, dtype=bool)
            usable_h = np.ones(nh, dtype=bool)
            if lonely_h.any():
                if self.lonely_psu == "fail":
                    lonely_report.append((k, np.flatnonzero(lonely_h)))
                elif self.lonely_psu == "adjust":
                    centred = ~lonely_h[h]
                elif self.lonely_psu == "average":
                    usable_h = ~lonely_h
            # R multistage: one onestage() call per unit of the previous stage, its variance
            # times the sampling fractions n_h / N_h of the stages above
            if k == 0:
                call_h = np.zeros(nh, dtype=np.int64)
                mult_call = np.ones(1)
            else:
                call_h = _call_of_strata(h, parent, nh)
                mult_call = prev_mult * prev_frac
            n_calls = len(mult_call)
            nstrat = np.bincount(call_h, minlength=n_calls).astype(float)
            nok = np.bincount(call_h, usable_h.astype(float), minlength=n_calls)
            undefined = False
            avg = np.ones(n_calls)
            if self.lonely_psu == "average":
                # R onestage: sum over usable strata x strata / usable strata; NaN if none
                undefined = bool(((nok == 0) & (nstrat > 0) & (mult_call > 0)).any())
                avg = np.where(nok > 0, nstrat / np.maximum(nok, 1), 0.0)
            call_u = call_h[h]
            base = np.where(census_h[h] | ~usable_h[h], 0.0, scale * mult_call[call_u])
            weight = base * avg[call_u]
            stratum_sum = sparse.csr_matrix((np.ones(nu), (h, np.arange(nu))), shape=(nh, nu))
            parent_sum = None
            if parent is not None:
                parent_sum = sparse.csr_matrix((np.ones(nu), (parent, np.arange(nu))),
                                               shape=(stages[-1].n_units, nu))
            call_sum = sparse.csr_matrix((np.ones(nh), (call_h, np.arange(nh))),
                                         shape=(n_calls, nh))
            stages.append(_Stage(unit=u, n_units=nu, stratum=h, n_strata=nh, sampsize=samp,
                                 popsize=pop, parent=parent, weight=weight, base_weight=base,
                                 centred=centred, undefined=undefined, usable=usable_h,
                                 call_sum=call_sum, call_unit=call_u, mult_call=mult_call,
                                 stratum_sum=stratum_sum, parent_sum=parent_sum))
            prev_mult = mult_call[call_u]
            prev_frac = np.where(finite, n_u / np.where(finite, pop, 1.0), 0.0)
        if lonely_report:
            k, hs = lonely_report[0]
            labels = (self._stratum_labels if k == 0 and self.has_strata else None)
            shown = ", ".join(repr(_plain(labels[i])) if labels is not None and i < len(labels)
                              else f"#{i + 1}" for i in hs[:5])
            total = sum(len(x) for _, x in lonely_report)
            raise DesignError(f"{total} stratum/strata with a single sampled unit (a lonely "
                              f"PSU) at stage {k + 1}: {shown}{' ...' if len(hs) > 5 else ''}; "
                              "a variance needs two units per stratum: choose "
                              "lonely_psu='adjust' (conservative), 'average', 'certainty' or "
                              "'remove' (R options(survey.lonely.psu)), or merge strata")
        return stages

    # ------------------------------------------------------------------ replicates
    def as_replicate(self, type: str = "auto", *, replicates: int = 50,
                     fay_rho: float = 0.0, seed=None, mse: bool = False, hadamard=None):
        """Replicate weights from this design, R ``as.svrepdesign``.

        Parameters
        ----------
        type : {"auto", "JK1", "JKn", "bootstrap", "BRR", "Fay"}
            ``auto``: JK1 without strata, JKn with. JK1 (delete one PSU; unstratified designs
            only), JKn (delete one PSU within its stratum), bootstrap (R ``bootweights``:
            ``n_h`` PSUs drawn with replacement in each stratum, or without replacement from
            the stratum's population replicated ``N_h / n_h`` times when an fpc is given),
            BRR / Fay (two PSUs per stratum; Sylvester-Hadamard balanced half samples).
        replicates : int
            Bootstrap replicates.
        fay_rho : float
            Fay's coefficient (``type="Fay"``; 0 gives BRR).
        seed : int or numpy Generator, optional
            For the bootstrap.
        mse : bool
            Centre replicate variances at the full-sample estimate instead of the mean of the
            replicates (R ``survey.replicates.mse``; default ``False`` as R).
        hadamard : array, optional
            Your own Hadamard matrix (+-1 or 0/1, at least strata + 1 rows) for BRR / Fay.

        Returns
        -------
        ReplicateDesign
            First-stage fpc are kept for JK1 / JKn / bootstrap (later stages are dropped, with
            a warning, as R); BRR / Fay drop the fpc (warning).

        Examples
        --------
        >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "y": [1.0, 2, 3, 4, 5, 9]})
        >>> rep = SurveyDesign(df, ids="psu").as_replicate("JK1")
        >>> rep
        ReplicateDesign: JK1, 3 replicates, scale 0.6667, 6 rows; df = 2
        """
        from ._replicate import from_design

        return from_design(self, type, replicates=replicates, fay_rho=fay_rho, seed=seed,
                           mse=mse, hadamard=hadamard)

    def check(self, df: pd.DataFrame) -> None:
        """Refuse a DataFrame other than the one the design was made for."""
        check_frame(self, df)

    # ------------------------------------------------------------------ display
    def describe(self) -> pd.DataFrame:
        """One row per stage: units, strata, fpc given, lonely strata."""
        rows = []
        for k, st in enumerate(self.stages):
            rows.append({"stage": k + 1, "ids": self._id_names[k] if k < len(self._id_names)
                         else "", "units": st.n_units, "strata": st.n_strata,
                         "fpc": bool(np.isfinite(st.popsize).any()),
                         "lonely_strata": int((st.sampsize == 1).sum())})
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """The design's stages (as :meth:`describe`)."""
        return self.describe()

    def summary(self) -> str:
        """The design in words, with how variances are computed."""
        return f"{self!r}\nVariance: {self.method}."

    def _repr_html_(self) -> str:
        return (f"<p>{html.escape(repr(self))}<br>Variance: {html.escape(self.method)}.</p>"
                + self.describe().to_html(index=False))

    def __repr__(self) -> str:
        st = self.stages[0]
        parts = [f"{st.n_units} clusters ({', '.join(map(str, self._id_names))})"
                 if self._id_names != ["rows"] else f"{st.n_units} units (rows)"]
        if self.has_strata:
            parts.append(f"{st.n_strata} strata")
        if self.fpc_given:
            parts.append("fpc")
        if self.lonely_psu != "fail":
            parts.append(f"lonely PSU: {self.lonely_psu}")
        return (f"SurveyDesign: {self.n} rows, {self.n_stages} stage(s): {', '.join(parts)}; "
                f"df = {self.degf}")

    @property
    def description(self) -> str:
        """The design and its SE method in words, for method notes and footnotes.

        Examples
        --------
        >>> df = pd.DataFrame({"h": [1, 1, 1, 1, 2, 2, 2, 2], "firm": [1, 1, 2, 2, 3, 3, 4, 4]})
        >>> SurveyDesign(df, ids="firm", strata="h").description
        'clustered by firm within strata h, Taylor linearisation, design df = 2'
        """
        bits = []
        if self._id_names != ["rows"]:
            bits.append("clustered by " + ", then ".join(map(str, self._id_names)))
        if self.has_strata:
            bits.append(("within strata " if bits else "stratified by ")
                        + ", ".join(map(str, self._strata_names)))
        text = " ".join(bits) or "respondents sampled individually"
        if self.fpc_given:
            text += " (finite-population correction)"
        return f"{text}, Taylor linearisation, design df = {self.degf}"

    @property
    def method(self) -> str:
        """How variances are computed (for the method note)."""
        bits = []
        if self._id_names != ["rows"]:
            bits.append(f"{self.n_stages}-stage cluster" if self.n_stages > 1 else "cluster")
        if self.has_strata:
            bits.append("stratified")
        if self.fpc_given:
            bits.append("with fpc")
        kind = " ".join(bits) or "unclustered"
        return f"linearisation ({kind} design, R svydesign/svyrecvar)"


def _call_of_strata(h: np.ndarray, parent: np.ndarray, nh: int) -> np.ndarray:
    """The previous-stage unit containing each stratum (stage-k strata nest in them)."""
    out = np.zeros(nh, dtype=np.int64)
    out[h] = parent
    return out


def _plain(v):
    return v.item() if hasattr(v, "item") else v
