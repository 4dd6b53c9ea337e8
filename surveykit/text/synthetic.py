"""Open answers with a planted truth: proof that coding and discovery find what was put in.

Each answer mentions themes drawn from a declared mix (each theme independently, with its
probability), written with one of several phrasings per theme in English or Chinese, in
random order, with noise (fillers, near-misses such as "screenshots" for *screen* or
"信用卡" for *卡*, capitals, full-width forms). Answers that mention no theme say something
else ("other") or nothing ("no comment"); some are missing. The themes are those of the
bundled codeframe ``questionnaires/pc_customers.codeframe.yaml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLANTED", "compose_answer", "planted_answers"]

#: Phrasings per theme and language (none uses another theme's words).
PLANTED: dict[str, dict[str, list[str]]] = {
    "battery": {
        "en": ["the battery drains far too fast", "battery life is poor",
               "the battery needs recharging every few hours",
               "I have to carry the charger everywhere because the battery dies",
               "the battery runs out by lunchtime", "the batteries die after two hours"],
        "zh": ["电池续航太短", "电池一天要充电好几次", "电池不耐用", "电池很快就没电了",
               "电池待机时间太短", "充电器太重，电池也不行"]},
    "heat": {
        "en": ["the fan gets loud under load", "it gets really hot and the fan is noisy",
               "the case overheats and the fan spins up", "there is constant fan noise",
               "the fan is noisy even when idle", "it runs hot when gaming"],
        "zh": ["风扇噪音很大", "玩游戏的时候风扇发热严重", "机身发烫，风扇很吵",
               "散热不好，风扇一直转", "夏天温度太高，风扇噪音大"]},
    "performance": {
        "en": ["it is slow to open programs", "the laptop is slow and freezes every day",
               "apps crash and everything is slow", "games stutter and feel slow",
               "everything feels sluggish and slow", "booting is slow, it takes forever"],
        "zh": ["运行速度太慢", "经常死机，运行速度慢", "玩游戏卡顿", "开机慢得要命",
               "经常蓝屏死机", "程序老是闪退，运行速度慢"]},
    "screen": {
        "en": ["the screen is too dim", "the screen has a dead pixel",
               "glare on the screen makes it hard to read outside",
               "the screen brightness is too low", "the screen flickers"],
        "zh": ["屏幕太暗", "屏幕有坏点", "屏幕反光严重", "屏幕亮度不够", "屏幕分辨率太低"]},
    "reliability": {
        "en": ["the hinge cracked after a month",
               "it stopped working after a year, poor build quality",
               "the build quality is poor", "the keyboard broke, poor build quality",
               "it has a faulty port, the build quality is poor"],
        "zh": ["用了三个月就坏了，质量不好", "铰链开裂，质量不好", "做工粗糙，质量不好",
               "质量不好", "经常出故障，质量不好"]},
    "software": {
        "en": ["too many forced updates", "updates make it restart on its own",
               "lots of bloatware and forced updates", "the drivers are a mess after updates",
               "my printer is not compatible since the updates",
               "preinstalled apps I cannot remove"],
        "zh": ["系统自动更新太烦", "系统驱动经常出问题", "预装软件太多", "和公司的软件不兼容",
               "系统老是要重启更新"]},
    "service": {
        "en": ["it took more than three days to get a reply from service",
               "the service team never answered my emails", "the warranty service took weeks",
               "there was no response from customer service",
               "I waited two weeks for the repair service"],
        "zh": ["售后服务太差", "客服三天都没回复，售后太慢", "售后维修等了两个星期",
               "保修手续太麻烦，售后不行", "上门服务很慢，售后差"]},
    "price": {
        "en": ["too expensive for what you get", "the price is too high for what you get",
               "the price went up again", "the price is far too expensive",
               "overpriced, the price is not worth it"],
        "zh": ["价格太贵了", "性价比太低，价格太高", "又涨价了，价格太贵", "价格不合理",
               "不值这个价格"]},
    "range": {
        "en": ["there are too many models to choose from", "the models all look the same",
               "the specs of the models do not fit my needs",
               "too many models with specs I do not need",
               "the configurations of the models are confusing"],
        "zh": ["型号太多了", "型号配置都差不多", "很多配置参数用不上",
               "产品同质化严重，型号都一样"]},
    "praise": {
        "en": ["very happy with it", "an excellent machine, very happy", "I love this laptop",
               "I would recommend it to friends", "keep it up", "it works well, very happy"],
        "zh": ["非常满意", "很好用，推荐", "继续加油，非常满意", "我很喜欢", "点赞，非常满意"]},
}

_FILLERS = {
    "en": ["honestly", "to be fair", "overall", "I think", "also", "anyway", "for me",
           "at the moment", "to sum up"],
    "zh": ["说实话", "总体来说", "我觉得", "另外", "目前来看", "总的来说"],
}
# sentences that mention no theme, some with near-misses of rule words
_OTHER = {
    "en": ["I take lots of screenshots", "I stay in hotels when I travel",
           "my bag is fancy", "I bought it for my daughter", "the box was nicely designed",
           "the webcam is average", "I mostly use it for spreadsheets",
           "the keyboard layout took getting used to"],
    "zh": ["我用信用卡付的款", "买给孩子用的", "包装挺精美", "摄像头一般般", "快递送得很快",
           "主要用来办公", "键盘手感一般", "这台电脑是去年买的"],
}
_NOTHING = {"en": ["nothing", "n/a", "No comment", "none", "", "Nothing special to add."],
            "zh": ["无", "没有", "暂无", "没有意见"]}
_JOIN = {"en": [", ", " and ", ". ", "; ", " but "], "zh": ["，", "。", "；", "，而且"]}
_END = {"en": ["", ".", "!", "..."], "zh": ["", "。", "！"]}


def compose_answer(rng: np.random.Generator, parts: list[str], language: str, noise: float,
                   *, off_theme: bool = False) -> str:
    """One answer as people write it, from the phrases of its themes.

    The phrases come in random order, joined as in the language; with probability
    ``noise`` a filler opens the answer, with ``noise / 2`` (always when ``off_theme``) an
    off-theme sentence (some with near-misses of rule words) is added; then the answer's
    case and punctuation vary, and a few are typed in full-width forms.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> compose_answer(rng, ["the screen is too dim", "battery life is poor"], "en", 0.0)
    'battery life is poor and the screen is too dim.'
    """
    parts = [p.rstrip(".!?;。！？；… ") for p in parts]
    if off_theme or rng.random() < noise / 2:
        parts.append(str(rng.choice(_OTHER[language])))
    rng.shuffle(parts)
    if rng.random() < noise:
        filler, first = str(rng.choice(_FILLERS[language])), parts[0]
        if first[1:2].islower():                    # "The app ..." -> "overall, the app ..."
            first = first[:1].lower() + first[1:]
        parts[0] = f"{filler}{'，' if language == 'zh' else ', '}{first}"
    text = parts[0]
    for p in parts[1:]:
        text += str(rng.choice(_JOIN[language])) + p
    text += str(rng.choice(_END[language]))
    r = rng.random()
    if language == "en" and r < 0.1:
        text = text.upper()
    elif language == "en" and r < 0.6:
        text = text[:1].upper() + text[1:]
    elif r > 0.95:  # full-width forms, as typed on a Chinese keyboard
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return text


def planted_answers(n: int, *, language: str = "en", mix: dict[str, float] | None = None,
                    seed: int = 0, no_comment: float = 0.08, missing: float = 0.1,
                    noise: float = 0.5) -> pd.DataFrame:
    """Answers with known themes.

    Parameters
    ----------
    n : int
        Number of respondents.
    language : {"en", "zh"}
    mix : dict, optional
        ``{theme: probability of a mention}`` (themes of :data:`PLANTED`); default 0.2 each.
    seed : int
    no_comment, missing : float
        Shares of answers that say nothing, and of missing answers.
    noise : float
        Probability of a filler or a near-miss sentence in an answer.

    Returns
    -------
    DataFrame
        ``answer`` and one 0/1 column ``truth_{theme}`` per theme of the mix, plus
        ``truth_other`` and ``truth_none``; truth columns are NaN where the answer is missing.

    Examples
    --------
    >>> d = planted_answers(5, mix={"battery": 0.9, "price": 0.5}, seed=1, missing=0)
    >>> d.columns.tolist()
    ['answer', 'truth_battery', 'truth_price', 'truth_other', 'truth_none']
    """
    if language not in ("en", "zh"):
        raise ValueError(f"language must be 'en' or 'zh', not {language!r}")
    mix = dict(mix or {t: 0.2 for t in PLANTED})
    unknown = [t for t in mix if t not in PLANTED]
    if unknown:
        raise ValueError(f"unknown theme(s) {unknown}; use {list(PLANTED)}")
    rng = np.random.default_rng(seed)
    themes = list(mix)
    probs = np.array([mix[t] for t in themes])
    truth = rng.random((n, len(themes))) < probs
    is_missing = rng.random(n) < missing
    silent = (rng.random(n) < no_comment) & ~is_missing
    truth[silent | is_missing] = False
    other = ~truth.any(axis=1) & ~silent & ~is_missing
    answers: list = []
    for i in range(n):
        if is_missing[i]:
            answers.append(None)
        elif silent[i]:
            answers.append(str(rng.choice(_NOTHING[language])))
        else:
            parts = [str(rng.choice(PLANTED[t][language])) for t in np.array(themes)[truth[i]]]
            answers.append(compose_answer(rng, parts, language, noise, off_theme=other[i]))
    out = pd.DataFrame({"answer": pd.Series(answers, dtype=object)})
    for j, t in enumerate(themes):
        out[f"truth_{t}"] = np.where(is_missing, np.nan, truth[:, j].astype(float))
    out["truth_other"] = np.where(is_missing, np.nan, other.astype(float))
    out["truth_none"] = np.where(is_missing, np.nan, silent.astype(float))
    return out
