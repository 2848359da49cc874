"""Fuzzing intake (issue 14): whatever ``submission.json`` or zip member names a client
sends, intake answers with data or a ``DocpipeError``, never another exception, and
every member of a zip is accounted for in what it returns.

The zips are written by a small writer here (stored entries, raw name bytes), so names
Python's ``zipfile`` refuses to write (empty, not UTF-8, without the UTF-8 flag) are
covered too.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docpipe import pipeline
from docpipe.archive import printable_name
from docpipe.errors import DocpipeError
from docpipe.intake import Intake, SubmissionJsonMissing, load_submission, parse_submission

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ------------------------------------------------------------------ submission.json

CONTRACT_KEYS = [
    "submission_id",
    "application_type",
    "reference_date",
    "enterprise",
    "legal_person",
    "operators",
    "remarks",
    "channel",
]
PERSON_KEYS = ["name", "id_type", "id_number", "id_valid_from", "id_valid_to", "mobile"]


class Raw:
    """JSON text put into a document as is (what ``json.dumps`` cannot write)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(value: Any) -> str:
    """Serialise with ``Raw`` pieces kept verbatim (huge integers, deep nestings)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # NaN and Infinity as Python writes them


raws = st.one_of(
    st.integers(4000, 6000).map(lambda n: Raw("9" * n)),  # past int's digit limit
    st.integers(500, 12_000).map(lambda n: Raw("[" * n + "]" * n)),
    st.sampled_from([Raw('"\\ud800"'), Raw('{"\\udfff": 1}')]),  # lone surrogates
    st.sampled_from([Raw("1e999"), Raw("-0"), Raw("NaN"), Raw("-Infinity"), Raw("0.1e-400")]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["长期", "2026-02-30", "9999-12-31", "0000-00-00", "", " ", "\x00\x1b"]),
    raws,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
person = st.dictionaries(st.sampled_from(PERSON_KEYS), values, max_size=6)
document = st.one_of(
    values,
    st.dictionaries(
        st.sampled_from(CONTRACT_KEYS),
        st.one_of(values, person, st.lists(person, max_size=3)),
        max_size=8,
    ),
)
payloads = st.one_of(
    document.map(lambda d: dump(d).encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
    st.binary(max_size=50).map(lambda b: b"\xef\xbb\xbf{" + b),  # a BOM, then junk
)


@FUZZ
@given(data=payloads)
def test_parse_submission_raises_only_docpipe_errors(data: bytes) -> None:
    try:
        submission = parse_submission(data)
    except DocpipeError as exc:
        assert " / " in exc.message or exc.message_zh == exc.message_en
        return
    # What parses must also be writable into a report.json (UTF-8, no lone surrogate).
    assert submission.model_dump_json().encode("utf-8")


# ---------------------------------------------------------------------------- zips


def raw_zip(members: list[tuple[bytes, bytes, bool]]) -> bytes:
    """A zip of stored entries: (raw name, content, UTF-8 flag), names written as given."""
    out, central = bytearray(), bytearray()
    for name, data, utf8 in members:
        flags = 0x800 if utf8 else 0
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0, crc, len(data), len(data), len(name), 0
        )
        out += name + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            flags,
            0,
            0,
            0,
            crc,
            len(data),
            len(data),
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += name
    count = len(members)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + eocd)


HOSTILE_NAMES = [
    "",
    ".",
    "./",
    "..",
    "../x.jpg",
    "a/../../x.jpg",
    "/etc/passwd",
    "C:\\Windows\\x.jpg",
    "a\\b\\c.jpg",
    "a//b/./c.jpg",
    "__MACOSX/._x",
    ".DS_Store",
    "Thumbs.db",
    "sub/desktop.ini",
    "submission.json",
    "sub/submission.json",
    "sub/deeper/submission.json",
    "report.json",
    "a\nb.jpg",
    "\x1b[31m.jpg",
    "\u202egpj.exe",
    "营业执照.jpg",
    "x" * 3000 + ".jpg",
    "dir/",
]
names = st.one_of(
    st.sampled_from(HOSTILE_NAMES),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.lists(st.sampled_from(["sub", "..", ".", "", "a", "营业", "x.jpg"]), max_size=5).map(
        "/".join
    ),
)
members = st.lists(
    st.tuples(
        st.one_of(
            names.map(lambda n: (n.encode("utf-8"), True)),
            st.binary(max_size=20).map(lambda b: (b, False)),  # GBK, CP437, junk bytes
        ),
        st.sampled_from([b"", b"\xff\xd8\xff\xe0jpeg", b"{}", b"%PDF-1.7", b"x" * 100]),
    ),
    max_size=12,
)


def shown(intake: Intake) -> set[str]:
    return {f.name for f in intake.files} | set(intake.file_errors) | set(intake.skipped)


@FUZZ
@given(entries=members)
def test_zip_member_names_are_all_accounted_for(
    tmp_path: Path, entries: list[tuple[tuple[bytes, bool], bytes]]
) -> None:
    z = tmp_path / "fuzz.zip"
    z.write_bytes(raw_zip([(name, data, utf8) for (name, utf8), data in entries]))
    try:
        intake = load_submission(z)
    except DocpipeError:
        return  # e.g. a name that is not UTF-8 under the UTF-8 flag: exit 2, no traceback
    # A folder entry without data carries nothing to review; every other is shown once.
    files = [n for (n, _), data in entries if not (n.endswith(b"/") and not data)]
    taken = not isinstance(intake.submission_error, SubmissionJsonMissing)
    assert len(shown(intake)) + taken == len(files), (shown(intake), files)
    for name in shown(intake):
        assert printable_name(name) == name and name.encode("utf-8")


# ----------------------------------------------------------------------- end to end

ODD_SHAPES: dict[str, Any] = {
    "empty-object": {},
    "a-list": [1, 2, 3],
    "a-string": "change_operator",
    "null": None,
    "operators-not-a-list": {"operators": "张三"},
    "many-empty-operators": {"operators": [{}] * 40},
    "persons-all-empty": {
        "legal_person": dict.fromkeys(PERSON_KEYS, ""),
        "operators": [dict.fromkeys(PERSON_KEYS, " ")],
    },
    "huge-strings": {"enterprise": {"credit_code": "9" * 20_000, "name": "有" * 20_000}},
    "dates-at-the-edge": {
        "reference_date": "9999-12-31",
        "legal_person": {"id_valid_from": "0001-01-01", "id_valid_to": "9999-12-31"},
        "operators": [{"id_valid_to": "长期", "birth_date": "0001-01-01"}],
    },
    "control-characters": {"enterprise": {"name": "a\x00b\x1b[31m\u202e"}, "remarks": "\r\n"},
    "nan-and-deep-extras": {"extra": [math.nan, math.inf, {"a": [[[[[[[[[[1]]]]]]]]]]}]},
}


@pytest.mark.parametrize("shape", list(ODD_SHAPES.values()), ids=list(ODD_SHAPES))
def test_pipeline_reports_odd_submission_shapes(tmp_path: Path, shape: Any) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "submission.json").write_text(dump(shape), "utf-8")

    state = pipeline.run(sub, reference_date=date(2026, 1, 1))

    report = state.report
    assert report is not None
    assert report.verdict.value != "pass"  # no attachments, odd fields: never a pass
    assert json.loads(report.to_json())["submission_id"]
