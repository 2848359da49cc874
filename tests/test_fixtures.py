"""The fixture generator: valid synthetic data, exact faults, decodable renders, determinism."""

from __future__ import annotations

import io
import json
import random
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pymupdf as _pymupdf
import pytest
from PIL import Image

from docpipe.checkdigits import is_valid_id, is_valid_uscc, org_check_char, uscc_check_char
from docpipe.models import Code, DocKind, Submission
from fixtures import people, render
from fixtures._draw import families
from fixtures.faults import FAULTS, get_path, leaves
from fixtures.generate import (
    SAMPLES,
    SAMPLES_DIR,
    build_case,
    generate_case,
    main,
    submission_dir,
    verdict_of,
)
from fixtures.views import CONTRACT_FIELDS, document_fields

CLEAN_SEEDS = list(range(1, 41))
ISO_OR_LONG = re.compile(r"^(\d{4}-\d{2}-\d{2}|长期)$")
pymupdf: Any = _pymupdf  # untyped library, as in docpipe.pages
REGION_CODES = {r.code for r in people.REGIONS}


def _persons(filed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("legal_person", filed["legal_person"])] + [
        (f"operators[{i}]", op) for i, op in enumerate(filed["operators"])
    ]


# --------------------------------------------------------------------------- clean data


@pytest.mark.parametrize("seed", CLEAN_SEEDS, ids=lambda s: f"seed{s}")
def test_clean_case_is_valid_everywhere(seed: int) -> None:
    case = build_case(seed)
    filed = case.filed
    ref = date.fromisoformat(filed["reference_date"])
    Submission.model_validate(filed)  # the contract's own model accepts it
    ent = filed["enterprise"]
    assert is_valid_uscc(ent["credit_code"])
    assert ent["credit_code"][2:8] in REGION_CODES
    assert ent["unit_category"] == ("C" if "报关" in ent["business_scope"] else "A")
    assert ent["established_date"] <= ent["license_issue_date"] <= filed["reference_date"]
    assert ent["business_term_to"] > filed["reference_date"]
    if isinstance(case.enterprise.term_to, str):  # 长期 filed as issue date + 60 years
        issue = date.fromisoformat(ent["license_issue_date"])
        assert ent["business_term_to"] == people.add_years(issue, 60).isoformat()
    assert re.fullmatch(r"\d{6}", ent["postal_code"])
    numbers = []
    for _, p in _persons(filed):
        n = p["id_number"]
        assert is_valid_id(n) and n[:6] in REGION_CODES
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        start = date.fromisoformat(p["id_valid_from"])
        end = people.validity_end(birth, start)
        assert p["id_valid_to"] == (end if isinstance(end, str) else end.isoformat())
        assert p["id_valid_to"] == "长期" or p["id_valid_to"] > (ref.isoformat())
        assert re.fullmatch(r"1[3-9]\d{9}", p["mobile"])
        assert re.fullmatch(r"\d{13}", p["device_number"])
        assert p["device_type"] in people.DEVICE_TYPES
        numbers.append(p["device_number"])
    op = filed["operators"][0]
    assert (
        op["birth_date"]
        == f"{op['id_number'][6:10]}-{op['id_number'][10:12]}-{op['id_number'][12:14]}"
    )
    assert op["gender"] == ("男" if int(op["id_number"][16]) % 2 else "女")
    assert len(set(numbers)) == len(numbers)
    forgotten = any(n.startswith("89") for n in numbers)
    assert (filed["remarks"] == people.FORGOTTEN_REMARK) == forgotten
    chan = filed["channel"]
    if chan["mode"] == "online":
        assert chan["recipient"] and chan["address"] and chan["phone"]
    else:
        assert chan["outlet"]
    assert case.findings == [] and verdict_of(case.findings) == "pass"


def test_generated_names_cover_compound_and_rare_characters() -> None:
    rng = random.Random(0)
    names = [people.make_name(rng, rng.choice(("男", "女"))) for _ in range(400)]
    assert any(n[:2] in people.COMPOUND_SURNAMES for n in names)
    assert any(set(n) & set(people.RARE_GIVEN) for n in names)
    assert all(2 <= len(n) <= 4 for n in names)


@pytest.mark.parametrize(
    ("birth", "start", "expected"),
    [
        (date(2000, 1, 1), date(2014, 6, 1), "2019-06-01"),  # 14: 5 years
        (date(1990, 5, 6), date(2016, 5, 5), "2026-05-05"),  # 25: 10 years
        (date(1990, 5, 6), date(2016, 5, 6), "2036-05-06"),  # 26: 20 years
        (date(1960, 1, 1), date(2015, 3, 2), "长期"),  # 55: long-term
        (date(1991, 1, 1), date(2016, 2, 29), "2026-02-28"),  # 29 Feb → 28 Feb
    ],
    ids=["under16", "age25", "age26", "age55", "feb29"],
)
def test_validity_end_follows_the_age_bands(birth: date, start: date, expected: str) -> None:
    end = people.validity_end(birth, start)
    assert (end if isinstance(end, str) else end.isoformat()) == expected


# --------------------------------------------------------------------------- faults

FILED_FAULTS = [r for r in FAULTS.names() if not r.startswith("FILE-")]
FILE_FAULTS = [r for r in FAULTS.names() if r.startswith("FILE-")]


def test_registry_covers_the_brief() -> None:
    wanted = {
        "USCC-FORMAT",
        "USCC-CHECK",
        "USCC-ORG-CHECK",
        "ID-FORMAT",
        "ID-CHECK",
        "ID-BIRTH",
        "ID-REGION",
        "ID-GENDER",
        "ID-VALIDITY-TERM",
        "ID-EXPIRED",
        "ID-EXPIRING",
        "DEV-TYPE",
        "DEV-NUMBER",
        "DEV-FORGOTTEN",
        "DEV-DISTINCT",
        "CONTACT-MOBILE",
        "CONTACT-POSTCODE",
        "ENT-UNIT-CATEGORY",
        "CHANNEL-ONLINE",
        "FILE-TYPE",
        "FILE-SIZE",
        "FILE-READ",
    }
    assert wanted <= set(FAULTS.names())


@pytest.mark.parametrize("seed", [2, 7, 13], ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("rule", FILED_FAULTS)
def test_filed_fault_changes_only_its_documented_fields(rule: str, seed: int) -> None:
    clean = build_case(seed, (rule,), inject_faults=False)
    before = leaves(clean.filed)
    faulty = build_case(seed, (rule,))
    after = leaves(faulty.filed)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    changed.discard("submission_id")
    touches = FAULTS.get(rule).touches
    assert changed, f"{rule} changed nothing"
    assert all(any(k.startswith(t) for t in touches) for k in changed), (changed, touches)
    findings = faulty.findings
    assert rule in {f["rule"] for f in findings}
    # One discrepancy, one field: every expected finding names the same filed field.
    assert len({f["field"] for f in findings}) == 1
    for f in findings:
        assert set(f) == {"rule", "field", "code", "severity"}
        Code(f["code"])
        assert f["severity"] in {"error", "warning"}
        get_path(faulty.filed, f["field"])  # the path exists in submission.json


def _filed(case: Any, path: str) -> Any:
    return get_path(case.filed, path)


@pytest.mark.parametrize("seed", [3, 11], ids=lambda s: f"seed{s}")
def test_fault_values_break_exactly_the_named_check(seed: int) -> None:
    def case(rule: str) -> Any:
        return build_case(seed, (rule,))

    code = _filed(case("USCC-CHECK"), "enterprise.credit_code")
    assert uscc_check_char(code[:17]) != code[17] and org_check_char(code[8:16]) == code[16]
    code = _filed(case("USCC-ORG-CHECK"), "enterprise.credit_code")
    assert uscc_check_char(code[:17]) == code[17] and org_check_char(code[8:16]) != code[16]
    code = _filed(case("USCC-FORMAT"), "enterprise.credit_code")
    assert len(code) == 18 and set(code) & set("IOSVZ")
    n = _filed(case("ID-CHECK"), "legal_person.id_number")
    assert len(n) == 18 and not is_valid_id(n)
    assert len(_filed(case("ID-FORMAT"), "legal_person.id_number")) == 17
    n = _filed(case("ID-REGION"), "legal_person.id_number")
    assert is_valid_id(n) and n[:2] in {"19", "20"}
    c = case("ID-EXPIRED")
    assert _filed(c, "operators[0].id_valid_to") < c.filed["reference_date"]
    c = case("ID-EXPIRING")
    days = (date.fromisoformat(_filed(c, "operators[0].id_valid_to")) - c.reference_date).days
    assert 0 < days <= 30
    c = case("ID-VALIDITY-TERM")
    op = c.operators[0]
    assert _filed(c, "operators[0].id_valid_to") != op.valid_to_text
    assert _filed(c, "operators[0].id_valid_to") == "长期" or (
        _filed(c, "operators[0].id_valid_to") > c.filed["reference_date"]
    )
    c = case("DEV-DISTINCT")
    assert _filed(c, "legal_person.device_number") == _filed(c, "operators[0].device_number")
    c = case("DEV-FORGOTTEN")
    assert _filed(c, "legal_person.device_number").startswith("89") and c.filed["remarks"] is None
    assert not re.fullmatch(r"1[3-9]\d{9}", _filed(case("CONTACT-MOBILE"), "legal_person.mobile"))
    assert _filed(case("CHANNEL-ONLINE"), "channel")["address"] is None


@pytest.mark.parametrize("rule", FILE_FAULTS)
def test_file_fault_adds_one_bad_attachment(rule: str, tmp_path: Path) -> None:
    folder = generate_case(21, tmp_path, (rule,), render=False)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    (finding,) = expected["findings"]
    name = finding["field"].removeprefix("file:")
    data = (submission_dir(folder) / name).read_bytes()
    assert finding["rule"] == rule and expected["verdict"] == "reject"
    if rule == "FILE-TYPE":
        assert name.endswith(".jpg") and not data.startswith(b"\xff\xd8\xff")
    elif rule == "FILE-SIZE":
        assert len(data) > 2 * 1024 * 1024 and data.startswith(b"\x89PNG")
    else:
        assert data.startswith(b"\xff\xd8\xff")
        with pytest.raises(OSError):
            Image.open(io.BytesIO(data)).load()


# --------------------------------------------------------------------------- rendering


def test_rendered_case_files_decode_and_match_expected(tmp_path: Path) -> None:
    folder = generate_case(3, tmp_path, channel="offline")
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    filed = json.loads((submission_dir(folder) / "submission.json").read_text(encoding="utf-8"))
    files = {d["file"] for d in expected["documents"]}
    kinds = {d["kind"] for d in expected["documents"]}
    assert kinds == {
        "business_license",
        "id_card_front",
        "id_card_back",
        "application_form",
        "authorization_letter",
    }
    total = 0
    for name in files:
        data = (submission_dir(folder) / name).read_bytes()
        total += len(data)
        assert len(data) < 400_000
        if name.endswith(".pdf"):
            with pymupdf.open("pdf", data) as doc:
                assert doc.page_count == 1
                assert filed["enterprise"]["credit_code"] in doc[0].get_text()
        else:
            img = Image.open(io.BytesIO(data))
            img.load()
            assert img.format == "JPEG" and 1000 <= max(img.size) <= 1600
    assert total < 900_000
    for d in expected["documents"]:
        DocKind(d["kind"])
        assert set(d["fields"]) <= set(CONTRACT_FIELDS[d["kind"]])
        for key, value in d["fields"].items():
            if key.endswith("date") or key.startswith("valid_") or key.startswith("business_term"):
                assert ISO_OR_LONG.match(value), (key, value)
            if key.endswith("id_number") or key == "credit_code":
                assert value == value.upper()


def test_form_pdf_has_a_text_layer_and_the_scan_decodes() -> None:
    case = build_case(5)
    form = document_fields(case)["form"]
    with pymupdf.open("pdf", render.form_pdf(form, random.Random(1))) as doc:
        text = doc[0].get_text()
    for value in (
        form["credit_code"],
        form["operator_id_number"],
        form["enterprise_name"],
        "变更企业操作员",
        "申请日期",
    ):
        assert value in text
    img = Image.open(io.BytesIO(render.form_jpeg(form, random.Random(1))))
    img.load()
    assert img.format == "JPEG" and 1000 <= max(img.size) <= 1600


def test_degrade_hook_is_applied() -> None:
    fields = {"issuing_authority": "永康市公安局", "valid_from": "2015-03-02", "valid_to": "长期"}
    grey = render.render_id_side(
        fields, random.Random(1), back=True, degrade=lambda im: im.convert("L").convert("RGB")
    )
    img = Image.open(io.BytesIO(grey)).convert("RGB")
    px = img.getpixel((150, 150))  # the red emblem, now grey
    assert isinstance(px, tuple)
    r, g, b = px[0], px[1], px[2]
    assert abs(r - g) < 12 and abs(g - b) < 12


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_case_and_different_seed_different_case(tmp_path: Path) -> None:
    a = generate_case(9, tmp_path / "a", ("ID-CHECK",), render=False)
    b = generate_case(9, tmp_path / "b", ("ID-CHECK",), render=False)
    c = generate_case(10, tmp_path / "c", ("ID-CHECK",), render=False)
    for path in ("submission/submission.json", "expected.json"):
        assert (a / path).read_bytes() == (b / path).read_bytes()
    sa, sc = submission_dir(a) / "submission.json", submission_dir(c) / "submission.json"
    assert sa.read_bytes() != sc.read_bytes()
    one = render.render_id_side(
        {"issuing_authority": "x", "valid_from": "2015-03-02", "valid_to": "长期"},
        random.Random(4),
        back=True,
    )
    two = render.render_id_side(
        {"issuing_authority": "x", "valid_from": "2015-03-02", "valid_to": "长期"},
        random.Random(4),
        back=True,
    )
    assert one == two


def test_cli_writes_cases_and_rejects_unknown_faults(tmp_path: Path) -> None:
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--count",
                "2",
                "--seed",
                "5",
                "--faults",
                "id-check,dev-type",
                "--no-render",
            ]
        )
        == 0
    )
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["case-0005-id-check-dev-type", "case-0006-id-check-dev-type"]
    exp = json.loads((tmp_path / folders[0] / "expected.json").read_text(encoding="utf-8"))
    assert {f["rule"] for f in exp["findings"]} >= {"ID-CHECK", "DEV-TYPE"}
    assert "seed 5" in (tmp_path / folders[0] / "PROVENANCE.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path), "--faults", "NO-SUCH-RULE"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"seed{s.seed}")
def test_committed_sample_is_current(sample: Any, tmp_path: Path) -> None:
    folder = generate_case(
        sample.seed,
        tmp_path,
        sample.faults,
        render=False,
        entity=sample.entity,
        channel=sample.channel,
    )
    committed = SAMPLES_DIR / folder.name
    for path in ("submission/submission.json", "expected.json"):
        assert (committed / path).read_bytes() == (folder / path).read_bytes(), (
            f"{committed.name}/{path} is stale: run python -m fixtures.generate --samples"
        )
    expected = json.loads((committed / "expected.json").read_text(encoding="utf-8"))
    assert expected["verdict"] == verdict_of(expected["findings"])
    for d in expected["documents"]:
        assert (submission_dir(committed) / d["file"]).is_file()


def test_sample_set_is_small_and_varied() -> None:
    folders = [p for p in SAMPLES_DIR.iterdir() if p.is_dir()]
    size = sum(f.stat().st_size for p in folders for f in p.rglob("*") if f.is_file())
    assert len(folders) == len(SAMPLES) and size < 2_600_000
    verdicts = [
        json.loads((p / "expected.json").read_text(encoding="utf-8"))["verdict"] for p in folders
    ]
    assert verdicts.count("pass") == 3 and verdicts.count("reject") == 3
    modes = {
        json.loads((submission_dir(p) / "submission.json").read_text(encoding="utf-8"))["channel"][
            "mode"
        ]
        for p in folders
    }
    assert modes == {"offline", "online"}


@pytest.mark.skipif("serif" not in families(), reason="serif face not installed (extra 'fonts')")
def test_serif_face_prints_licenses_and_letters_but_not_cards_or_pdfs(tmp_path: Path) -> None:
    """--fonts serif: the license and letter are printed in the Song face (other pixels
    than the sans print of the same seed); ID cards and the text-layer PDF stay sans."""
    sans = generate_case(3, tmp_path / "sans", channel="offline")
    serif = generate_case(3, tmp_path / "serif", channel="offline", fonts=("serif",))
    expected = json.loads((serif / "expected.json").read_text(encoding="utf-8"))
    kinds = {d["file"]: d["kind"] for d in expected["documents"]}
    printed = {kinds[f] for f in expected["fonts"]}
    assert {"business_license", "authorization_letter"} <= printed
    assert not printed & {"id_card_front", "id_card_back"}
    assert not any(f.endswith(".pdf") for f in expected["fonts"])
    for name, kind in kinds.items():
        a = (submission_dir(sans) / name).read_bytes()
        b = (submission_dir(serif) / name).read_bytes()
        if name.endswith(".pdf"):  # a PDF's ID differs on every write: compare its fonts
            with pymupdf.open("pdf", a) as da, pymupdf.open("pdf", b) as db:
                assert da[0].get_fonts() == db[0].get_fonts()
                assert da[0].get_text() == db[0].get_text()
        else:
            assert (a != b) == (name in expected["fonts"]), (name, kind)
    assert "fonts" not in json.loads((sans / "expected.json").read_text(encoding="utf-8"))


def test_varied_layouts_print_license_form_and_letter_another_way(tmp_path: Path) -> None:
    """--layouts varied: the license is the portrait 正本, the form's short fields share
    rows, the letter another wording; a single side of an ID card keeps its design (not
    listed under ``layouts``); the fields (the truth) are the same as the classic
    printing's."""
    classic = generate_case(3, tmp_path / "classic", channel="offline")
    varied = generate_case(3, tmp_path / "varied", channel="offline", layouts=("varied",))
    exp_c = json.loads((classic / "expected.json").read_text(encoding="utf-8"))
    exp_v = json.loads((varied / "expected.json").read_text(encoding="utf-8"))
    assert exp_c["documents"] == exp_v["documents"]
    assert "layouts" not in exp_c
    kinds = {d["file"]: d["kind"] for d in exp_v["documents"]}
    assert {kinds[f] for f in exp_v["layouts"]} >= {
        "business_license",
        "application_form",
        "authorization_letter",
    }
    per_file = Counter(d["file"] for d in exp_v["documents"])
    # A single side of a card keeps its design; a page of both sides may be arranged
    # otherwise (side by side, the back first).
    assert not any(per_file[f] == 1 and kinds[f].startswith("id_card") for f in exp_v["layouts"])
    for name, kind in kinds.items():
        if kind.startswith("id_card"):
            continue  # the same design (other random draws: the pixels differ a little)
        a = (submission_dir(classic) / name).read_bytes()
        b = (submission_dir(varied) / name).read_bytes()
        if name.endswith(".pdf"):
            with pymupdf.open("pdf", a) as da, pymupdf.open("pdf", b) as db:
                assert da[0].get_text() != db[0].get_text()
                # Short fields two to a row: the operator's name and gender share a line.
                rows = {round(w[1]) for w in db[0].get_text("words") if w[4] in ("性别",)}
                names = {round(w[1]) for w in db[0].get_text("words") if "姓名" in w[4]}
                assert rows & names or {r + d for r in rows for d in (-1, 1)} & names
        else:
            assert a != b, name
    lic = next(f for f, k in kinds.items() if k == "business_license")
    with Image.open(submission_dir(varied) / lic) as img:
        assert img.height > img.width  # the portrait 正本
    with Image.open(submission_dir(classic) / lic) as img:
        assert img.width > img.height


def test_varied_id_sheets_put_the_cards_side_by_side_or_the_back_first() -> None:
    """Both sides on one page, arranged otherwise than the template: a landscape page
    (cards side by side) or a portrait one (the back above the front)."""
    from fixtures import layouts

    case = build_case(11, ())
    slots = document_fields(case)
    front, back = slots["operator0_id_front"], slots["operator0_id_back"]
    shapes = set()
    with layouts.laid_out(layouts.VARIED):
        for seed in range(6):
            data = layouts.id_sheet(front, back, random.Random(seed))
            with Image.open(io.BytesIO(data)) as img:
                shapes.add("landscape" if img.width > img.height else "portrait")
    assert shapes == {"landscape", "portrait"}
    with pytest.raises(ValueError, match="unknown layout"), layouts.laid_out("sideways"):
        pass
