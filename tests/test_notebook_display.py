"""Charts appear inline in a fresh Jupyter kernel, with no ``%matplotlib`` magic.

A real notebook is executed by nbclient on the ``python3`` kernel; its ``.plot()`` cell must
leave an ``image/png`` output (not only ``<Figure size ...>``). The chapter notebooks are
executed the same way in ``test_chapter_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _run(cells: list[str], cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _mimetypes(cell) -> set[str]:
    return {m for out in cell.get("outputs", []) for m in out.get("data", {})}


@pytest.mark.slow
def test_a_plot_result_shows_as_png_in_a_fresh_kernel(tmp_path):
    nb = _run([
        "import numpy as np, pandas as pd\n"
        "from surveykit.drivers import key_drivers\n"
        "rng = np.random.default_rng(1)\n"
        "df = pd.DataFrame(rng.normal(size=(200, 3)), columns=['a', 'b', 'c'])\n"
        "df['y'] = df.a + 0.5 * df.b + rng.normal(size=200)",
        "key_drivers(df, 'y', ['a', 'b', 'c']).plot()",
    ], tmp_path)
    plot_cell = nb.cells[1]
    assert "image/png" in _mimetypes(plot_cell), plot_cell.outputs
    assert not [o for o in plot_cell.outputs if o.get("output_type") == "stream"
                and o.get("name") == "stderr"]
