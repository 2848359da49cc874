"""Intake of folders and zips: listing, zip safety, name decoding, submission.json errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

import docpipe.archive as archive
import docpipe.intake as intake_mod
import validators.files
import validators.submission
from docpipe.errors import SubmissionNotFound, ZipSafetyError
from docpipe.intake import (
    ArchiveUnreadable,
    SubmissionJsonMissing,
    SubmissionShapeError,
    load_submission,
)
from docpipe.models import Code, Finding
from docpipe.pages import open_pages
from docpipe.rules import RULES, RuleContext

assert validators.files and validators.submission  # registered by import

SUBMISSION = {"submission_id": "S-1", "application_type": "change_operator"}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "white").save(buf, "JPEG")
    return buf.getvalue()


def make_zip(path: Path, entries: dict[str, bytes | str], **infos: zipfile.ZipInfo) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(infos.get(name, name), data)
    return path


def rule_findings(intake: intake_mod.Intake) -> list[Finding]:
    ctx = RuleContext(
        reference_date=date(2026, 11, 20),
        submission=intake.submission,
        submission_error=intake.submission_error,
        files=intake.files,
        file_errors=dict(intake.file_errors),
    )
    return [f for rid in ("FILE-READ", "SUBMISSION-JSON") for f in RULES.get(rid).run(ctx)]


def assert_good_jpg_readable(intake: intake_mod.Intake, name: str = "good.jpg") -> None:
    file = next(f for f in intake.files if f.name == name)
    assert open_pages(file)[0].image().size == (32, 24)


# ----------------------------------------------------------------------------- folder


def test_folder_lists_every_attachment_sorted_with_hash(tmp_path: Path) -> None:
    root = tmp_path / "sub-folder"
    (root / "sub").mkdir(parents=True)
    (root / "submission.json").write_text(json.dumps(SUBMISSION), encoding="utf-8")
    data = jpeg()
    (root / "营业执照.jpg").write_bytes(data)
    (root / "sub" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nrest")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "report.json").write_text("{}")  # docpipe's own output, not an attachment

    intake = load_submission(root)
    assert [f.name for f in intake.files] == ["sub/a.png", "营业执照.jpg"]
    assert intake.skipped == [".DS_Store", "report.json"]  # named in the report as ignored
    lic = intake.files[1]
    assert (lic.size, lic.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert lic.read() == data
    assert (lic.extension, lic.detected_type) == ("jpg", "jpeg")
    assert intake.files[0].detected_type == "png"
    assert intake.submission is not None and intake.submission_error is None
    assert intake.submission_id == "S-1"


def test_folder_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg())
    root = tmp_path / "s"
    root.mkdir()
    (root / "submission.json").write_text(json.dumps(SUBMISSION))
    (root / "good.jpg").write_bytes(jpeg())
    (root / "link.jpg").symlink_to(outside)
    intake = load_submission(root)
    assert [f.name for f in intake.files] == ["good.jpg"]
    assert "link.jpg" in intake.file_errors
    assert [f.code for f in rule_findings(intake) if f.field == "file:link.jpg"] == [
        Code.file_unreadable
    ]


@pytest.mark.parametrize("name", ["missing", "notes.txt"], ids=["missing-path", "not-zip-file"])
def test_not_a_submission_raises(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(SubmissionNotFound):
        load_submission(path)


# -------------------------------------------------------------------- submission.json


def test_missing_submission_json(tmp_path: Path) -> None:
    root = tmp_path / "folder-name"
    root.mkdir()
    (root / "good.jpg").write_bytes(jpeg())
    intake = load_submission(root)
    assert isinstance(intake.submission_error, SubmissionJsonMissing)
    assert intake.submission is None and intake.submission_id == "folder-name"
    [finding] = rule_findings(intake)
    assert (finding.field, finding.code) == ("submission", Code.missing_document)
    assert finding.message == "缺少 submission.json / submission.json is missing"
    assert_good_jpg_readable(intake)


def test_malformed_json_message_has_line_and_column(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    (root / "submission.json").write_text('{\n  "a": 1,\n  "b" 2\n}', encoding="utf-8")
    intake = load_submission(root)
    assert intake.submission is None and intake.submission_error is not None
    msg = intake.submission_error.message
    assert "line 3 column 7" in msg and "第 3 行第 7 列" in msg
    [finding] = rule_findings(intake)
    assert (finding.field, finding.code) == ("submission", Code.invalid_format)


def test_wrong_shape_names_paths_without_values(tmp_path: Path) -> None:
    secret = "330784199001011234"
    body = {
        "operators": [{"name": 12345678, "id_number": "ok"}, {"id_number": [secret]}],
        "enterprise": "not an object " + secret,
    }
    root = tmp_path / "s"
    root.mkdir()
    (root / "submission.json").write_text(json.dumps(body), encoding="utf-8")
    intake = load_submission(root)
    err = intake.submission_error
    assert err is not None
    assert "operators.0.name: Input should be a valid string" in err.message
    assert "operators.1.id_number" in err.message and "enterprise" in err.message
    assert secret not in err.message and "12345678" not in err.message
    assert isinstance(err, SubmissionShapeError)
    assert err.paths == ["enterprise", "operators.0.name", "operators.1.id_number"]


def test_bom_is_accepted(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    (root / "submission.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(SUBMISSION).encode())
    assert load_submission(root).submission is not None


@pytest.mark.parametrize(
    ("filed", "expected"),
    [("ZJ-2026-001", "ZJ-2026-001"), ("../../etc", "fallback"), (".hidden", "fallback")],
    ids=["plain", "traversal", "dot"],
)
def test_submission_id_must_be_a_safe_folder_name(
    tmp_path: Path, filed: str, expected: str
) -> None:
    root = tmp_path / "fallback"
    root.mkdir()
    (root / "submission.json").write_text(json.dumps({"submission_id": filed}))
    assert load_submission(root).submission_id == expected


# -------------------------------------------------------------------------------- zip


def test_zip_with_one_top_folder_is_stripped(tmp_path: Path) -> None:
    z = make_zip(
        tmp_path / "upload.zip",
        {
            "S-9/submission.json": json.dumps(SUBMISSION),
            "S-9/good.jpg": jpeg(),
            "S-9/id/front.jpg": jpeg(),
            "__MACOSX/S-9/._good.jpg": b"\x00\x05\x16\x07",
        },
    )
    intake = load_submission(z)
    assert [f.name for f in intake.files] == ["good.jpg", "id/front.jpg"]
    assert intake.submission is not None and intake.submission_id == "S-1"
    assert intake.file_errors == {}
    assert intake.skipped == ["__MACOSX/S-9/._good.jpg"]
    assert_good_jpg_readable(intake)


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


def set_encrypted_flag(path: Path, name: str) -> None:
    """Python cannot write encrypted entries: set bit 0 in the central directory entry."""
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(data[pos + 28 : pos + 30], "little")
        if data[pos + 46 : pos + 46 + name_len] == name.encode():
            data[pos + 8] |= 0x01
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


BOMB = b"\x00" * (3 * 1024 * 1024)  # deflates ~1000:1

UNSAFE = [
    ("dotdot", "../evil.jpg", {}),
    ("dotdot-inside", "a/../../evil.jpg", {}),
    ("absolute", "/etc/evil.jpg", {}),
    ("windows-drive", "C:/evil.jpg", {}),
    ("symlink", "link.jpg", {"link.jpg": symlink_info("link.jpg")}),
    ("bomb-ratio", "bomb.png", {}),
]


@pytest.mark.parametrize(("name", "infos"), [c[1:] for c in UNSAFE], ids=[c[0] for c in UNSAFE])
def test_unsafe_zip_entry_is_refused_and_the_rest_reviewed(
    tmp_path: Path, name: str, infos: dict[str, zipfile.ZipInfo]
) -> None:
    payload = BOMB if name == "bomb.png" else b"/etc/passwd"
    entries: dict[str, bytes | str] = {
        "submission.json": json.dumps(SUBMISSION),
        "good.jpg": jpeg(),
        name: payload,
    }
    intake = load_submission(make_zip(tmp_path / "s.zip", entries, **infos))
    assert [f.name for f in intake.files] == ["good.jpg"]
    assert isinstance(intake.file_errors[name], ZipSafetyError)
    findings = rule_findings(intake)
    assert [(f.field, f.code) for f in findings] == [(f"file:{name}", Code.file_unreadable)]
    assert intake.submission is not None
    assert_good_jpg_readable(intake)
    assert not (tmp_path / "evil.jpg").exists()


def test_encrypted_zip_entry_is_refused(tmp_path: Path) -> None:
    z = make_zip(
        tmp_path / "s.zip",
        {"submission.json": json.dumps(SUBMISSION), "good.jpg": jpeg(), "lock.pdf": b"%PDF-1"},
    )
    set_encrypted_flag(z, "lock.pdf")
    intake = load_submission(z)
    assert "encrypted" in intake.file_errors["lock.pdf"].message
    assert [f.name for f in intake.files] == ["good.jpg"]
    assert_good_jpg_readable(intake)


def test_gbk_named_entry_is_decoded(tmp_path: Path) -> None:
    real = "营业执照.jpg"
    placeholder = "X" * (len(real.encode("gbk")) - 4) + ".jpg"  # same byte length, ASCII
    z = make_zip(
        tmp_path / "s.zip", {"submission.json": json.dumps(SUBMISSION), placeholder: jpeg()}
    )
    # As a Chinese Windows archiver writes it: GBK bytes, flag bit 11 unset.
    z.write_bytes(z.read_bytes().replace(placeholder.encode(), real.encode("gbk")))
    with zipfile.ZipFile(z) as zf:
        assert not zf.getinfo(real.encode("gbk").decode("cp437")).flag_bits & 0x800
    intake = load_submission(z)
    assert [f.name for f in intake.files] == [real]
    assert_good_jpg_readable(intake, real)


def test_utf8_name_without_flag_is_decoded(tmp_path: Path) -> None:
    real = "身份证.jpg"
    placeholder = "Y" * (len(real.encode()) - 4) + ".jpg"
    z = make_zip(tmp_path / "s.zip", {placeholder: jpeg()})
    z.write_bytes(z.read_bytes().replace(placeholder.encode(), real.encode()))
    assert [f.name for f in load_submission(z).files] == [real]


@pytest.mark.parametrize(
    "content",
    [b"this is not a zip", b"PK\x03\x04" + b"\x00" * 40],
    ids=["not-zip", "broken-directory"],
)
def test_unreadable_zip_raises_archive_unreadable(tmp_path: Path, content: bytes) -> None:
    # Not a submission with a finding: the command cannot run on it (exit 2, HTTP 422).
    z = tmp_path / "bad-upload.zip"
    z.write_bytes(content)
    with pytest.raises(ArchiveUnreadable) as caught:
        load_submission(z)
    err = caught.value
    assert (err.exit_code, err.http_status, err.code) == (2, 422, "file_unreadable")
    assert err.message.startswith("bad-upload.zip 压缩包无法读取")
    assert "bad-upload.zip is not a readable zip archive" in err.message
    assert str(tmp_path) not in err.message  # named by its file name only


def test_truncated_zip_raises_archive_unreadable(tmp_path: Path) -> None:
    full = make_zip(tmp_path / "full.zip", {"submission.json": "{}", "good.jpg": jpeg()})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full.read_bytes()[:-30])
    with pytest.raises(ArchiveUnreadable, match=r"cut\.zip is not a readable zip archive"):
        load_submission(cut)


def test_too_many_entries(tmp_path: Path) -> None:
    entries: dict[str, bytes | str] = {f"f{i:03}.jpg": b"x" for i in range(201)}
    with pytest.raises(ArchiveUnreadable, match="201 entries, over the limit 200"):
        load_submission(make_zip(tmp_path / "many.zip", entries))


def test_total_size_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_ZIP_TOTAL_BYTES", len(jpeg()) + 10)
    z = make_zip(tmp_path / "s.zip", {"a.jpg": jpeg(), "b.jpg": jpeg()})
    intake = load_submission(z)
    assert [f.name for f in intake.files] == ["a.jpg"]
    assert "total size" in intake.file_errors["b.jpg"].message


def test_empty_entry_is_unreadable_not_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "s.zip", {"submission.json": json.dumps(SUBMISSION), "e.jpg": b""})
    intake = load_submission(z)
    assert [f.name for f in intake.files] == ["e.jpg"]
    assert [(f.field, f.code) for f in rule_findings(intake)] == [
        ("file:e.jpg", Code.file_unreadable)
    ]


# ------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("[" * 10_000 + "]" * 10_000, "嵌套层数过深"),
        ('{"remarks": ' + "[" * 100 + "]" * 100 + "}", "嵌套层数过深"),
        ('{"remarks": ' + "1" * 5000 + "}", "位的数字"),
        ('{"remarks": "\\udc00"}', "孤立代理项"),
    ],
    ids=["nested-10000", "nested-100-in-a-key", "int-5000-digits", "lone-surrogate"],
)
def test_parse_failures_are_bilingual_submission_json_errors(text: str, zh: str) -> None:
    with pytest.raises(intake_mod.SubmissionJsonError) as caught:
        intake_mod.parse_submission(text.encode())
    chinese, english = caught.value.message.split(" / ")
    assert zh in chinese and english.startswith("submission.json")


def test_folder_names_that_are_not_utf8_are_printable(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    (root / "submission.json").write_text(json.dumps(SUBMISSION))
    raw = os.fsdecode(b"\xff-\xe8.jpg")
    (root / raw).write_bytes(jpeg())
    (root / "a\nb\x1b.jpg").write_bytes(jpeg())
    intake = load_submission(root)
    assert [f.name for f in intake.files] == ["\\xff-\\xe8.jpg", "a\\nb\\x1b.jpg"]
    assert intake.files[0].path == root / raw  # read through the real name
    assert_good_jpg_readable(intake, "\\xff-\\xe8.jpg")


def test_fifo_and_linked_submission_json_are_unreadable_not_read(tmp_path: Path) -> None:
    for name, make in {
        "fifo": lambda p: os.mkfifo(p),
        "link": lambda p: p.symlink_to("/dev/zero"),
    }.items():
        root = tmp_path / name
        root.mkdir()
        make(root / "submission.json")
        (root / "good.jpg").write_bytes(jpeg())
        intake = load_submission(root)
        assert isinstance(intake.submission_error, intake_mod.SubmissionJsonUnreadable), name
        [finding] = rule_findings(intake)
        assert (finding.field, finding.code) == ("submission", Code.file_unreadable)
        assert_good_jpg_readable(intake)


def test_folder_deeper_than_the_limit_is_an_error_entry(tmp_path: Path) -> None:
    root = tmp_path / "s"
    deep = root.joinpath(*["d"] * (intake_mod.MAX_FOLDER_DEPTH + 2))
    deep.mkdir(parents=True)
    (deep / "x.jpg").write_bytes(jpeg())
    (root / "good.jpg").write_bytes(jpeg())
    intake = load_submission(root)
    [name] = intake.file_errors
    assert name == "/".join(["d"] * intake_mod.MAX_FOLDER_DEPTH)
    assert "16" in intake.file_errors[name].message
    assert_good_jpg_readable(intake)


@pytest.mark.parametrize(
    ("extra", "files"),
    [
        ({".DS_Store": b"x", "Thumbs.db": b"x"}, ["good.jpg"]),
        ({"../up.jpg": b"x", "/abs.jpg": b"x"}, ["good.jpg"]),
        ({"S/other.jpg": jpeg()}, ["S/other.jpg", "good.jpg"]),
    ],
    ids=["os-litter", "refused", "outside-kept-whole"],
)
def test_zip_top_folder_is_the_one_holding_submission_json(
    tmp_path: Path, extra: dict[str, bytes], files: list[str]
) -> None:
    entries: dict[str, bytes | str] = {
        "S/T/submission.json": json.dumps(SUBMISSION),
        "S/T/good.jpg": jpeg(),
        **extra,
    }
    intake = load_submission(make_zip(tmp_path / "s.zip", entries))
    assert intake.submission is not None and intake.submission_id == "S-1"
    assert [f.name for f in intake.files] == files
    assert set(intake.skipped) | set(intake.file_errors) == set(extra) - set(files)
    assert_good_jpg_readable(intake)


def test_a_file_that_grows_after_listing_is_refused_not_read_whole(tmp_path: Path) -> None:
    from docpipe.errors import FileUnreadable
    from docpipe.intake import AttachmentFile

    path = tmp_path / "a.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    listed = AttachmentFile.from_path("a.jpg", path)
    assert listed.read() == path.read_bytes()
    with path.open("ab") as fh:
        fh.write(b"\0" * 1_000_000)  # replaced by a larger file after the size checks
    with pytest.raises(FileUnreadable, match="grew while it was being reviewed"):
        listed.read()
