"""Open-answer coding speed: 1,000,000 answers, a 50-theme codeframe.

Target (issue 15): ``surveykit.text.code_text`` codes a million answers with a 50-theme
codeframe in <= 30 s on 2 cores. Peer: a pandas loop over the same rules, one
``Series.str.contains`` per theme with the theme's words, phrases and regular expressions as
one alternation (and one more per theme with exclusions, which there veto the whole answer),
run in the same process on the same answers. Prints both times, the ratio and how often the
two agree (they differ only where an exclusion and a match of its theme sit apart in one
answer: surveykit vetoes only the overlapping match).

    .venv/bin/python benchmarks/bench_text.py [n_answers] [--baseline-n N] [--zh N]

``--baseline-n`` runs the pandas peer on the first N answers only and scales its time to n
(said so in the output); ``--zh N`` also times N Chinese answers of the planted generator with
the bundled codeframe.
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np
import pandas as pd

from surveykit.text import code_text, codeframe_from_dict, load_codeframe
from surveykit.text._lang import normalise
from surveykit.text.synthetic import planted_answers

_SYL = ["ka", "lo", "mi", "zer", "tup", "vin", "qua", "bre", "dos", "fel", "gri", "hox",
        "jun", "ple", "rak", "sut", "wem", "yob", "nim", "cor"]


def _word(rng) -> str:
    return "".join(rng.choice(_SYL, size=int(rng.integers(2, 4))))


def make_codeframe(n_themes: int = 50, seed: int = 0) -> tuple[dict, list[list[str]]]:
    """A codeframe of invented words: per theme 8 words, a stem with *, 3 phrases; every 5th
    theme a regular expression, every 4th an exclusion. Returns the codeframe as a dict and,
    per theme, the texts an answer may use to mention it."""
    rng = np.random.default_rng(seed)
    used: set[str] = set()

    def fresh() -> str:
        while True:
            w = _word(rng)
            if w not in used and len(w) >= 5:
                used.add(w)
                return w

    themes, mentions = [], []
    for t in range(n_themes):
        words = [fresh() for _ in range(8)]
        stem = fresh()
        phrases = [f"{fresh()} {fresh()}" for _ in range(3)]
        rules = {"words": words + [stem + "*"], "phrases": phrases}
        says = words + [stem + "ing", stem + "ed"] + phrases
        if t % 5 == 0:
            a, b = fresh(), fresh()
            rules["regex"] = [rf"\b{a}\s+\w+\s+{b}\b"]
            says.append(f"{a} very {b}")
        if t % 4 == 0:
            rules["exclude"] = {"phrases": [f"not {words[0]}"]}
        themes.append({"id": f"t{t}", "label": f"Theme {t}", "match": {"en": rules}})
        mentions.append(says)
    return {"id": "bench", "themes": themes}, mentions


def make_answers(n: int, mentions: list[list[str]], seed: int = 0, pool: float = 0.3
                 ) -> pd.Series:
    """Answers of 6-14 filler words around 1-3 theme mentions; a share ``pool`` repeats one of
    2,000 common answers (as real open answers do), the rest are (nearly) all different."""
    rng = np.random.default_rng(seed + 1)
    filler = np.array([_word(rng) for _ in range(3000)]
                      + ["the", "and", "it", "is", "my", "very", "not", "but", "too", "with"] * 40)
    said = np.array([m for ms in mentions for m in ms], dtype=object)
    theme_of = np.repeat(np.arange(len(mentions)), [len(ms) for ms in mentions])
    m = 2000 + n
    words = filler[rng.integers(0, len(filler), (m, 14))].tolist()
    n_words = rng.integers(6, 15, m)
    n_said = rng.integers(1, 4, m)
    picks = rng.integers(0, len(said), (m, 3))
    same = theme_of[picks[:, 1]] == theme_of[picks[:, 0]]  # one mention per theme at most
    picks[same, 1] = (picks[same, 1] + len(said) // 2) % len(said)
    at = rng.integers(0, 6, (m, 3))
    ends = np.array([".", "!", ""])[rng.integers(0, 3, m)]
    texts = []
    for i in range(m):
        w = words[i][: n_words[i]]
        for j in range(n_said[i]):
            w.insert(at[i, j], said[picks[i, j]])
        texts.append(" ".join(w).capitalize() + ends[i])
    common, fresh = texts[:2000], texts[2000:]
    reuse = rng.random(n) < pool
    which = rng.integers(0, 2000, n)
    return pd.Series([common[which[i]] if reuse[i] else fresh[i] for i in range(n)],
                     dtype=object)


def pandas_peer(texts: pd.Series, cf: dict) -> pd.DataFrame:
    """One str.contains per theme (and per theme with exclusions) over the same rules."""
    s = texts.map(normalise)
    out = {}
    for th in cf["themes"]:
        r = th["match"]["en"]
        alts = [rf"\b{re.escape(w)}\b" for w in r["words"] if not w.endswith("*")]
        alts += [rf"\b{re.escape(w[:-1])}\w*" for w in r["words"] if w.endswith("*")]
        alts += [rf"\b{re.escape(p)}\b" for p in r["phrases"]]
        alts += [f"(?:{x})" for x in r.get("regex", [])]
        hit = s.str.contains("|".join(alts), regex=True)
        if "exclude" in r:
            ex = "|".join(rf"\b{re.escape(p)}\b" for p in r["exclude"]["phrases"])
            hit &= ~s.str.contains(ex, regex=True)
        out[th["id"]] = hit.to_numpy()
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--themes", type=int, default=50)
    ap.add_argument("--baseline-n", type=int, default=None)
    ap.add_argument("--zh", type=int, default=0)
    args = ap.parse_args()
    spec, mentions = make_codeframe(args.themes)
    cf = codeframe_from_dict(spec)
    t0 = time.perf_counter()
    texts = make_answers(args.n, mentions)
    df = pd.DataFrame({"comment": texts})
    print(f"data: {args.n:,} answers ({texts.nunique():,} distinct, mean "
          f"{texts.str.len().mean():.0f} characters), {args.themes} themes, "
          f"{len(cf.rules):,} rules; made in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    coded = code_text(df, "comment", cf)
    ours = time.perf_counter() - t0
    print(f"surveykit code_text: {ours:6.1f} s  (target <= 30 s)")
    t0 = time.perf_counter()
    n_audit = len(coded.audit)
    audit = time.perf_counter() - t0
    print(f"  + its audit table ({n_audit:,} rows, made on first use): {audit:.1f} s, "
          f"{ours + audit:.1f} s in all")

    nb = min(args.baseline_n or args.n, args.n)
    t0 = time.perf_counter()
    peer = pandas_peer(texts.iloc[:nb], spec)
    theirs = (time.perf_counter() - t0) * args.n / nb
    scaled = f" (measured on {nb:,} answers, scaled to {args.n:,})" if nb < args.n else ""
    print(f"pandas str.contains loop: {theirs:6.1f} s{scaled}")
    print(f"ratio: surveykit is {theirs / ours:.1f}x faster")
    mine = np.column_stack([coded.data[f"comment_{t['id']}"].to_numpy()[:nb] == 1
                            for t in spec["themes"]])
    agree = (mine == peer.to_numpy()).mean()
    print(f"agreement with the peer, all answer x theme cells: {agree:.5%}")

    if args.zh:
        d = planted_answers(args.zh, language="zh", seed=1).rename(
            columns={"answer": "pain_text"})
        pc = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
        t0 = time.perf_counter()
        code_text(d[["pain_text"]], "pain_text", pc)
        print(f"Chinese: {args.zh:,} planted answers ({d['pain_text'].nunique():,} distinct), "
              f"bundled codeframe: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
