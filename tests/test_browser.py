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
        "Fixture customer survey: findings by customer segment"
    assert _title(chromium, report, shots / "p2") == "中文 客户: findings"
    _assert_not_blank(_screenshot(chromium, index, shots / "p3", shots / "index.png"))
    px = _screenshot(chromium, report, shots / "p4", shots / "report.png")
    _assert_not_blank(px)
    # the findings box, tables and chart colours make the report far from monochrome
    assert len(np.unique((px * 16).astype(int).reshape(-1, 3), axis=0)) > 20


# ------------------------------------------------------------------------------------------
# phone and desktop widths, and print (issue 10)
# ------------------------------------------------------------------------------------------
class _DevTools:
    """Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    JSON messages ending in NUL on file descriptors 3 and 4), so that a page is laid out at
    a real phone width (Chromium's headless window is at least 500 px wide)."""

    def __init__(self, chromium: str, profile: Path):
        import fcntl
        import json

        self._json = json
        r_cmd, w_cmd = os.pipe()
        r_evt, w_evt = os.pipe()

        def child():  # the browser reads commands on fd 3 and writes answers on fd 4
            a = fcntl.fcntl(r_cmd, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(w_evt, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = [chromium, "--headless", "--remote-debugging-pipe", "--disable-gpu",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions",
               "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
               "--proxy-bypass-list=<-loopback>"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")
        self.proc = subprocess.Popen(cmd, close_fds=False, preexec_fn=child,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r_cmd)
        os.close(w_evt)
        self._w, self._r = w_cmd, r_evt
        self._buf, self._events, self._n = b"", [], 0
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.send("Page.enable", session=True)

    def _message(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return self._json.loads(msg)

    def send(self, method: str, *, session: bool = False, **params) -> dict:
        self._n += 1
        msg = {"id": self._n, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, self._json.dumps(msg).encode() + b"\0")
        while True:
            m = self._message()
            if m.get("id") == self._n:
                assert "error" not in m, m["error"]
                return m["result"]
            self._events.append(m)

    def open(self, page: Path, width: int, height: int = 900) -> None:
        self.send("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=1, mobile=width < 600)
        self.send("Page.navigate", session=True, url=page.as_uri())
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(self._message())
        self._events.clear()

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", session=True, expression=expression,
                         returnByValue=True)["result"]["value"]

    def screenshot(self) -> np.ndarray:
        import base64
        import io

        from matplotlib import image

        png = base64.b64decode(self.send("Page.captureScreenshot", session=True,
                                         format="png")["data"])
        return image.imread(io.BytesIO(png), format="png")[..., :3]

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        finally:
            os.close(self._w)
            os.close(self._r)


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_index_and_reports_are_no_wider_than_the_screen(pages, width):
    chromium, out, report, shots = pages
    tools = _DevTools(chromium, shots / f"dev{width}")
    try:
        for page in (out / "index.html", report, out / "overview.html"):
            tools.open(page, width)
            doc, view = tools.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]")
            assert view == width and doc <= view, (page.name, width, doc)
            # wide tables scroll inside their own box instead
            boxes = tools.evaluate("Array.from(document.querySelectorAll('.sk-scroll'))"
                                   ".map(e => e.getBoundingClientRect().right)")
            assert boxes and max(boxes) <= view, (page.name, max(boxes))
            px = tools.screenshot()
            assert px.shape[1] == width
            _assert_not_blank(px)
    finally:
        tools.close()


def _pdf_pages(path: Path) -> list[list[tuple[float, str]]]:
    """The text lines of each page of a Chromium (Skia) PDF, top to bottom: ``(y, text)``
    with y in points from the top. Enough PDF for the test: Flate streams, ToUnicode maps
    of the fonts, text positions through ``cm`` and ``Tm``."""
    import zlib

    data = path.read_bytes()
    objs = {int(m.group(1)): m.group(2)
            for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}

    def stream(body: bytes) -> bytes:
        m = re.search(rb"stream\r?\n", body)
        if not m:
            return b""
        head = body[:m.start()]
        # the stream's bytes are /Length long: a regex up to "endstream" would drop a
        # last data byte that happens to be CR (it did: "incomplete or truncated stream")
        n = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", head)
        raw = body[m.end():m.end() + int(n.group(1))] if n else \
            re.match(rb"(.*?)\r?\nendstream", body[m.end():], re.S).group(1)
        return zlib.decompress(raw) if b"/FlateDecode" in head else raw

    def cmap(text: bytes) -> dict[int, str]:
        out = {}
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                out[int(a, 16)] = bytes.fromhex(b.decode()).decode("utf-16-be", "replace")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for a, b, c in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
                for k, code in enumerate(range(int(a, 16), int(b, 16) + 1)):
                    out[code] = chr(int(c, 16) + k)
        return out

    def mul(a, b):
        return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
                a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]

    def kids(n: int) -> list[int]:
        if re.search(rb"/Type\s*/Page\b", objs[n]):
            return [n]
        refs = re.search(rb"/Kids\s*\[(.*?)\]", objs[n], re.S).group(1)
        return [p for k in re.findall(rb"(\d+) 0 R", refs) for p in kids(int(k))]

    root = next(n for n, b in objs.items()
                if re.search(rb"/Type\s*/Pages\b", b) and b"/Parent" not in b)
    token = re.compile(rb"((?:[-\d.]+\s+){6})cm\b|(?<![\w/])([qQ])(?!\w)|BT(.*?)ET", re.S)
    pages = []
    for p in kids(root):
        body = objs[p]
        height = float(re.search(rb"/MediaBox\s*\[\s*\S+\s+\S+\s+\S+\s+([-\d.]+)", body)
                       .group(1))
        fonts = {}
        block = re.search(rb"/Font\s*<<(.*?)>>", body, re.S)
        for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", block.group(1) if block else b""):
            tu = re.search(rb"/ToUnicode\s+(\d+) 0 R", objs[int(ref)])
            fonts[name] = cmap(stream(objs[int(tu.group(1))])) if tu else {}
        refs = re.search(rb"/Contents\s+(?:\[(.*?)\]|(\d+) 0 R)", body, re.S)
        nums = re.findall(rb"(\d+) 0 R", refs.group(1)) if refs.group(1) else [refs.group(2)]
        content = b"".join(stream(objs[int(x)]) for x in nums)
        ctm, saved, lines = [1.0, 0, 0, 1.0, 0, 0], [], {}
        for m in token.finditer(content):
            if m.group(1):
                ctm = mul([float(v) for v in m.group(1).split()], ctm)
            elif m.group(2) == b"q":
                saved.append(ctm)
            elif m.group(2) == b"Q":
                ctm = saved.pop() if saved else ctm
            else:
                run = m.group(3)
                font = re.search(rb"/(\w+)\s+[\d.]+\s+Tf", run)
                glyphs = fonts.get(font.group(1), {}) if font else {}
                tm = re.search(rb"((?:[-\d.]+\s+){6})Tm", run)
                at = mul([float(v) for v in tm.group(1).split()], ctm) if tm else ctm
                text = "".join(glyphs.get(int(h[i:i + 4], 16), "?")
                               for h in (x.decode() for x in re.findall(rb"<(\w*)>", run))
                               for i in range(0, len(h), 4))
                lines.setdefault(round(height - at[5]), []).append((at[4], text))
        pages.append([(y, "".join(t for _, t in sorted(lines[y]))) for y in sorted(lines)])
    return pages


@pytest.mark.slow
def test_a_printed_report_has_page_numbers_the_segment_and_no_stranded_heading(
        report_pipeline, pages):
    chromium, out, _, shots = pages
    entry = report_pipeline["by_value"]["../../etc"]
    report = out / entry["html"]
    pdf = shots / "report.pdf"
    proc = _browse(chromium, report, shots / "pdf", f"--print-to-pdf={pdf}",
                   "--no-pdf-header-footer")
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
    import unicodedata

    printed = _pdf_pages(pdf)
    assert len(printed) >= 2
    page = report.read_text(encoding="utf-8")
    leads = re.findall(r'<div class="sk-lead"><h2>([^<]+)</h2>.*?<li>(.*?)</li>', page, re.S)
    headings = {html.unescape(h) for h, _ in leads}
    assert {"Summary", "Recommendations", "1. Profile"} <= headings
    for number, lines in enumerate(printed, start=1):
        text = [t for _, t in lines]
        # the segment's name at the top and "Page n of N" at the bottom of every page
        # (the PDF places words, not spaces, in margin boxes: compare without them)
        assert text[0].replace(" ", "").startswith("../../etc:findings"), (number, text[:2])
        assert text[-1].replace(" ", "") == f"Page{number}of{len(printed)}", (number, text[-2:])
        assert len(text) > 2 and unicodedata.normalize("NFKC", text[-2]).strip() \
            not in headings, (number, text[-3:])
    # each heading is printed on the same page as the first sentence after it
    def squeeze(text: str) -> str:  # no spaces, ligatures ("ﬁ") as letters
        return unicodedata.normalize("NFKC", text).replace(" ", "")

    flat = [squeeze("".join(t for _, t in lines)) for lines in printed]
    for heading, first in leads:
        first = squeeze(html.unescape(re.sub(r"<[^>]+>", "", first)))[:30]
        on = [i for i, lines in enumerate(printed)
              if any(squeeze(t) == squeeze(html.unescape(heading)) for _, t in lines)]
        assert len(on) == 1 and first in flat[on[0]], (heading, on, first)


@pytest.mark.slow
def test_chart_labels_measured_without_a_browser_fit_the_browsers_text(pages):
    """The IPA chart places its labels with boxes measured from a DejaVu Sans width table;
    in Chromium each label's drawn box (``getBBox()``) lies within the measured one, inside
    the chart, and overlaps no other label."""
    from surveykit.charts import label_boxes

    chromium, out, report, shots = pages
    tools = _DevTools(chromium, shots / "svgtext")
    try:
        tools.open(report, 1280)
        charts = tools.evaluate(
            "Array.from(document.querySelectorAll('.sk-figure svg'))"
            ".filter(s => s.querySelector('text.skc-label')).map(s => ({svg: s.outerHTML, "
            "view: s.viewBox.baseVal.width, viewh: s.viewBox.baseVal.height, "
            "boxes: Array.from(s.querySelectorAll('text.skc-label')).map(t => {"
            "const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]})}))")
    finally:
        tools.close()
    assert charts, "no IPA chart with labels on the page"
    for chart in charts:
        measured = label_boxes(chart["svg"])
        drawn = chart["boxes"]
        assert len(measured) == len(drawn) >= 2
        for (text, m), (_, x, y, w, h) in zip(measured, drawn, strict=True):
            assert w > 0 and h > 0, text
            # the browser's box inside the measured box (half a unit of rounding)
            assert m.x0 - 0.5 <= x and x + w <= m.x1 + 0.5, (text, m, (x, w))
            assert m.y0 - 0.5 <= y and y + h <= m.y1 + 0.5, (text, m, (y, h))
            assert 0 <= x and x + w <= chart["view"] and 0 <= y and y + h <= chart["viewh"]
            # and not much smaller: the table measures this font, not a guess
            assert w >= 0.97 * (m.x1 - m.x0), (text, m, w)
        for i, (a, ax, ay, aw, ah) in enumerate(drawn):
            for b, bx, by, bw, bh in drawn[i + 1:]:
                assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), \
                    (a, b)
