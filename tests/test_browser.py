"""A real headless Chromium opens the index and one report from disk with the network off.

The pages come from the real pipeline run on the fixture survey (shared with
tests/test_reporting.py). Chromium is Debian's ``chromium`` package; without it the test is
skipped locally (with how to install it) but fails in CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

FIX = Path(__file__).resolve().parent / "fixtures" / "reporting"
INSTALL = "install it with `apt-get install chromium` (Debian/Ubuntu), then rerun"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    message = f"headless Chromium is not installed: {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: this test must run in CI)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def pages(report_pipeline, tmp_path_factory):
    chromium = _chromium()
    run = report_pipeline
    report = run["by_value"]["中文 客户"]
    assert report["status"] == "ok"
    return chromium, run["out"], run["out"] / report["html"], tmp_path_factory.mktemp("shots")


def _browse(chromium: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    """Chromium, headless, from disk, with every network request sent nowhere."""
    cmd = [chromium, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--proxy-bypass-list=<-loopback>", "--hide-scrollbars", *extra, page.as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _title(chromium: str, page: Path, profile: Path) -> str:
    proc = _browse(chromium, page, profile, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r"<title>(.*?)</title>", proc.stdout, re.S)
    assert m, proc.stdout[:500]
    return html.unescape(m.group(1)).strip()


def _screenshot(chromium: str, page: Path, profile: Path, png: Path) -> np.ndarray:
    proc = _browse(chromium, page, profile, f"--screenshot={png}", "--window-size=1280,1600")
    assert proc.returncode == 0 and png.is_file(), proc.stderr[-2000:]
    from matplotlib import image

    return image.imread(png)[..., :3]


def _assert_not_blank(pixels: np.ndarray) -> None:
    # a blank page is one flat colour; a rendered report has text, tables and a chart
    inked = (np.abs(pixels - pixels[0, 0]).sum(axis=-1) > 0.1).mean()
    assert inked > 0.02, f"only {inked:.2%} of the screenshot differs from the background"
    assert pixels.std() > 0.05


@pytest.mark.slow
def test_chromium_renders_index_and_a_report_offline(pages):
    chromium, out, report, shots = pages
    index = out / "index.html"
    assert _title(chromium, index, shots / "p1") == \
        "Fixture customer survey: findings by Customer segment"
    assert _title(chromium, report, shots / "p2") == "中文 客户: findings"
    _assert_not_blank(_screenshot(chromium, index, shots / "p3", shots / "index.png"))
    px = _screenshot(chromium, report, shots / "p4", shots / "report.png")
    _assert_not_blank(px)
    # the findings box, tables and chart colours make the report far from monochrome
    assert len(np.unique((px * 16).astype(int).reshape(-1, 3), axis=0)) > 20
