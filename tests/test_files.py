"""File rules and page decoding on small bad files generated in tmp_path."""

from __future__ import annotations

import io
import json
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pymupdf as _pymupdf
import pytest
from PIL import Image, ImageDraw

import validators.files
import validators.submission
from docpipe.errors import DocpipeError, FileTypeNotAllowed, FileUnreadable
from docpipe.intake import AttachmentFile, Intake, load_submission
from docpipe.models import Code, Finding
from docpipe.pages import DEFAULT_DPI, MAX_SIDE, open_pages
from docpipe.rules import RULES, RuleContext

assert validators.files and validators.submission  # registered by import

pymupdf: Any = _pymupdf  # untyped library

FILE_RULES = ("FILE-TYPE", "FILE-SIZE", "FILE-READ", "SUBMISSION-JSON")


# ------------------------------------------------------------------ generated files


def jpeg_bytes(size: tuple[int, int] = (64, 48), exif_orientation: int | None = None) -> bytes:
    im = Image.new("RGB", size, "white")
    ImageDraw.Draw(im).rectangle((4, 4, size[0] // 2, size[1] // 2), fill="black")
    buf = io.BytesIO()
    if exif_orientation is None:
        im.save(buf, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png_bytes(im: Image.Image | None = None) -> bytes:
    im = im or Image.new("RGB", (40, 30), "white")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes(pages: int = 1, **save: object) -> bytes:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), f"page {i + 1}")
    data: bytes = doc.tobytes(**save)
    return data


def noise_png(side: int = 1024) -> bytes:
    """Random RGB pixels do not compress: 1024² × 3 bytes ≈ 3 MB > 2 MiB."""
    return png_bytes(Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width × height, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


GOOD: dict[str, Callable[[], bytes]] = {
    "good.jpg": jpeg_bytes,
    "good.png": png_bytes,
    "good.pdf": pdf_bytes,
}


# ---------------------------------------------------------------- pipeline stand-in


def make_folder(root: Path, files: dict[str, bytes], submission: object = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if submission is not False:
        body = submission if submission is not None else {"submission_id": "S-1"}
        (root / "submission.json").write_text(json.dumps(body), encoding="utf-8")
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def review_files(intake: Intake) -> tuple[list[Finding], dict[str, DocpipeError]]:
    """What the pipeline does for the file rules: open every file, then run the rules."""
    errors: dict[str, DocpipeError] = dict(intake.file_errors)
    for f in intake.files:
        if f.name in errors:
            continue
        try:
            open_pages(f)
        except DocpipeError as exc:
            errors[f.name] = exc
    ctx = RuleContext(
        reference_date=date(2026, 11, 20),
        submission=intake.submission,
        submission_error=intake.submission_error,
        files=intake.files,
        file_errors=errors,
    )
    findings = [f for rid in FILE_RULES for f in RULES.get(rid).run(ctx)]
    return findings, errors


def codes_on(findings: list[Finding], field: str) -> list[Code]:
    return sorted(f.code for f in findings if f.field == field)


# -------------------------------------------------------------------------- the cases

BAD_CASES: list[tuple[str, str, Callable[[], bytes], Code]] = [
    (
        "text-renamed-jpg",
        "note.jpg",
        lambda: "just text, 不是图片".encode(),
        Code.file_type_not_allowed,
    ),
    ("png-named-jpg", "photo.jpg", png_bytes, Code.file_type_not_allowed),
    ("docx", "申请书.docx", docx_bytes, Code.file_type_not_allowed),
    ("noise-png-3mb", "big.png", noise_png, Code.file_too_large),
    ("truncated-jpeg", "cut.jpg", lambda: jpeg_bytes((300, 200))[:-400], Code.file_unreadable),
    ("empty-pdf", "empty.pdf", lambda: b"", Code.file_unreadable),
    ("empty-jpg", "empty.jpg", lambda: b"", Code.file_unreadable),
    (
        "encrypted-pdf",
        "locked.pdf",
        lambda: pdf_bytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o"),
        Code.file_unreadable,
    ),
    ("pdf-21-pages", "long.pdf", lambda: pdf_bytes(21), Code.file_unreadable),
    ("png-50000-header", "huge.png", lambda: png_header_only(50_000, 50_000), Code.file_unreadable),
    ("png-45mp-header", "wide.png", lambda: png_header_only(9_000, 5_000), Code.file_unreadable),
    ("garbage-pdf", "junk.pdf", lambda: b"%PDF-1.4\n" + b"\x00" * 64, Code.file_unreadable),
]


@pytest.mark.parametrize(
    ("name", "make", "code"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_file_gets_its_code_and_the_rest_is_read(
    tmp_path: Path, name: str, make: Callable[[], bytes], code: Code
) -> None:
    good = {n: f() for n, f in GOOD.items()}
    intake = load_submission(make_folder(tmp_path / "sub", {**good, name: make()}))
    findings, _ = review_files(intake)

    assert codes_on(findings, f"file:{name}") == [code]
    assert sorted(f.name for f in intake.files) == sorted([*good, name])
    for good_name in good:
        assert codes_on(findings, f"file:{good_name}") == []
        file = next(f for f in intake.files if f.name == good_name)
        assert open_pages(file)[0].image().mode == "RGB"
    assert [f for f in findings if f.field == "submission"] == []


def test_type_finding_names_extension_and_detected_type(tmp_path: Path) -> None:
    files = {"note.jpg": b"hello", "photo.jpg": png_bytes(), "a.docx": docx_bytes()}
    findings, _ = review_files(load_submission(make_folder(tmp_path / "s", files)))
    got = {f.field: (f.filed, f.found) for f in findings if f.rule == "FILE-TYPE"}
    assert got == {
        "file:note.jpg": ("jpg", "unknown"),
        "file:photo.jpg": ("jpg", "png"),
        "file:a.docx": ("docx", "unknown"),
    }
    assert all(" / " in f.message for f in findings)


def test_renamed_file_gets_one_finding_not_two(tmp_path: Path) -> None:
    findings, errors = review_files(load_submission(make_folder(tmp_path / "s", {"x.pdf": b"no"})))
    # open_pages refused it as well, but FILE-READ leaves type refusals to FILE-TYPE.
    assert isinstance(errors["x.pdf"], FileTypeNotAllowed)
    assert [(f.rule, f.code) for f in findings] == [("FILE-TYPE", Code.file_type_not_allowed)]


def test_size_limit_is_exactly_2_mib(tmp_path: Path) -> None:
    limit = 2 * 1024 * 1024
    at = jpeg_bytes() + b"\x00" * (limit - len(jpeg_bytes()))
    over = at + b"\x00"
    findings, _ = review_files(
        load_submission(make_folder(tmp_path / "s", {"at.jpg": at, "over.jpg": over}))
    )
    sized = [f for f in findings if f.rule == "FILE-SIZE"]
    assert [f.field for f in sized] == ["file:over.jpg"]
    assert sized[0].found is not None and str(limit + 1) in sized[0].found


def test_huge_png_header_is_refused_fast() -> None:
    file = AttachmentFile.from_bytes("huge.png", png_header_only(50_000, 50_000))
    start = time.perf_counter()
    with pytest.raises(FileUnreadable, match="megapixels"):
        open_pages(file)
    assert time.perf_counter() - start < 0.5


def test_file_rules_run_when_submission_json_is_broken(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "s", {"note.jpg": b"hello"}, submission=False)
    (root / "submission.json").write_text("{broken", encoding="utf-8")
    findings, _ = review_files(load_submission(root))
    assert codes_on(findings, "file:note.jpg") == [Code.file_type_not_allowed]
    assert codes_on(findings, "submission") == [Code.invalid_format]


# ------------------------------------------------------------------------------ pages


def test_transparent_png_is_composited_on_white() -> None:
    im = Image.new("RGBA", (60, 30), (0, 0, 0, 0))  # fully transparent *black*
    ImageDraw.Draw(im).rectangle((10, 10, 20, 20), fill=(0, 0, 0, 255))
    page = open_pages(AttachmentFile.from_bytes("t.png", png_bytes(im)))[0]
    rgb = page.image()
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((15, 15)) == (0, 0, 0)


def test_palette_png_with_transparent_index_is_white() -> None:
    im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((5, 5, 9, 9), fill=(0, 0, 0, 255))
    buf = io.BytesIO()
    im.convert("P").save(buf, "PNG", transparency=0)
    rgb = open_pages(AttachmentFile.from_bytes("p.png", buf.getvalue()))[0].image()
    assert rgb.getpixel((0, 0)) == (255, 255, 255)


def test_exif_rotated_jpeg_is_transposed() -> None:
    # Stored 200 × 100, EXIF orientation 6 (rotate 90° clockwise to view).
    page = open_pages(AttachmentFile.from_bytes("r.jpg", jpeg_bytes((200, 100), 6)))[0]
    assert (page.width, page.height) == (100, 200)
    assert page.image().size == (100, 200)
    assert (page.source, page.number, page.file) == ("image", 1, "r.jpg")


def test_16bit_grey_png_keeps_its_tone() -> None:
    im = Image.new("I;16", (10, 10), 30000)
    rgb = open_pages(AttachmentFile.from_bytes("g.png", png_bytes(im)))[0].image()
    red, _, _ = rgb.getpixel((0, 0))  # type: ignore[misc]
    assert 100 < red < 140  # 30000/65535 of white, not clipped to 255


def test_pdf_pages_render_at_default_dpi_and_are_capped() -> None:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)  # A4
    doc.new_page(width=6000, height=1000)  # would be 16,667 px wide at 200 dpi
    pages = open_pages(AttachmentFile.from_bytes("d.pdf", doc.tobytes()))
    assert [p.number for p in pages] == [1, 2]
    a4 = pages[0]
    assert a4.width == round(595 * DEFAULT_DPI / 72) and a4.source == "pdf"
    assert a4.image().size == (a4.width, a4.height)
    assert max(pages[1].width, pages[1].height) == MAX_SIDE
    assert pages[1].image().size == (pages[1].width, pages[1].height)


def test_not_an_allowed_type_is_refused_by_open_pages() -> None:
    with pytest.raises(FileTypeNotAllowed):
        open_pages(AttachmentFile.from_bytes("a.jpg", b"GIF89a" + b"\x00" * 20))
