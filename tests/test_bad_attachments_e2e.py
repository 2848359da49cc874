"""Every bad attachment of the foundation issue, through the real pipeline and CLI.

One submission (a clean committed sample) gets all the bad files at once: each gets its
own finding on ``file:<name>``, the good attachments are still read, every file is
listed in the report, and ``docpipe check`` exits 1.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

from test_files import BAD_CASES
from typer.testing import CliRunner

from docpipe.cli import app
from docpipe.models import Report
from fixtures.generate import SAMPLES_DIR, submission_dir

CLEAN = submission_dir(SAMPLES_DIR / "case-0104")


def test_check_reports_every_bad_attachment_and_goes_on(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(CLEAN, sub)
    good = sorted(p.name for p in sub.iterdir() if p.name != "submission.json")
    for _, name, make, _ in BAD_CASES:
        (sub / name).write_bytes(make())

    result = CliRunner().invoke(app, ["check", str(sub), "--out", str(tmp_path / "out")])

    assert result.exit_code == 1, result.output
    report = Report.model_validate_json((tmp_path / "out" / "report.json").read_text("utf-8"))
    listed = {a.file: a for a in report.attachments}
    for case_id, name, _, code in BAD_CASES:
        codes = {f.code for f in report.findings if f.field == f"file:{name}"}
        assert code in codes, f"{case_id}: {codes}"
        assert name in listed
    for name in good:
        assert listed[name].status == "read" and listed[name].pages >= 1, name
        assert not [f for f in report.findings if f.field == f"file:{name}"]


def test_zip_with_parent_entries_is_reviewed_and_the_entry_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(CLEAN.iterdir()):
            zf.write(p, p.name)
        zf.writestr("../../evil.jpg", b"\xff\xd8\xff" + b"\x00" * 32)
    archive = tmp_path / "upload.zip"
    archive.write_bytes(buf.getvalue())

    result = CliRunner().invoke(app, ["check", str(archive), "--out", str(tmp_path / "out")])

    assert result.exit_code == 1, result.output
    data = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    evil = [f for f in data["findings"] if f["field"] == "file:../../evil.jpg"]
    assert [f["code"] for f in evil] == ["file_unreadable"]
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path.parent / "evil.jpg").exists()
    read = [a for a in data["attachments"] if a["status"] == "read"]
    assert len(read) == len([p for p in CLEAN.iterdir() if p.name != "submission.json"])
