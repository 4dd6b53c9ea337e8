"""The words of the response check's findings: values as people read them, code lists and
the messages that say what is wrong and what to do."""

from __future__ import annotations

import numpy as np

#: shown instead of the value of a personal-data column
_PII = "[pii hidden]"


def _gone(absent: dict[str, np.ndarray], p: int) -> str:
    gone = [c for c, a in absent.items() if a[p]]
    return f" (no valid answer: {', '.join(gone)})" if gone else ""


def _is_number(code) -> bool:
    return isinstance(code, int | float | np.integer | np.floating) and not isinstance(code, bool)


def _show(v):
    """Values for people: 3.0 -> 3, numpy scalars -> Python, text as is."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isfinite(v) and v.is_integer():
        return int(v)
    return v


def _codes_text(codes) -> str:
    codes = list(codes)
    nums = sorted(c for c in codes if _is_number(c))
    if len(nums) == len(codes) and len(nums) > 3 and nums == list(range(int(nums[0]),
                                                                     int(nums[-1]) + 1)):
        return f"{nums[0]}-{nums[-1]}"
    shown = ", ".join(map(repr, codes[:12])) if len(nums) != len(codes) else \
        ", ".join(map(str, codes[:12]))
    return shown + (", ..." if len(codes) > 12 else "")


def _non_numeric_message(name: str, value, labels: dict) -> str:
    text = f"{name} = {value!r} is not a number"
    code = labels.get(str(value).strip().lower()) if isinstance(value, str) else None
    if code is not None:
        text += f" (it is the label of code {code}: export codes, not labels)"
    return text + "; fix the source or let clean() set it to NaN"


def _exclusive_message(qu, opts, ticked_row) -> str:
    chosen = [opts[j] for j in np.flatnonzero(ticked_row)]
    excl = [o for o in chosen if o.exclusive]
    others = [o for o in chosen if o is not excl[0]]
    return (f"{qu.id}: exclusive option {excl[0].code} ({excl[0].label!r}) ticked together "
            f"with {', '.join(f'{o.code} ({o.label!r})' for o in others)}; clean() keeps the "
            "other options and unticks the exclusive one by default")
