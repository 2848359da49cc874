"""index.html and summary.json of `docpipe scan`: rows, masking, sorting, filtering."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from test_report_html import Browser, browser_fixture, outline  # noqa: F401 (a fixture)

from docpipe import batch
from docpipe.checkdigits import id_check_char
from docpipe.models import Code, Finding, Severity
from docpipe.privacy import mask_id, mask_phone
from docpipe.report import build_report

ID_NUMBER = "33078419900101123" + id_check_char("33078419900101123")
PHONE = "13912345678"


def _finding(rule: str, severity: Severity, field: str, message: str) -> Finding:
    code = Code.not_found if severity is Severity.warning else Code.mismatch
    return Finding(rule=rule, code=code, severity=severity, field=field, message=message)


ROWS: dict[str, tuple[str, list[Finding]]] = {
    "S-reject-id": (
        "甲贸易有限公司",
        [
            _finding(
                "ID-NUMBER-MATCH",
                Severity.error,
                "operators[0].id_number",
                f"证件号码{ID_NUMBER}与身份证不一致，电话{PHONE} / ID number differs",
            ),
            _finding("FORM-MATCH", Severity.warning, "operators[0].mobile", "未能识别 / unread"),
        ],
    ),
    "S-review": (
        "乙工贸有限公司",
        [_finding("FORM-MATCH", Severity.warning, "operators[0].device_type", "未能识别 / unread")],
    ),
    "S-pass": ("丙五金店", []),
    "S-reject-uscc": (
        "丁科技有限公司",
        [
            _finding("USCC-CHECK", Severity.error, "enterprise.credit_code", "校验码 / check"),
            _finding("USCC-MATCH", Severity.error, "enterprise.credit_code", "不一致 / differs"),
            _finding("LICENSE-NAME", Severity.info, "enterprise.name", "提示 / note"),
        ],
    ),
}
FAILED = "S-failed"


@pytest.fixture(scope="module")
def scan_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder as a scan leaves it: four reports and one submission that failed."""
    out = tmp_path_factory.mktemp("scan-out")
    items = []
    for key, (name, findings) in ROWS.items():
        report = build_report(
            submission_id=key,
            submission=None,
            reference_date=date(2026, 11, 20),
            attachments=[],
            documents=[],
            findings=findings,
        ).model_copy(update={"enterprise_name": name, "credit_code": "91330784579324580M"})
        (out / key).mkdir()
        (out / key / "report.json").write_text(report.to_json(), "utf-8")
        items.append(batch.Item(source=out / "in" / key, key=key, sha256="0"))
    items.append(batch.Item(source=out / "in" / FAILED, key=FAILED, sha256="0"))
    outcomes = {FAILED: batch.Outcome(FAILED, error=f"crashed on {ID_NUMBER}")}
    result = batch.write_summary(out / "in", out, items, outcomes)
    assert result.total == 5 and len(result.failed) == 1
    return out


def test_summary_json_has_one_row_per_submission(scan_out: Path) -> None:
    summary = json.loads((scan_out / "summary.json").read_text("utf-8"))
    rows = {r["key"]: r for r in summary["submissions"]}
    assert list(rows) == [*ROWS, FAILED]
    assert summary["verdicts"] == {"pass": 1, "review": 1, "reject": 2}
    assert rows["S-reject-uscc"]["rules"] == ["USCC-CHECK", "USCC-MATCH", "LICENSE-NAME"]
    assert rows["S-reject-id"]["top_finding"].startswith("[mismatch] operators[0].id_number")
    assert rows["S-reject-id"]["counts"] == {"error": 1, "warning": 1, "info": 0}
    assert rows[FAILED]["verdict"] == "failed"


@pytest.mark.parametrize("name", ["index.html", "summary.json"])
def test_personal_numbers_masked(scan_out: Path, name: str) -> None:
    text = (scan_out / name).read_text("utf-8")
    assert ID_NUMBER not in text and PHONE not in text
    assert mask_id(ID_NUMBER) in text and mask_phone(PHONE) in text


def test_index_rows_and_self_containment(scan_out: Path) -> None:
    page = (scan_out / "index.html").read_text("utf-8")
    o = outline(page)
    assert o.lang == "zh-CN" and o.headings == [1]
    assert "link" not in o.tags
    # Links to the reports are plain anchors (nothing loads); no script or image source.
    assert sorted(v or "" for _, _, v in o.refs) == sorted(f"{k}/report.html" for k in ROWS)
    assert all(tag == "a" and name == "href" for tag, name, _ in o.refs)
    assert not re.search(r"https?://|url\(|@import", page)
    rows = re.findall(r'<tr data-verdict="(\w+)" data-rules="([^"]*)">', page)
    assert rows == [
        ("reject", "ID-NUMBER-MATCH FORM-MATCH"),
        ("review", "FORM-MATCH"),
        ("pass", ""),
        ("reject", "USCC-CHECK USCC-MATCH LICENSE-NAME"),
        ("failed", ""),
    ]
    # Verdicts in words and icons, not colour alone.
    for word in ("✖</span> 退回 / reject", "⚠</span> 复核 / review", "✔</span> 通过 / pass"):
        assert word in page


def _visible_keys(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined,no-any-return]
        "#subs tbody tr",
        "rows => rows.filter(r => !r.hidden && r.offsetParent !== null)"
        ".map(r => r.cells[0].textContent.trim())",
    )


def test_index_in_chromium(scan_out: Path, browser: Browser, tmp_path: Path) -> None:
    loaded = browser.open(scan_out / "index.html")
    page = loaded.page
    assert loaded.console_errors == []
    assert loaded.external_requests() == [] and browser.blocked == []
    every = [*ROWS, FAILED]
    assert _visible_keys(page) == every

    page.select_option("#f-verdict", "reject")
    assert _visible_keys(page) == ["S-reject-id", "S-reject-uscc"]
    assert not page.locator('tr[data-verdict="pass"]').is_visible()
    assert page.locator("#shown").inner_text() == "2"
    page.screenshot(path=str(tmp_path / "index-reject.png"), full_page=True)

    page.select_option("#f-verdict", "")
    page.select_option("#f-rule", "FORM-MATCH")
    assert _visible_keys(page) == ["S-reject-id", "S-review"]
    page.select_option("#f-verdict", "review")
    assert _visible_keys(page) == ["S-review"]
    page.select_option("#f-verdict", "")
    page.select_option("#f-rule", "")
    assert _visible_keys(page) == every

    # Sort by errors (failed rows have none: first), then the other way round.
    page.click("th:nth-child(4) button")
    assert _visible_keys(page) == [FAILED, "S-review", "S-pass", "S-reject-id", "S-reject-uscc"]
    assert page.get_attribute("th:nth-child(4)", "aria-sort") == "ascending"
    page.click("th:nth-child(4) button")
    assert _visible_keys(page)[:2] == ["S-reject-uscc", "S-reject-id"]
    assert page.get_attribute("th:nth-child(4)", "aria-sort") == "descending"
    page.click("th:nth-child(1) button")
    assert _visible_keys(page) == sorted(every, key=str.lower)
    assert page.get_attribute("th:nth-child(4)", "aria-sort") is None

    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000
    assert loaded.console_errors == []
    page.close()
