"""report.html: content, self-containment, accessibility, size, speed, and a real browser.

The browser tests drive Debian's chromium through Playwright (``executable_path``; no
browser download). The Makefile's test target installs chromium when it is missing; a
test skips only where chromium is absent and cannot be installed, and never under CI.
"""

from __future__ import annotations

import base64
import html.parser
import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from docpipe import crops, pipeline
from docpipe.models import (
    Attachment,
    AttachmentStatus,
    Code,
    Evidence,
    Finding,
    Report,
    Severity,
)
from docpipe.report import build_report, char_diff, render_html, write_report

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples"
MISMATCH_CASE = "case-0105-uscc-check-id-expired"  # USCC-MATCH / FORM-MATCH with evidence
SIX_ATTACHMENTS = "case-0109"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# --------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    """Debian's chromium (or one named by DOCPIPE_CHROMIUM), if installed."""
    for candidate in (
        os.environ.get("DOCPIPE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _install_chromium() -> None:
    """Try what the Makefile does; only as root with apt-get (CI, this dev box)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            subprocess.run(cmd, env=env, capture_output=True, timeout=900, check=True)
        except (OSError, subprocess.SubprocessError):
            return


def need_chromium() -> str:
    """The chromium to drive; skip only when it is absent and cannot be installed."""
    path = find_chromium()
    if path is None:
        _install_chromium()
        path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: `make test` installs Debian's chromium")
        pytest.skip("chromium not found and could not be installed (apt-get install chromium)")
    return path


@dataclass
class Loaded:
    """A page opened in the browser, with what it asked for and complained about."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def external_requests(self) -> list[str]:
        """Every request but the page's own file and inline data: URIs."""
        own = self.page.url
        return [u for u in self.requests if not u.startswith("data:") and u != own]


class Browser:
    """One headless chromium with a fresh profile; pages are opened with tracking."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.blocked: list[str] = []

        def _route(route: Any) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:  # nothing may leave the machine: record it and refuse it
                self.blocked.append(url)
                route.abort()

        context.route("**/*", _route)

    def open(self, path: Path) -> Loaded:
        """Load ``path`` and wait until every image has loaded."""
        page = self.context.new_page()
        loaded = Loaded(page)
        page.on(
            "console",
            lambda m: loaded.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: loaded.console_errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: loaded.requests.append(r.url))
        page.on("requestfailed", lambda r: loaded.console_errors.append(f"failed: {r.url}"))
        page.goto(path.as_uri(), wait_until="load")
        return loaded


@pytest.fixture(scope="module", name="browser")
def browser_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Headless chromium (Debian's) with the flags of the issue and a fresh user-data-dir."""
    executable = need_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield Browser(context)
        finally:
            context.close()


# --------------------------------------------------------------------------- fixtures


@dataclass
class Reviewed:
    report: Report
    pages: dict[tuple[str, int], Any]


def review_sample(case: str) -> Reviewed:
    state = pipeline.run(SAMPLES / case / "submission")
    assert state.report is not None
    return Reviewed(state.report, dict(state.read_pages))


@pytest.fixture(scope="module")
def every_severity() -> Reviewed:
    """A sample with error mismatches, plus an injected warning and info finding.

    No rule emits ``info`` yet, so one is added with evidence on the license's name; the
    sample's one doubt (its device type, unread) is read now, so a warning is added too.
    """
    sample = review_sample(MISMATCH_CASE)
    r = sample.report
    license_doc = next((d for d in r.documents if d.kind.value == "business_license"), None)
    assert license_doc is not None, "no license read: is the sample's ocr.json current?"
    name = license_doc.fields["name"]
    info = Finding(
        rule="TEST-INFO",
        title="提示测试 / injected note",
        code=Code.low_quality,
        severity=Severity.info,
        field=f"file:{license_doc.file}",
        filed=r.enterprise_name,
        found=name.value,
        evidence=[Evidence(file=license_doc.file, page=1, bbox=name.bbox, text=name.raw)],
        message="注入的提示 / an injected info finding",
    )
    warning = info.model_copy(
        update={
            "rule": "TEST-WARNING",
            "title": "存疑测试 / injected doubt",
            "code": Code.not_found,
            "severity": Severity.warning,
            "message": "注入的存疑 / an injected warning finding",
        }
    )
    assert r.reference_date is not None
    report = build_report(
        submission_id=r.submission_id,
        submission=None,
        reference_date=date.fromisoformat(r.reference_date),
        attachments=r.attachments,
        documents=r.documents,
        findings=[info, warning, *r.findings],  # render must order them, not the caller
        docpipe_version=r.docpipe_version,
    )
    report = report.model_copy(
        update={
            "enterprise_name": r.enterprise_name,
            "credit_code": r.credit_code,
            "application_type": r.application_type,
        }
    )
    assert {f.severity for f in report.findings} == set(Severity)
    return Reviewed(report, sample.pages)


def mismatches(report: Report) -> list[tuple[int, Finding]]:
    """(1-based position on the page, finding) of every mismatch with filed and found."""
    return [
        (i, f)
        for i, f in enumerate(report.findings, start=1)
        if f.code is Code.mismatch and f.filed and f.found
    ]


# --------------------------------------------------------------------------- static checks


class _Outline(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.imgs: list[dict[str, str | None]] = []
        self.refs: list[tuple[str, str, str | None]] = []
        self.tags: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "img":
            self.imgs.append(a)
        for name in ("src", "href", "srcset", "poster", "data", "action"):
            if name in a:
                self.refs.append((tag, name, a[name]))


def outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def test_page_is_self_contained_and_accessible(every_severity: Reviewed) -> None:
    page = render_html(every_severity.report, every_severity.pages)
    o = outline(page)
    assert o.lang == "zh-CN"
    # One h1 first, and no level skipped on the way down.
    assert o.headings[0] == 1 and o.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(o.headings, o.headings[1:], strict=False)), o.headings
    # Nothing that loads: every reference is an inline image; no link, no external script.
    assert "link" not in o.tags
    assert all(name == "src" and tag == "img" for tag, name, _ in o.refs), o.refs
    assert all((v or "").startswith("data:image/jpeg;base64,") for _, _, v in o.refs)
    assert not re.search(r"url\(|@import|@font-face|https?://", page)
    assert o.imgs and all((img.get("alt") or "").strip() for img in o.imgs)
    assert "@media print" in page and "size: A4" in page


def test_findings_in_severity_order_with_icon_and_word(every_severity: Reviewed) -> None:
    page = render_html(every_severity.report, every_severity.pages)
    articles = re.findall(r'<article class="finding s-(\w+)".*?</article>', page, re.S)
    assert articles[: len(every_severity.report.findings)]
    order = {"error": 0, "warning": 1, "info": 2}
    assert articles == sorted(articles, key=order.__getitem__)
    assert set(articles) == {"error", "warning", "info"}
    # Colour is never the only signal: each finding says its severity in words.
    blocks = re.findall(r'<article class="finding s-(\w+)".*?<h3>(.*?)</h3>', page, re.S)
    words = {"error": "✖ 错误 / error", "warning": "⚠ 警告 / warning", "info": "ℹ 提示 / info"}
    assert len(blocks) == len(articles)
    for sev, heading in blocks:
        assert words[sev] in re.sub(r"<[^>]+>", "", heading)


def test_header_carries_the_facts(every_severity: Reviewed) -> None:
    r = every_severity.report
    page = render_html(r, every_severity.pages)
    header = page.split("</header>")[0]
    assert "✖</span> 退回 / reject" in header
    assert r.enterprise_name and r.enterprise_name in header
    assert r.credit_code and r.credit_code in header
    assert "变更企业操作员" in header and "change_operator" in header
    for word, n in (("errors", r.counts.error), ("warnings", r.counts.warning)):
        assert f"{word[:-1]}: {n}" in header
    assert f"info: {r.counts.info}" in header
    assert r.summary.split(";")[0] in header.replace("&#39;", "'")


def test_mismatch_shows_filed_and_found_with_differences_marked(every_severity: Reviewed) -> None:
    page = render_html(every_severity.report, every_severity.pages)
    found_any = False
    for i, f in mismatches(every_severity.report):
        article = re.search(rf'id="finding-{i}">(.*?)</article>', page, re.S)
        assert article is not None
        body = article.group(1)
        filed_html = re.search(r'class="filed">.*?class="value mono">(.*?)</span>', body, re.S)
        found_html = re.search(r'class="found">.*?class="value mono">(.*?)</span>', body, re.S)
        assert filed_html and found_html
        plain = re.compile(r"<[^>]+>")
        assert plain.sub("", filed_html.group(1)) == f.filed
        assert plain.sub("", found_html.group(1)) == f.found
        a, b = char_diff(f.filed, f.found)
        marked = [s.text for s in a if s.changed]
        assert re.findall(r"<mark[^>]*>(.*?)</mark>", filed_html.group(1)) == marked
        marked_found = [s.text for s in b if s.changed]
        assert re.findall(r"<mark[^>]*>(.*?)</mark>", found_html.group(1)) == marked_found
        found_any = found_any or bool(marked)
        assert "<img" in body and "证据截图" in body  # the crop, with alt text
    assert found_any


@pytest.mark.parametrize(
    ("filed", "found", "left", "right"),
    [
        ("91330206732948403R", "913302067329484037", ["R"], ["7"]),
        ("110105197107211014", "110105197107211O14", ["0"], ["O"]),
        ("张三丰", "张三", ["丰"], []),
        ("13726951304", "13726951304", [], []),
        ("91330206732948403R", "7", [], []),  # a check character: nothing to line up
    ],
    ids=["check-char", "o-for-zero", "missing-char", "equal", "unrelated"],
)
def test_char_diff(filed: str, found: str, left: list[str], right: list[str]) -> None:
    a, b = char_diff(filed, found)
    assert "".join(s.text for s in a) == filed
    assert "".join(s.text for s in b) == found
    assert [s.text for s in a if s.changed] == left
    assert [s.text for s in b if s.changed] == right


def test_documents_have_thumbnails_and_field_tables(every_severity: Reviewed) -> None:
    r = every_severity.report
    page = render_html(r, every_severity.pages)
    docs = page.split('id="h-docs"')[1]
    blocks = docs.split('<div class="doc">')[1:]
    assert len(blocks) == len(r.documents)
    for d, block in zip(r.documents, blocks, strict=True):
        assert d.file in block and d.kind.value in block
        assert block.count("<img") == 1
        boxed = [n for n, v in d.fields.items() if v.bbox is not None]
        # Rows are numbered like the boxes in the thumbnail.
        for n, name in enumerate(boxed, start=1):
            assert re.search(rf'<td class="num">{n}</td>\s*<td><code>{name}</code>', block)
        for v in d.fields.values():
            assert f"{v.confidence:.2f}" in block


def test_a_value_taken_from_another_document_says_where_from(every_severity: Reviewed) -> None:
    """``FieldValue.borrowed`` (docpipe.crossread): the value cell names the document
    whose reading it is, so the reviewer knows the image did not show it plainly."""
    r = every_severity.report.model_copy(deep=True)
    lic = next(d for d in r.documents if d.kind.value == "business_license")
    lic.fields["legal_representative"] = lic.fields["legal_representative"].model_copy(
        update={"borrowed": "id_card_front.name", "confidence": 0.85}
    )
    page = render_html(r, every_severity.pages)
    block = next(b for b in page.split('<div class="doc">')[1:] if "business_license" in b)
    row = next(tr for tr in block.split("<tr>") if "<code>legal_representative</code>" in tr)
    assert "同 id_card_front.name" in row and "as on id_card_front.name" in row
    assert block.count("as on id_card_front.name") == 1  # that row only


def test_unreadable_attachments_say_why(every_severity: Reviewed) -> None:
    r = every_severity.report
    broken = Attachment(
        file="扫描件.pdf",
        size=10,
        sha256="0" * 64,
        detected_type="pdf",
        status=AttachmentStatus.unreadable,
        note="PDF 已加密 / the PDF is encrypted",
    )
    page = render_html(r.model_copy(update={"attachments": [*r.attachments, broken]}))
    section = page.split('id="h-files"')[1].split("</ul>")[0]
    assert "未能读取的附件" in section
    assert "扫描件.pdf: PDF 已加密 / the PDF is encrypted" in section
    assert "无法读取 / unreadable" in section


def test_without_pages_the_places_are_named(every_severity: Reviewed) -> None:
    page = render_html(every_severity.report)
    assert "<img" not in page
    assert "证据 / evidence: 营业执照.jpg 第1页 / page 1" in page
    assert "无页面图像 / no page image" in page


def test_six_attachment_report_is_small_and_fast(tmp_path: Path) -> None:
    sample = review_sample(SIX_ATTACHMENTS)
    assert len(sample.report.attachments) == 6
    render_html(sample.report, sample.pages)  # warm-up: templates, decoders
    start = time.perf_counter()
    page = render_html(sample.report, sample.pages)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"render took {elapsed:.2f} s"
    write_report(sample.report, tmp_path, sample.pages)
    size = (tmp_path / "report.html").stat().st_size
    assert size < 3 * 1024 * 1024, size
    # Small because the pictures are downscaled, not because there are none.
    assert page.count("<img") >= len(sample.report.documents) > 0


# --------------------------------------------------------------------------- crops


def _decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_evidence_crop_is_the_region_around_the_box_with_the_box_drawn() -> None:
    page = Image.new("RGB", (2000, 1400), "white")
    bbox = (1200.0, 700.0, 1500.0, 740.0)
    page.paste((0, 0, 0), (1200, 700, 1500, 740))  # the "value" in black
    crop = _decode(crops.evidence_crop(page, bbox)).convert("RGB")
    assert crop.width <= crops.CROP_MAX_WIDTH
    px = np.asarray(crop).astype(int)
    ys, xs = np.nonzero((px[..., 0] > 180) & (px[..., 1] < 80) & (px[..., 2] < 80))
    assert len(xs) > 0, "no box drawn"
    # The black value sits inside the red box, which sits inside the crop, not at its edge.
    left, top, right, _ = crops.context_box(bbox, *page.size)
    f = crop.width / (right - left)
    cx, cy = (1350 - left) * f, (720 - top) * f
    assert min(xs) < cx < max(xs) and min(ys) < cy < max(ys)
    assert px[int(cy), int(cx), 0] < 60
    assert min(xs) > 0 and max(xs) < crop.width - 1


def test_thumbnail_crops_the_region_and_stays_small() -> None:
    page = Image.new("RGB", (1000, 1400), "white")
    uri = crops.thumbnail(page, [(100, 100, 300, 130)], region=(0, 0, 1000, 700))
    thumb = _decode(uri)
    assert thumb.width == crops.THUMB_MAX_WIDTH
    assert abs(thumb.height / thumb.width - 700 / 1000) < 0.05
    assert len(uri) < 60_000


# --------------------------------------------------------------------------- browser


def test_report_in_chromium(every_severity: Reviewed, browser: Browser, tmp_path: Path) -> None:
    write_report(every_severity.report, tmp_path / "out", every_severity.pages)
    loaded = browser.open(tmp_path / "out" / "report.html")
    page = loaded.page
    assert loaded.console_errors == []
    assert loaded.external_requests() == [] and browser.blocked == []
    for i, f in mismatches(every_severity.report):
        article = page.locator(f"#finding-{i}")
        filed = article.locator(".filed .value")
        found = article.locator(".found .value")
        assert filed.is_visible() and found.is_visible()
        assert filed.inner_text().strip() == f.filed
        assert found.inner_text().strip() == f.found
    for sev, word in (("error", "错误"), ("warning", "警告"), ("info", "提示")):
        assert page.locator(f"article.s-{sev} h3").first.inner_text().find(word) >= 0
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt,"
        " !!i.closest('.evidence')])"
    )
    evidence = [i for i in images if i[3]]
    expected = sum(1 for f in every_severity.report.findings for e in f.evidence if e.bbox)
    assert len(evidence) == expected > 0
    assert all(done and width > 0 and alt for done, width, alt, _ in images)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert Image.open(shot).height > 900
    # Printing: A4 pages, and the print styles apply.
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.body).paddingTop") == "0px"
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    import pymupdf

    with pymupdf.open(pdf) as doc:  # type: ignore[no-untyped-call]
        assert doc.page_count >= 2
        assert abs(doc[0].rect.width - 595) < 2 and abs(doc[0].rect.height - 842) < 2
    page.close()


def test_browser_tracking_catches_requests_and_errors(
    every_severity: Reviewed, browser: Browser, tmp_path: Path
) -> None:
    """The checks above would fail on a page that loads something or throws."""
    page = render_html(every_severity.report, every_severity.pages).replace(
        "</body>",
        '<img src="http://docpipe.invalid/x.png" alt="x"><script>undefinedCall()</script></body>',
    )
    path = tmp_path / "bad.html"
    path.write_text(page, "utf-8")
    before = len(browser.blocked)
    loaded = browser.open(path)
    assert "http://docpipe.invalid/x.png" in loaded.external_requests()
    assert browser.blocked[before:] == ["http://docpipe.invalid/x.png"]
    assert any("undefinedCall" in e for e in loaded.console_errors)
    loaded.page.close()


# --------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("terminal", [True, False], ids=["rich-table", "piped"])
def test_check_terminal_summary_has_the_same_facts(
    every_severity: Reviewed, terminal: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    from docpipe.cli import _print_check

    r = every_severity.report
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=terminal, width=250, color_system=None)
    _print_check(r, Path("out"), console)
    text = buf.getvalue() + capsys.readouterr().out
    assert f"{r.submission_id}: reject ({r.counts.error} error(s), {r.counts.warning}" in text
    assert f"{r.counts.info} info)" in text
    for fact in (r.enterprise_name, r.credit_code, r.application_type):
        assert fact and fact in text
    assert r.summary.split(";")[0] in text
    for f in r.findings:
        assert f.rule in text and f.field in text and f.message.split(" / ")[0] in text
        if f.filed:
            assert f.filed in text  # no personal number in this sample's findings
    assert str(Path("out") / "report.html") in text
    # The table is drawn only on a terminal; piped output stays one line per finding.
    assert ("────" in text) is terminal
    if not terminal:
        assert len(text.strip().splitlines()) == 3 + len(r.findings) + 1
