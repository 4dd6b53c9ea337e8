"""Offline HTML export of executed notebooks, failure pages, and the offline check.

Reports are exported in-process with nbconvert's ``HTMLExporter`` and a template of our
own (``templates/surveykit_report``) that extends JupyterLab's layout but loads nothing:
no require.js, MathJax, mermaid or widget scripts, and the house stylesheet inlined. Code
cells are hidden, charts are embedded as data URIs, and stderr streams (warnings, which
the narrative already states in words) are left to the executed notebook kept beside the
HTML for debugging.
"""

from __future__ import annotations

import copy
import html
import os
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from .._util import atomic_write
from ..errors import ReportError

__all__ = ["export_html", "failure_page", "remote_references", "house_css", "HEADLINE_MIME",
           "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"
HEADLINE_MIME = "application/vnd.surveykit.headline+json"

_REMOTE = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"<(?:img|iframe|embed|source|audio|video)\b[^>]*\bsrc\s*=\s*[\"']?\s*"
               r"(?:https?:)?//", re.I),
    re.compile(r"@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I),
]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@lru_cache(maxsize=1)
def house_css() -> str:
    """The house stylesheet shared by reports, failure pages and the index."""
    return (TEMPLATES / "house.css").read_text(encoding="utf-8")


def remote_references(text: str) -> list[str]:
    """Every place in an HTML page that would load something from the network.

    Examples
    --------
    >>> remote_references('<script src="https://cdn.example/x.js"></script>')
    ['<script src="https://']
    >>> remote_references('<p>&lt;script src="http://x"&gt;</p>')
    []
    """
    found = []
    for rx in _REMOTE:
        found.extend(m.group(0) for m in rx.finditer(text))
    return found


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="surveykit_report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


def _strip_for_report(nb):
    """Copy of ``nb`` without the headline record, stderr streams and injected code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data")
            if data is not None and HEADLINE_MIME in data:
                continue
            kept.append(out)
        cell["outputs"] = kept
    nb.cells = [c for c in nb.cells
                if not (c.get("cell_type") == "code" and not c.get("outputs"))]
    return nb


def export_html(notebook, html_path: str | os.PathLike | None = None, *,
                title: str | None = None) -> str:
    """Export an executed notebook to one self-contained HTML page.

    Parameters
    ----------
    notebook : path or NotebookNode
        The executed notebook.
    html_path : path, optional
        Where to write the page (atomically). Nothing is written when ``None``.
    title : str, optional
        The page ``<title>`` (default: the notebook's file name).

    Returns
    -------
    str
        The HTML text.

    Raises
    ------
    ReportError
        If the page would load anything from the network (a notebook output that embeds
        a remote script or stylesheet).

    Examples
    --------
    An executed notebook (built here in memory; a report run writes them with papermill):

    >>> import tempfile
    >>> import nbformat
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    >>> nb = new_notebook(cells=[
    ...     new_markdown_cell("# Young professionals"),
    ...     new_code_cell("f.key_metrics()", execution_count=1, outputs=[
    ...         new_output("stream", name="stderr", text="SurveykitWarning: low base"),
    ...         new_output("execute_result", {"text/plain": "NPS +42"}, execution_count=1)])])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     nbformat.write(nb, Path(tmp) / "young.ipynb")
    ...     page = export_html(Path(tmp) / "young.ipynb", Path(tmp) / "young.html",
    ...                        title="Young")
    ...     written = (Path(tmp) / "young.html").read_text(encoding="utf-8")
    >>> written == page, "<title>Young</title>" in page, "NPS +42" in page
    (True, True, True)
    >>> "f.key_metrics()" in page, "SurveykitWarning" in page, "<script" in page
    (False, False, False)
    """
    import nbformat

    nb = nbformat.read(os.fspath(notebook), as_version=4) if isinstance(
        notebook, str | os.PathLike) else notebook
    nb = _strip_for_report(nb)
    if title:
        nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(
        nb, resources={"surveykit_css": house_css(),
                       "metadata": {"name": title or Path(str(notebook)).stem}})
    remote = remote_references(body)
    if remote:
        raise ReportError(f"the exported page would load {len(remote)} resource(s) from the "
                          f"network (first: {remote[0]!r}); reports must work offline: remove "
                          "the output that embeds it")
    if html_path is not None:
        atomic_write(html_path, body)
    return body


def failure_page(title: str, error: str, *, details: str | None = None,
                 notebook_name: str | None = None, html_path=None,
                 index_name: str = "index.html") -> str:
    """A self-contained page saying that a segment's report failed, and why.

    Examples
    --------
    >>> page = failure_page("Students", "ValueError: no respondents")
    >>> "ValueError: no respondents" in page and "<script" not in page
    True
    """
    esc = html.escape
    nb_link = (f'<p class="sk-note">The executed notebook, with the full traceback, is kept '
               f'for debugging: <a href="{esc(_href(notebook_name))}">'
               f'{esc(notebook_name)}</a>.</p>' if notebook_name else "")
    det = (f"<h2>Details</h2><pre>{esc(_ANSI.sub('', details))}</pre>" if details else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(title)} (report failed)</title>
<style type="text/css">{house_css()}</style></head>
<body><div class="sk-page">
<p class="sk-meta"><a href="{esc(_href(index_name))}">&larr; all segments</a></p>
<h1>{esc(title)}</h1>
<div class="sk-error"><p class="sk-failed">This report could not be produced.</p>
<pre>{esc(_ANSI.sub('', error))}</pre></div>
{nb_link}
{det}
<p class="sk-note">Written {datetime.now().strftime('%Y-%m-%d %H:%M')}. The other segments'
reports are unaffected.</p>
</div></body></html>
"""
    if html_path is not None:
        atomic_write(html_path, page)
    return page


def _href(name: str | None) -> str:
    from urllib.parse import quote

    return quote(name or "", safe="/") if name else ""
