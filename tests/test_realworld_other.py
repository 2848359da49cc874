"""Real documents that are no E-Port attachment (../shared/realworld/forms_docs).

An applicant who uploads the wrong papers — a train ticket, a vehicle registration
certificate, a dense printed page upside down — gets every file accounted for as
``other`` (never taken for a license or an ID card) and the missing documents reported.
The real engine reads the three photos (a few seconds).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docpipe.models import Code, DocKind, Severity, Verdict
from docpipe.ocr.base import OcrEngine
from docpipe.pipeline import review

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "case-0104"
FILES = (
    "dense_doc_upside_down.jpg",
    "train_ticket_masked.jpeg",
    "vehicle_registration_cert_page.jpeg",
)


def test_wrong_real_papers_are_other_and_the_missing_documents_reported(
    shared_dir: Path, rapid_engine: OcrEngine, tmp_path: Path
) -> None:
    sub = tmp_path / "submission"
    sub.mkdir()
    shutil.copy(SAMPLE / "submission" / "submission.json", sub)
    for name in FILES:
        shutil.copy(shared_dir / "realworld" / "forms_docs" / name, sub)
    report = review(sub, engine="rapidocr")
    assert {a.file for a in report.attachments} == set(FILES)
    assert all(a.status == "read" and a.kinds == [DocKind.other] for a in report.attachments)
    assert {d.kind for d in report.documents} == {DocKind.other}
    missing = [
        f
        for f in report.findings
        if f.code == Code.missing_document and f.severity == Severity.error
    ]
    assert len(missing) >= 4  # license, both ID cards, application form
    assert report.verdict == Verdict.reject
