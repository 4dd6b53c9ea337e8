"""``manifest.json`` and ``index.html``: one row per segment, linking to its report."""

from __future__ import annotations

import html
import json
import math
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from .._util import atomic_write
from .export import house_css

__all__ = ["write_manifest", "write_index", "index_html"]


def write_manifest(path, run: dict, segments: list[dict]) -> Path:
    """Write ``manifest.json``: the run's settings and, per segment, status, time, base,
    error, file names and headline metrics."""
    doc = {"run": run, "segments": segments}
    return atomic_write(
        path, json.dumps(doc, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _fmt_metric(m: dict) -> str:
    """One headline metric cell: estimate, arrow when significantly different from total."""
    est = m.get("estimate")
    if est is None or (isinstance(est, float) and not math.isfinite(est)):
        return '<span class="sk-note">n/a</span>'
    text = html.escape(str(m.get("display") or f"{est:.1f}"))
    sig = m.get("sig")
    title = html.escape(m.get("note") or "", quote=True)
    if sig in ("higher", "lower"):
        good = (sig == "higher") == bool(m.get("higher_is_better", True))
        arrow = "&#9650;" if sig == "higher" else "&#9660;"
        text = (f'<span class="{"sk-good" if good else "sk-bad"}" title="{title}">'
                f'{text}&nbsp;{arrow}</span>')
    if m.get("low_base"):
        text += ' <span class="sk-lowbase" title="low base">low base</span>'
    return text


def index_html(title: str, segments: list[dict], *, total: dict | None = None,
               notes: list[str] | None = None, subtitle: str | None = None,
               overview: dict | None = None, tabbook: dict | None = None,
               interrupted: bool = False, trend: str = "") -> str:
    """The index page (self-contained HTML: inline style, no script).

    ``overview`` and ``tabbook`` are their manifest entries: a link each, or the error.
    ``trend``: the trend block of a wave report (:func:`.trend_section.index_trend_html`).
    ``interrupted``: the run was stopped, and the page says that the report is partial."""
    esc = html.escape
    # headline metric columns, in first-seen order
    keys: list[tuple[str, str]] = []
    for s in segments:
        for m in s.get("headline", {}).get("metrics", []) or []:
            if (m["key"], m.get("label", m["key"])) not in keys and \
                    m["key"] not in [k for k, _ in keys]:
                keys.append((m["key"], m.get("label", m["key"])))
    head = "".join(f"<th>{esc(lab)}</th>" for _, lab in keys)
    rows = []
    if total:
        cells = "".join(f"<td>{_fmt_metric(total.get(k, {}))}</td>" for k, _ in keys)
        rows.append(f'<tr class="sk-total"><td class="sk-text"><b>Total</b></td>'
                    f'<td>{total.get("base", "")}</td><td>100%</td>{cells}'
                    f'<td class="sk-text"></td></tr>')
    for s in segments:
        label = esc(s["label"])
        link = f'<a href="{esc(quote(s["html"]))}">{label}</a>' if s.get("html") else label
        metrics = {m["key"]: m for m in s.get("headline", {}).get("metrics", []) or []}
        cells = "".join(f"<td>{_fmt_metric(metrics[k]) if k in metrics else ''}</td>"
                        for k, _ in keys)
        base = s.get("base")
        low = s.get("low_base")
        base_txt = f"{base:,}" if isinstance(base, int) else esc(str(base))
        if low:
            base_txt += ' <span class="sk-lowbase">low base</span>'
        share = s.get("weighted_share")
        share_txt = f"{100 * share:.0f}%" if isinstance(share, float) else ""
        status = s.get("status", "")
        if status == "ok":
            st = _where_to_act(s)
        else:
            err = esc(str(s.get("error") or ""), quote=True)
            st = f'<span class="sk-failed" title="{err}">{esc(status)}</span>'
        rows.append(f'<tr><td class="sk-text">{link}</td><td>{base_txt}</td><td>{share_txt}</td>'
                    f'{cells}<td class="sk-text">{st}</td></tr>')
    note_html = "".join(f"<li>{esc(n)}</li>" for n in (notes or []))
    ov = ""
    if overview:
        link = (f'<a href="{esc(quote(overview["html"]))}">{esc(overview["label"])}</a>'
                if overview.get("html") else esc(overview["label"]))
        err = esc(str(overview.get("error") or ""), quote=True)
        state = ("" if overview.get("status") == "ok" else
                 f' <span class="sk-failed" title="{err}">'
                 f'{esc(str(overview.get("status")))}</span>')
        ov = (f'<p>{link}{state}: segment comparison and banner tables, with an appendix '
              f'for analysts (weighting, reliability, factor structure).</p>')
    tb = ""
    if tabbook:
        label = esc(str(tabbook.get("label") or "Tab book (Excel)"))
        if tabbook.get("status") == "ok" and tabbook.get("path"):
            name = esc(str(tabbook["path"]))
            tb = (f'<p>{label}: <a href="{esc(quote(str(tabbook["path"])))}">{name}</a>, '
                  f'the banner tables of the overview, one sheet per question.</p>')
        else:
            klass = "sk-failed" if tabbook.get("status") == "failed" else "sk-note"
            tb = (f'<p class="{klass}">{label}: not written ({esc(str(tabbook.get("status")))}'
                  f'): {esc(str(tabbook.get("error") or ""))}</p>')
    n_failed = sum(s.get("status") not in ("ok", "interrupted") for s in segments)
    failed = (f'<p class="sk-failed">{n_failed} of {len(segments)} segment reports failed; '
              f'their pages show the error.</p>' if n_failed else "")
    if interrupted:
        n_done = sum(s.get("status") != "interrupted" for s in segments)
        failed = (f'<p class="sk-failed sk-partial">This run was interrupted: the report is '
                  f'partial ({n_done} of {len(segments)} segment page(s) written). Run the '
                  f'command again for the complete report.</p>' + failed)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(title)}</title>
<style type="text/css">{house_css()}</style>{_print_style(title)}</head>
<body><div class="sk-page">
<h1>{esc(title)}</h1>
<p class="sk-meta">{esc(subtitle or '')}</p>
{failed}
{_summary(segments)}
<div class="sk-scroll"><table class="sk-index">
<thead><tr><th class="sk-text">Segment</th><th>Base (n)</th><th>Weighted share</th>{head}
<th class="sk-text">Where to act</th></tr></thead>
<tbody>
{''.join(rows)}
</tbody></table></div>
{_glance(segments)}
{trend}
{ov}
{tb}
<ul class="sk-note">{note_html}</ul>
<p class="sk-note">Written {datetime.now().strftime('%Y-%m-%d %H:%M')} by surveykit.</p>
</div></body></html>
"""


def _summary(segments: list[dict]) -> str:
    """The index's opening sentence (the comparison in words), from the headlines."""
    from .glance import index_summary

    text = index_summary(segments)
    return (f'<div class="sk-findings sk-summary"><p>{html.escape(text)}</p></div>'
            if text else "")


def _glance(segments: list[dict]) -> str:
    """Key-metrics chart and segment x driver map, from the headlines."""
    from .glance import glance_html

    return glance_html(segments)


def _print_style(title: str) -> str:
    from .findings_util import print_style

    return print_style(title)


def _where_to_act(s: dict) -> str:
    """The segment's act-here drivers, most important first (from its headline)."""
    acts = [d for d in (s.get("headline") or {}).get("drivers") or [] if d.get("act_here")]
    acts.sort(key=lambda d: -(d.get("importance") or 0))
    if not acts:
        return '<span class="sk-note">nothing urgent</span>'
    return html.escape(", ".join(d["label"] for d in acts[:2]))


def write_index(path, title: str, segments: list[dict], **kwargs) -> Path:
    """Write :func:`index_html` to ``path`` atomically."""
    return atomic_write(path, index_html(title, segments, **kwargs))
