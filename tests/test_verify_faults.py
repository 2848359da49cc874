"""Document-level faults and traps (issue 4): exact edits, well-formed expectations, and
what the rules make of them — on documents built from the truth (no OCR) and through
the pipeline on a committed sample (replay engine)."""

from __future__ import annotations

import json
import random
import shutil
import unicodedata
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from docpipe.models import Code, DocKind, Document, FieldValue, Submission
from docpipe.ocr import get_engine
from docpipe.ocr.cache import clear_memory
from docpipe.pipeline import review
from docpipe.reread import printed_as_is
from docpipe.rules import RuleContext, run_rules
from fixtures import render
from fixtures.doc_faults import other_credit_code, other_digits
from fixtures.faults import DOC_FAULTS, Case, get_path, leaves, rule_of
from fixtures.generate import SAMPLES_DIR, build_case, generate_case, submission_dir
from fixtures.traps import TRAPS
from fixtures.views import CONTRACT_FIELDS, document_fields

DOC_FAULT_NAMES = DOC_FAULTS.names()
SEEDS = [2, 7, 13]
ISSUE4_RULES = {
    "USCC-MATCH", "ENT-NAME", "ENT-LEGAL-REP", "ENT-TYPE", "ENT-DATES", "ENT-TERM",
    "ENT-TERM-EXPIRED", "ENT-ADDRESS", "ID-NUMBER-MATCH", "ID-NAME-MATCH",
    "ID-VALIDITY-MATCH", "ID-FRONT-BACK", "ID-TEMPORARY", "FORM-MATCH", "FORM-SIGNED",
    "AUTH-LETTER", "FILE-REQUIRED", "FILE-QUALITY",
}  # fmt: skip


def _doc_leaves(case: Case) -> dict[str, Any]:
    return {f"{slot}.{k}": v for slot, fs in document_fields(case).items() for k, v in fs.items()}


def _changed(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


# --------------------------------------------------------------------------- faults


def test_every_document_rule_of_issue_4_has_a_fault() -> None:
    assert {rule_of(n) for n in DOC_FAULT_NAMES} == ISSUE4_RULES
    assert {"FILE-REQUIRED.FORM", "FILE-REQUIRED.LETTER", "FILE-REQUIRED.CARD"} <= set(
        DOC_FAULT_NAMES
    )


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", DOC_FAULT_NAMES)
def test_document_fault_changes_exactly_what_it_says(name: str, seed: int) -> None:
    clean = build_case(seed, (name,), inject_faults=False)
    faulty = build_case(seed, (name,))
    touches = DOC_FAULTS.get(name).touches
    filed = _changed(leaves(clean.filed), leaves(faulty.filed)) - {"submission_id"}
    docs = _changed(_doc_leaves(clean), _doc_leaves(faulty))
    doc_touch = [t.removeprefix("doc:") for t in touches if t.startswith("doc:")]
    filed_touch = [t for t in touches if not t.startswith(("doc:", "file:"))]
    assert filed or docs or faulty.dropped or faulty.file_degrade, f"{name} changed nothing"
    assert all(any(k.startswith(t) for t in filed_touch) for k in filed), (filed, touches)
    assert all(any(k.startswith(t) for t in doc_touch) for k in docs), (docs, touches)
    assert all(any(t.startswith(f"doc:{d}") for t in touches) for d in faulty.dropped)
    assert all(any(t.startswith(f"doc:{s}") for t in touches) for s in faulty.file_degrade)
    # A document fault is a disagreement: the document or the filed value moved, not both.
    findings = faulty.findings
    assert rule_of(name) in {f["rule"] for f in findings}
    for f in findings:
        assert (
            {"rule", "field", "code", "severity"}
            <= set(f)
            <= {
                "rule",
                "field",
                "code",
                "severity",
                "alt_field",
            }
        )
        Code(f["code"])
        assert f["severity"] in {"error", "warning"}
        if f["field"].startswith("file:"):
            assert f["field"].startswith("file:@")
        elif f["field"] != "submission":
            get_path(faulty.filed, f["field"])


@pytest.mark.parametrize("name", DOC_FAULT_NAMES)
def test_generated_fault_case_resolves_files_and_drops_documents(name: str, tmp_path: Path) -> None:
    folder = generate_case(31, tmp_path, (name,), render=False)
    exp = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    files = {d["file"] for d in exp["documents"]}
    kinds = {d["kind"] for d in exp["documents"]}
    assert exp["verdict"] in {"reject", "review"} and exp["faults"] == [name]
    for f in exp["findings"]:
        if f["field"].startswith("file:"):
            assert f["field"].removeprefix("file:") in files
    if name == "FILE-REQUIRED.FORM":
        assert "application_form" not in kinds
    if name == "FILE-REQUIRED.LETTER":
        assert "authorization_letter" not in kinds
    if name == "FILE-REQUIRED.CARD":
        op = json.loads((submission_dir(folder) / "submission.json").read_text("utf-8"))
        numbers = {d["fields"].get("id_number") for d in exp["documents"]}
        assert op["operators"][0]["id_number"] not in numbers
    if name == "FILE-QUALITY":
        (finding,) = exp["findings"]
        assert finding["field"].removeprefix("file:") in exp["degradations"]


# --------------------------------------------------------------------------- rules, no OCR

_KIND = {
    "license": DocKind.business_license,
    "form": DocKind.application_form,
    "letter": DocKind.authorization_letter,
}


def _documents(case: Case, separate: bool = False) -> list[Document]:
    """Documents as a perfect reader would give them: the drawn text, confidence 0.99.

    Card sides share one page (the portal's template) unless ``separate``: one file each.
    """
    slots = document_fields(case)
    docs = []
    for slot, fields in slots.items():
        holder = slot.rsplit("_id_", 1)[0] + "_id" if "_id_" in slot else slot
        if holder in case.dropped or (
            slot == "letter" and case.filed["channel"]["mode"] != "offline"
        ):
            continue
        if "_id_" in slot:
            kind = DocKind.id_card_front if slot.endswith("front") else DocKind.id_card_back
            region = (0, 0, 800, 500) if slot.endswith("front") else (0, 600, 800, 1100)
            file = f"{slot if separate else holder}.jpg"
        else:
            kind, region, file = _KIND[slot], (0, 0, 1000, 1400), f"{slot}.jpg"
        drawn = fields | case.draw_overrides.get(slot, {})
        docs.append(
            Document(
                file=file,
                kind=kind,
                region=region,
                # A perfect, sure reading: a form's or letter's number failing its
                # check is the paper's own (as a text layer or a second look says).
                fields=printed_as_is(
                    {
                        k: FieldValue(value=v, confidence=0.99)
                        for k, v in drawn.items()
                        if k in CONTRACT_FIELDS[kind.value]
                    },
                    kind.value,
                ),
            )
        )
    return docs


def _rule_findings(case: Case, separate: bool = False) -> set[tuple[str, str, str, str]]:
    ctx = RuleContext(
        reference_date=case.reference_date,
        submission=Submission.model_validate(case.filed),
        documents=_documents(case, separate),
    )
    return {(f.rule, f.field, str(f.code.value), str(f.severity.value)) for f in run_rules(ctx)}


def _expected(case: Case) -> set[tuple[str, str, str, str]]:
    return {
        (f["rule"], f["field"].replace("file:@", "file:").replace("file:form", "file:form.jpg"),
         f["code"], f["severity"])
        for f in case.findings
    }  # fmt: skip


# FILE-QUALITY looks at pixels: it needs rendered pages, not documents.
RULE_CHECKED = [n for n in DOC_FAULT_NAMES if n != "FILE-QUALITY"]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", RULE_CHECKED)
def test_rules_raise_exactly_the_declared_findings(name: str, seed: int) -> None:
    case = build_case(seed, (name,))
    assert _rule_findings(case) == _expected(case)


# With sides in separate files and the validity filed wrong, the back is paired by
# elimination (docpipe.linking._add_last_back), so ID-VALIDITY-MATCH still compares it.
CARD_FAULTS = [n for n in DOC_FAULT_NAMES if n.startswith("ID-")]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", CARD_FAULTS)
def test_card_faults_with_sides_in_separate_files(name: str, seed: int) -> None:
    case = build_case(seed, (name,))
    assert _rule_findings(case, separate=True) == _expected(case)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_clean_case_raises_nothing_on_perfect_reading(seed: int) -> None:
    assert _rule_findings(build_case(seed)) == set()


# --------------------------------------------------------------------------- traps


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("trap", list(TRAPS))
def test_trap_keeps_the_case_clean(trap: str, seed: int, tmp_path: Path) -> None:
    folder = generate_case(seed, tmp_path, traps=(trap,), render=False)
    exp = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert exp["verdict"] == "pass" and exp["findings"] == []
    case = build_case(seed, traps=(trap,))
    assert exp["traps"]["names"] == case.traps
    # What the rules make of the trap on a perfect reading: nothing at all.
    assert _rule_findings(case) == set()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_all_traps_together_keep_the_case_clean(seed: int) -> None:
    case = build_case(seed, traps=tuple(reversed(TRAPS)))
    assert case.findings == [] and _rule_findings(case) == set()
    assert _rule_findings(case, separate=True) == set()


def test_traps_do_what_they_say() -> None:
    seed = 5
    plain = build_case(seed)

    def with_trap(name: str) -> Case:
        case = build_case(seed, traps=(name,))
        assert case.traps == [name]
        return case

    c = with_trap("bracket_width")
    name = c.filed["enterprise"]["name"]
    printed = document_fields(c)["license"]["name"]
    assert "(" in name and "（" in printed and unicodedata.normalize("NFKC", printed) == name
    c = with_trap("name_spaces")
    assert " " in c.filed["legal_person"]["name"] and " " in c.filed["enterprise"]["name"]
    c = with_trap("lower_x")
    filed_id = c.filed["operators"][0]["id_number"]
    assert filed_id.endswith("x") and document_fields(c)["form"]["operator_id_number"].endswith("X")
    c = with_trap("address_no_province")
    assert (
        plain.enterprise.region.province + c.filed["enterprise"]["registered_address"]
        == plain.filed["enterprise"]["registered_address"]
    )
    c = with_trap("validity_no_zeros")
    drawn = c.draw_overrides["legal_id_back"]["valid_from"]
    assert "-" not in drawn and ".0" not in drawn
    c = with_trap("rare_chars")
    assert all(any(ch in p["name"] for ch in "堃喆昇淼燚垚珺玥琰翀彧懿祎暄晟煜璟")
               for p in (c.filed["legal_person"], c.filed["operators"][0]))  # fmt: skip
    c = with_trap("rotated")
    assert c.file_turns and all(ch.steps for ch in c.file_turns.values())
    dots = set()
    for s in range(8):  # the filed dot is drawn: several spellings over a few seeds
        c = build_case(s, traps=("dotted_name",))
        card = document_fields(c)["operator0_id_front"]
        filed = c.filed["operators"][0]["name"]
        assert "·" in card["name"] and card["ethnicity"] == "维吾尔"
        assert len(filed) == len(card["name"])  # the same name, its dot perhaps another
        dots |= set(filed) - set(card["name"])
    assert len(dots) >= 2  # •, . or ．, not only the card's own ·


def test_long_term_words_are_printed_or_filed() -> None:
    c = build_case(5, entity="company", traps=("long_term_words",))
    assert c.draw_overrides["license"]["business_term_to"] in {"永久", "无固定期限"}
    lic = document_fields(c)["license"]
    assert lic["business_term_to"] == "长期"  # the truth stays 长期
    assert _rule_findings(c) == set()


# --------------------------------------------------------------------------- pipeline


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """case-0104 (clean, offline, born-digital form) copied to a scratch folder."""
    dst = tmp_path / "case-0104"
    shutil.copytree(SAMPLES_DIR / "case-0104" / "submission", dst)
    return dst


def _form_fields() -> dict[str, str]:
    exp = json.loads((SAMPLES_DIR / "case-0104" / "expected.json").read_text(encoding="utf-8"))
    form = next(d for d in exp["documents"] if d["kind"] == "application_form")
    case = build_case(104, entity="company", channel="offline")
    fields: dict[str, str] = document_fields(case)["form"] | form["fields"]
    return fields


def test_sample_copy_passes_unedited(sample_copy: Path) -> None:
    report = review(sample_copy)
    assert str(report.verdict.value) == "pass", [f.rule for f in report.findings]


@pytest.mark.parametrize(
    ("field", "path"),
    [("operator_mobile", "operators[0].mobile"), ("credit_code", "enterprise.credit_code")],
    ids=["mobile", "credit_code"],
)
def test_edited_form_is_rejected(sample_copy: Path, field: str, path: str) -> None:
    fields = _form_fields()
    rng = random.Random(1)
    # A value that is valid in itself (a credit code with right check characters): the
    # form names another value, it is not a misreading.
    edit = other_credit_code if field == "credit_code" else partial(other_digits, first=3)
    fields[field] = edit(rng, fields[field])
    (sample_copy / "申请书.pdf").write_bytes(render.form_pdf(fields, random.Random(1)))
    report = review(sample_copy)
    hits = [f for f in report.findings if f.rule == "FORM-MATCH" and f.field == path]
    assert str(report.verdict.value) == "reject"
    assert hits and str(hits[0].code.value) == "mismatch" and hits[0].found == fields[field]


@pytest.mark.parametrize("confidence", [0.99, 0.6], ids=["sure", "doubtful"])
def test_edited_license_reading_is_never_pass(
    sample_copy: Path, confidence: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The license's credit code edited in the recorded OCR: reject when read surely,
    at least review when read with doubt — never pass."""
    filed = json.loads((sample_copy / "submission.json").read_text(encoding="utf-8"))
    code = filed["enterprise"]["credit_code"]
    engine: Any = get_engine("replay")
    key, lines = next(
        (k, v) for k, v in engine.records.items() if any(ln.text.strip() == code for ln in v)
    )
    other = code[:10] + ("1" if code[10] != "1" else "2") + code[11:]
    edited = [
        ln.model_copy(update={"text": other, "confidence": confidence})
        if ln.text.strip() == code
        else ln
        for ln in lines
    ]
    monkeypatch.setitem(engine.records, key, edited)
    clear_memory()
    try:
        report = review(sample_copy, reference_date=date.fromisoformat(filed["reference_date"]))
    finally:
        clear_memory()
    verdict = str(report.verdict.value)
    on_code = [f for f in report.findings if f.field == "enterprise.credit_code"]
    assert verdict != "pass"
    if confidence >= 0.9:
        assert verdict == "reject"
        assert any(f.rule == "USCC-MATCH" and str(f.code.value) == "mismatch" for f in on_code)
    else:
        assert on_code or any(f.rule == "FILE-QUALITY" for f in report.findings)
