"""What a person sees: the HTML pages and the SVG figure, opened from file:// in a real browser.

Debian's headless Chromium (driven by Playwright, one browser for the module; see conftest.py)
opens what the installed ``linexplain`` wrote with ``--format html|svg -o FILE``. Each page
loads with no console error and asks for nothing but its own file; its MathML is laid out as
maths (non-zero boxes; scripts smaller, subscripts lower, superscripts higher); its inline SVG
is drawn; a screenshot is not blank; on a phone nothing overflows the page sideways; and its
Content Security Policy really stops an injected script and a remote image. Skipped without
Chromium or Playwright, a failure when LINEXPLAIN_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

LINEXPLAIN = str(Path(sys.executable).with_name("linexplain"))
PHONE = {"width": 390, "height": 844}
MATHML = "http://www.w3.org/1998/Math/MathML"

# Each page: (name, arguments), written with --format html -o NAME.html.
PAGES = {
    "explain": ["explain"],
    "explain-net": ["explain", "--net", "4,3,relu,2", "--seed", "0"],
    "expand": ["expand", "--in", "4", "--out", "3"],
    "run": ["run", "--in", "3", "--out", "2", "--seed", "0", "--steps"],
    "grad": ["grad", "--in", "3", "--out", "2", "--seed", "0"],
    "shape": ["shape", "-s", "N,4", "--out", "3"],
    "draw": ["draw", "--net", "784,256,relu,10", "--seed", "0"],
}
# Pages that must show maths and the figure (the others are checked wherever they have them).
WITH_MATHS = {"explain", "explain-net", "expand", "grad"}
WITH_FIGURE = {"explain", "explain-net", "draw"}
FIGURE = PAGES["draw"]


def linexplain(*args: str) -> None:
    """Run the installed ``linexplain`` (a subprocess, as a person would)."""
    result = subprocess.run(
        [LINEXPLAIN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, (args, result.stderr)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """Every page and the standalone figure, each written once by the installed command."""
    folder = tmp_path_factory.mktemp("pages")
    files = {}
    for name, args in PAGES.items():
        files[name] = folder / f"{name}.html"
        linexplain(*args, "--format", "html", "-o", str(files[name]))
    files["figure"] = folder / "fig.svg"
    linexplain(*FIGURE, "--format", "svg", "-o", str(files["figure"]))
    return files


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go (pytest keeps the last runs' temp folders, to look at)."""
    return tmp_path_factory.mktemp("screenshots")


def url(path: Path) -> str:
    return path.resolve().as_uri()


def assert_clean(visit) -> None:
    """No console error or warning, no uncaught exception, no CSP violation, no request for
    anything but the file itself, and no script at all."""
    assert visit.errors == []
    assert visit.violations == []
    assert visit.requests == [visit.url]
    assert visit.page.evaluate("document.scripts.length") == 0


def assert_not_blank(visit, path: Path):
    """A full-page screenshot has many colours (anti-aliased text, drawing) and a fair share of
    pixels that are not the background (the commonest colour)."""
    from PIL import Image

    page = visit.page
    if page.evaluate("document.documentElement.localName") == "svg":
        # A full-page screenshot of an SVG document never finishes (Playwright 1.65): make the
        # viewport the drawing's size and take that.
        width, height = page.evaluate(
            "(() => { const b = document.documentElement.getBoundingClientRect();"
            " return [Math.ceil(b.right), Math.ceil(b.bottom)]; })()"
        )
        page.set_viewport_size({"width": max(width, 1), "height": max(height, 1)})
        png = page.screenshot(path=path)
    else:
        png = page.screenshot(path=path, full_page=True)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = image.width * image.height
    colours = image.getcolors(maxcolors=pixels)
    assert colours is not None
    background = max(colours)[0]
    assert len(colours) >= 32, (path, len(colours))
    assert (pixels - background) / pixels >= 0.005, (path, background, pixels)
    return image


def tinted(image, channel: int, by: int = 40) -> int:
    """How many pixels have ``channel`` (0 red, 2 blue) above both others by more than ``by``."""
    from PIL import ImageChops

    bands = image.split()
    others = [band for k, band in enumerate(bands) if k != channel]
    excess = ImageChops.subtract(bands[channel], ImageChops.lighter(*others))
    return sum(excess.point(lambda v: 255 if v > by else 0).histogram()[255:])


# Every <math>: laid out as MathML with a non-zero box, as Chromium's MathML Core does it.
MATHS = """() => [...document.querySelectorAll('math')].map((m) => {
  const box = m.getBoundingClientRect();
  return {ns: m.namespaceURI, width: box.width, height: box.height,
          display: m.getAttribute('display'), css: getComputedStyle(m).display};
})"""

# Every script (msub, msup, msubsup): each script's font is smaller than its base's, a
# subscript sits lower than the base and a superscript higher.
SCRIPTS = """() => [...document.querySelectorAll('msub, msup, msubsup')].map((s) => {
  const middle = (e) => { const b = e.getBoundingClientRect(); return (b.top + b.bottom) / 2; };
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  const [base, first, second] = s.children;
  const sub = s.localName === 'msup' ? null : first;
  const sup = s.localName === 'msub' ? null : (s.localName === 'msup' ? first : second);
  const script = (e) => e && {size: size(e), middle: middle(e)};
  return {tag: s.localName, text: s.textContent, base: script(base),
          sub: script(sub), sup: script(sup)};
})"""


# Every inline <svg>: its box, and the boxes of its shapes and texts in its own units.
DRAWING = """() => {
  const box = (e) => { const b = e.getBBox(); return [b.width, b.height]; };
  return [...document.querySelectorAll('svg:not(svg svg)')].map((svg) => {
    const r = svg.getBoundingClientRect();
    const lines = [...svg.querySelectorAll('line, path, polyline')];
    return {
      width: r.width, height: r.height,
      lines: lines.map(box),
      strokes: [...new Set(lines.map((e) => getComputedStyle(e).stroke))],
      circles: [...svg.querySelectorAll('circle, ellipse')].map(box),
      texts: [...svg.querySelectorAll('text')].map((t) => [t.textContent.trim(), ...box(t)]),
    };
  });
}"""


def assert_maths(visit, required: bool) -> None:
    visit.page.evaluate("document.querySelectorAll('details').forEach((d) => (d.open = true))")
    maths = visit.page.evaluate(MATHS)
    if required:
        assert maths, "no <math> on the page"
    for m in maths:
        assert m["ns"] == MATHML, m
        assert m["width"] > 0 and m["height"] > 0, m
        if m["display"] == "block":
            assert m["css"] == "block math", m
    scripts = visit.page.evaluate(SCRIPTS)
    if required:
        assert scripts, "no <msub>, <msup> or <msubsup> on the page"
    for s in scripts:
        base, sub, sup = s["base"], s["sub"], s["sup"]
        for script in filter(None, (sub, sup)):
            assert script["size"] < base["size"], s
        if sub:
            assert sub["middle"] > base["middle"], s
        if sup:
            assert sup["middle"] < base["middle"], s


def assert_drawn(drawing: dict) -> None:
    assert drawing["width"] > 0 and drawing["height"] > 0, drawing
    assert drawing["lines"] and drawing["circles"], drawing
    assert all(w > 0 or h > 0 for w, h in drawing["lines"]), drawing["lines"]
    assert all(w > 0 and h > 0 for w, h in drawing["circles"]), drawing["circles"]
    texts = [t for t in drawing["texts"] if t[0]]
    assert texts, "no text in the figure"
    assert all(w > 0 and h > 0 for _, w, h in texts), texts


def assert_no_sideways_overflow(visit) -> None:
    """On a phone the page does not scroll sideways: wide maths and tables scroll in their
    own boxes."""
    width, inner = visit.page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner + 1, (width, inner)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_seen(browser, written, shots, name):
    visit = browser.open(url(written[name]))
    try:
        assert_clean(visit)
        assert visit.page.title().strip()
        assert_maths(visit, required=name in WITH_MATHS)
        drawings = visit.page.evaluate(DRAWING)
        if name in WITH_FIGURE:
            assert drawings, "no inline <svg> on the page"
        for drawing in drawings:
            assert_drawn(drawing)
        assert_not_blank(visit, shots / f"{name}.png")
        assert visit.errors == []
    finally:
        visit.page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_phone(browser, written, shots, name):
    visit = browser.open(url(written[name]), viewport=PHONE)
    try:
        assert_clean(visit)
        assert_no_sideways_overflow(visit)
        assert_maths(visit, required=name in WITH_MATHS)
        if name == "explain":
            assert_not_blank(visit, shots / f"{name}-phone.png")
    finally:
        visit.page.close()


def test_figure_file_is_drawn(browser, written, shots):
    """The standalone SVG, opened by itself: well-formed, drawn, and its real weights show
    both signs (two wire colours)."""
    svg = written["figure"]
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    visit = browser.open(url(svg))
    try:
        assert_clean(visit)
        assert visit.page.evaluate("document.documentElement.localName") == "svg"
        [drawing] = visit.page.evaluate(DRAWING)
        assert_drawn(drawing)
        assert len(drawing["strokes"]) >= 2, drawing["strokes"]
        image = assert_not_blank(visit, shots / "figure.png")
        # Positive and negative weights are seen: many red pixels and many blue ones (far more
        # than the legend's two short keys).
        red, blue = tinted(image, 0), tinted(image, 2)
        assert red > 1000 and blue > 1000, (red, blue)
    finally:
        visit.page.close()


INJECTED = (
    '<script>document.title = "script ran";</script>'
    '<img id="remote" src="http://example.invalid/x" alt="remote">'
)


def inject(page: str, keep_policy: bool) -> str:
    if not keep_policy:
        page = re.sub(r"<meta[^>]*Content-Security-Policy[^>]*>", "", page, flags=re.I)
    assert INJECTED not in page and "</body>" in page
    return page.replace("</body>", INJECTED + "</body>", 1)


def test_policy_blocks_scripts_and_remote_images(browser, written, tmp_path):
    """An inline script and a remote image injected into a copy of the page: the script does
    not run and the image is never requested. Without the policy both happen, so the test
    does test the policy."""
    original = written["explain"].read_text(encoding="utf-8")
    assert re.search(r"<meta[^>]*http-equiv=\"?Content-Security-Policy", original, re.I)
    guarded, open_ = tmp_path / "guarded.html", tmp_path / "open.html"
    guarded.write_text(inject(original, keep_policy=True), encoding="utf-8")
    open_.write_text(inject(original, keep_policy=False), encoding="utf-8")

    visit = browser.open(url(guarded))
    try:
        assert visit.page.title() != "script ran"
        # Chromium reports the image's request, failed with "csp": it never left the page.
        assert visit.foreign_requests == ["http://example.invalid/x"]
        assert visit.failures == {"http://example.invalid/x": "csp"}
        blocked = " ".join(visit.violations)
        assert "script-src" in blocked and "example.invalid" in blocked, visit.violations
        assert any("Content Security Policy" in text for text in visit.errors), visit.errors
    finally:
        visit.page.close()

    visit = browser.open(url(open_))
    try:
        assert visit.page.title() == "script ran"
        assert visit.foreign_requests == ["http://example.invalid/x"]
        assert visit.failures["http://example.invalid/x"] != "csp"  # aborted by the test
    finally:
        visit.page.close()
