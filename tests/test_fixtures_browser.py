"""The browser printing of the fixtures (``--layouts browser``) and the other entity types.

Tests that print need Debian's chromium and CJK fonts (``make chromium fonts``) and skip
without them; the HTML, the case model and the classic draws are checked everywhere.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from docpipe.checkdigits import is_valid_uscc
from fixtures import browser, layouts, people
from fixtures._draw import pymupdf
from fixtures.browser_docs import DATE_STYLES, date_text
from fixtures.browser_form import MARKS, form_html
from fixtures.browser_letter import FAMILIES, letter_html
from fixtures.browser_license import ARRANGEMENTS, license_html
from fixtures.generate import build_case, generate_case, main
from fixtures.render import APP_TYPE_LABEL
from fixtures.views import document_fields

LACKING = browser.missing()
needs_browser = pytest.mark.skipif(
    bool(LACKING), reason=browser.unavailable_message(LACKING) if LACKING else ""
)
ENTITIES = people.ENTITIES
# (seed, entity, channel): one case of each entity type; two offline ones carry a letter.
CASES = (
    (401, "company", "offline"),
    (402, "branch", "online"),
    (403, "partnership", "offline"),
    (404, "sole_proprietorship", "online"),
    (405, "individual", "online"),
)
BUSINESS_NAMES = set(APP_TYPE_LABEL.values())


def _norm(s: str) -> str:
    return "".join(s.split())


def _printed_forms(field: str, value: str) -> set[str]:
    """Every way a document may print ``value`` (dates in any form, the business by name)."""
    if field == "application_type":
        return {APP_TYPE_LABEL.get(value, value)}
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return {date_text(value, s) for s in DATE_STYLES}
    return {_norm(value)}


def _slots(seed: int, entity: str) -> dict[str, dict[str, str]]:
    return document_fields(build_case(seed, entity=entity, vary_scope=True))


# --------------------------------------------------------------------------- classic draws

# build_case(seed) as drawn before the browser printing and the other entity types were
# added (recorded from git HEAD 5449ca0): a default case draws exactly what it drew.
CLASSIC_DRAWS = (
    (1, "2025-05-18", "company", "义乌市宇诚华纳进出口有限公司", "9133078291500080XF", "范娜莉",
     "440305197407157897", "姚晨强", "offline", "708d419d992d"),
    (2, "2025-02-27", "individual", "杭州市滨江区诚恒宏五金店", "923301086858784058", "付阳暄",
     "110105196707207196", "侯轩宇", "online", "33c309929764"),
    (3, "2025-09-01", "company", "宁波市天海报关有限公司", "91330206K23286019Y", "钟婧秀",
     "330106200110030582", "司马娜", "offline", "4b8b93b7dd00"),
    (50, "2026-05-25", "company", "杭州市云盛科技有限公司", "91330108599611958F", "陆博明",
     "330108197210093394", "任昇", "online", "708d419d992d"),
    (104, "2025-01-21", "company", "杭州市宏华工贸有限公司", "91330106592460771J", "皇甫喆",
     "370202197906096686", "蔡娜", "offline", "708d419d992d"),
)  # fmt: skip


@pytest.mark.parametrize("expected", CLASSIC_DRAWS, ids=lambda e: f"seed{e[0]}")
def test_classic_cases_draw_what_they_drew(expected: tuple[Any, ...]) -> None:
    c = build_case(expected[0])
    e = c.enterprise
    drawn = (
        expected[0],
        c.reference_date.isoformat(),
        e.entity,
        e.name,
        e.credit_code,
        c.legal.name,
        c.operators[0].id_number,
        c.agent.name,
        c.filed["channel"]["mode"],
        hashlib.sha256(e.business_scope.encode()).hexdigest()[:12],
    )
    assert drawn == expected


def test_classic_case_folder_has_no_browser_traces(tmp_path: Path) -> None:
    folder = generate_case(1, tmp_path, render=False)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert "entity" not in expected and "layouts" not in expected
    assert "drawn from" not in (folder / "PROVENANCE.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- entity types


def test_entity_types_are_drawn_only_when_asked() -> None:
    default = Counter(build_case(s).enterprise.entity for s in range(60))
    assert set(default) == {"company", "individual"}
    asked = Counter(build_case(s, entities=ENTITIES).enterprise.entity for s in range(60))
    assert set(asked) == set(ENTITIES)


@pytest.mark.parametrize("entity", ENTITIES)
def test_entity_types_have_their_names_codes_and_license_fields(entity: str) -> None:
    endings = {
        "company": ("有限公司",),
        "individual": ("五金店",),
        "branch": ("分公司",),
        "partnership": ("合伙企业（有限合伙）", "合伙企业（普通合伙）"),
        "sole_proprietorship": ("个人独资企业", "商行", "经营部"),
    }[entity]
    for seed in range(8):
        case = build_case(seed, entity=entity)
        e = case.enterprise
        assert e.name.endswith(endings), e.name
        assert is_valid_uscc(e.credit_code)
        assert e.credit_code[:2] == ("92" if entity == "individual" else "91")
        lic = document_fields(case)["license"]
        has_capital = entity in ("company", "partnership")
        assert ("registered_capital" in lic) == has_capital
        assert bool(case.filed["enterprise"]["registered_capital"]) == has_capital
        assert ("business_term_to" in lic) == (entity != "individual")


def test_varied_scopes_fit_the_unit_category() -> None:
    scopes = set()
    for seed in range(40):
        case = build_case(seed, entities=ENTITIES, vary_scope=True)
        e = case.enterprise
        scopes.add(e.business_scope)
        assert ("报关" in e.business_scope) == (e.unit_category == "C")
        assert case.filed["enterprise"]["business_scope"] == e.business_scope
        assert document_fields(case)["license"]["business_scope"] == e.business_scope
    assert len(scopes) >= 6


# --------------------------------------------------------------------------- HTML variety


def test_licenses_show_every_arrangement_and_the_labels_of_their_type() -> None:
    seen: Counter[str] = Counter()
    own = {
        "company": ("法定代表人", "注册资本", "营业期限", "住所"),
        "branch": ("负责人", "营业场所", "营业期限"),
        "partnership": ("执行事务合伙人", "出资额", "合伙期限", "主要经营场所"),
        "sole_proprietorship": ("投资人", "住所", "营业期限"),
        "individual": ("经营者", "组成形式", "注册日期", "经营场所"),
    }
    for seed in range(30):
        entity = ENTITIES[seed % 5]
        fields = _slots(seed, entity)["license"]
        html, _ = license_html(fields, random.Random(seed), entity=entity)
        seen[re.search(r"fields-table\">|class=\"cols\"|<div class=\"\">", html).group(0)] += 1  # type: ignore[union-attr]
        seen["正本" if "（副　本）" not in html and ">副本<" not in html else "副本"] += 1
        labels = re.findall(r'class="label[^"]*">([^<]+)<|<span class="spread">([^<]+)<', html)
        printed = {a or b for a, b in labels} | set(re.findall(r'<td class="label">([^<]+)<', html))
        assert set(own[entity]) <= printed, (entity, printed)
        if entity in ("branch", "sole_proprietorship", "individual"):
            assert "注册资本" not in printed and "出资额" not in printed
        # The authority only inside the seal: along its arc, by textPath.
        authority = fields["registration_authority"]
        assert html.count(authority) == 1
        assert re.search(rf"<textPath[^>]*>{re.escape(authority)}</textPath>", html)
    assert len(seen) == len(ARRANGEMENTS) + 2, seen


def _forms(n: int = 40) -> list[str]:
    out = []
    for seed in range(n):
        fields = _slots(seed, ENTITIES[seed % 5])["form"]
        out.append(form_html(fields, random.Random(seed), hand=seed % 3 == 0))
    return out


def test_forms_use_two_and_four_cell_rows_stacked_labels_and_section_headers() -> None:
    forms = _forms()
    four = [h for h in forms if re.search(r'<tr>\s*<td class="lab">.*?<td class="lab">', h)]
    stacked = [h for h in forms if 'class="stk"' in h]
    two = [h for h in forms if re.search(r'<td class="val" colspan="3">', h)]
    numbered = [h for h in forms if re.search(r'<th class="sec" colspan="4">一、企业信息', h)]
    plain = [h for h in forms if "企业基本信息" in h]
    bare = [h for h in forms if 'class="sec"' not in h.split("<table>", 1)[1]]
    assert all(len(x) >= 2 for x in (four, stacked, two, numbered, plain, bare))


def test_forms_tick_checkbox_lists_with_every_kind_of_mark() -> None:
    marks: Counter[str] = Counter()
    for seed, html in enumerate(_forms(60)):
        fields = _slots(seed, ENTITIES[seed % 5])["form"]
        for name, (on, _off) in MARKS.items():
            if name == "css":
                ticked = re.findall(r'<span class="box">✓</span>([^<]+)<', html)
            else:
                ticked = re.findall(rf'<span class="mk on">{re.escape(on)}</span>([^<]+)<', html)
            if ticked:  # what is ticked is the truth, and only that
                marks[name] += 1
                assert set(ticked) & set(people.DEVICE_TYPES) <= {fields["device_type"]}
                assert set(ticked) & {"男", "女"} <= {fields["operator_gender"]}
                assert set(ticked) & BUSINESS_NAMES <= {APP_TYPE_LABEL["change_operator"]}
                assert APP_TYPE_LABEL["change_operator"] in ticked or "新企业入网" not in html
    assert set(marks) == set(MARKS), marks


def test_forms_use_label_words_of_other_printings() -> None:
    from extractors.application_form import LABELS

    ours = {v for lb in LABELS for v in lb.variants} | {
        w for words in layouts._FORM_WORDS.values() for w in words
    }
    printed: set[str] = set()
    for html in _forms():
        printed |= set(re.findall(r'class="(?:lab|slab)">([^<]+)<', html))
    assert len(printed - ours) >= 6, printed - ours
    assert {"联系手机", "证件类别", "介质类型"} <= printed


def test_letters_come_in_every_phrase_family_and_date_style() -> None:
    families: Counter[str] = Counter()
    numerals = 0
    for seed in range(30):
        fields = _slots(seed, ENTITIES[seed % 5])["letter"]
        html = letter_html(fields, random.Random(seed))
        family = re.search(r'class="letter-(\w+)"', html).group(1)  # type: ignore[union-attr]
        families[family] += 1
        assert fields["matter"] in BUSINESS_NAMES
        text = _norm(re.sub(r"<[^>]+>", "", html))
        for key in ("enterprise_name", "credit_code", "agent_name", "agent_id_number", "matter"):
            assert _norm(fields[key]) in text, (family, key)
        opening = {"entrust": r"[兹现特]委托", "authorise": r"本单位.+现授权", "table": "受托人"}
        assert re.search(opening[family], text)
        numerals += date_text(fields["sign_date"], "numeral") in text
    assert set(families) == set(FAMILIES)
    assert 0 < numerals < 30


# --------------------------------------------------------------------------- printed


@pytest.fixture(scope="module")
def printed_cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[Any]]]:
    if LACKING:
        pytest.skip(browser.unavailable_message(LACKING))
    out = tmp_path_factory.mktemp("browser")

    def one(spec: tuple[int, str, str]) -> tuple[Path, list[Any]]:
        seed, entity, channel = spec
        with browser.capture() as prints:
            folder = generate_case(
                seed, out, entity=entity, channel=channel, layouts=(layouts.BROWSER,)
            )
        return folder, prints

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, CASES))


def _text_of(folder: Path, doc: dict[str, Any], prints: list[Any]) -> str:
    path = folder / "submission" / doc["file"]
    kind = {"business_license": "license", "application_form": "form"}.get(doc["kind"], "letter")
    if path.suffix == ".pdf":
        data = path.read_bytes()
    else:
        (data,) = [p.pdf for p in prints if p.kind == kind]
    pdf = pymupdf.open("pdf", data)
    text: str = _norm(pdf[0].get_text())
    pdf.close()
    return text


@needs_browser
def test_printed_documents_show_every_expected_value(
    printed_cases: list[tuple[Path, list[Any]]],
) -> None:
    kinds: Counter[str] = Counter()
    for folder, prints in printed_cases:
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        for doc in expected["documents"]:
            if doc["kind"].startswith("id_card"):
                assert doc["file"] not in expected["layouts"]  # the cards keep their design
                continue
            assert expected["layouts"][doc["file"]] == layouts.BROWSER
            kinds[doc["kind"]] += 1
            text = _text_of(folder, doc, prints)
            for field, value in doc["fields"].items():
                forms = _printed_forms(field, value)
                assert any(f in text for f in forms), (folder.name, doc["kind"], field, value)
    assert kinds == {"business_license": 5, "application_form": 5, "authorization_letter": 2}


@needs_browser
def test_prints_are_one_page_in_debian_faces_and_reproducible(
    printed_cases: list[tuple[Path, list[Any]]],
) -> None:
    families = {"WenQuanYiZenHei", "WenQuanYiMicroHei", "UMingCN", "UKaiCN", "DejaVuSans"}
    used: set[str] = set()
    for _, prints in printed_cases:
        for p in prints:
            pdf = pymupdf.open("pdf", p.pdf)
            assert pdf.page_count == 1
            names = {f[3].split("+")[-1] for f in pdf.get_page_fonts(0) if f[3]}
            assert names <= families, names  # never Noto, never PyMuPDF's built-in font
            used |= names
            # Nothing printed below the page's last 5 mm (no field cut off).
            bottom = max(b[3] for b in pdf[0].get_text("blocks"))
            assert bottom < pdf[0].rect.height - 14
            pdf.close()
    assert len(used - {"DejaVuSans"}) >= 2
    first = printed_cases[0][1][0]
    assert browser.print_pdf(first.html, first.kind) == first.pdf


@needs_browser
def test_narrow_cells_wrap_long_names(tmp_path: Path) -> None:
    for seed in range(200):
        fields = _slots(seed, "branch")["form"]
        html = form_html(fields, random.Random(seed))
        name = fields["enterprise_name"]
        if re.search(rf'<td class="val"><span class="v">{re.escape(name)}</span></td>', html):
            break
    else:
        pytest.fail("no form put the enterprise name in a four-cell row")
    pdf = pymupdf.open("pdf", browser.print_pdf(html, "form"))
    lines = [
        "".join(s["text"] for s in line["spans"])
        for block in pdf[0].get_text("dict")["blocks"]
        for line in block.get("lines", [])
    ]
    assert _norm(name) not in {_norm(x) for x in lines}  # not on one line …
    assert any(x and _norm(name).startswith(_norm(x)) for x in lines)  # … but begun on one


def test_missing_chromium_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(browser.BrowserUnavailableError, match="make chromium fonts"):
        browser.print_pdf("<html></html>", "form")


def test_cli_takes_browser_layouts_and_entities(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--entities", "cooperative", "--no-render"])
    if LACKING:
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path), "--layouts", "browser", "--no-render"])
        return
    args = ["--out", str(tmp_path), "--seed", "9", "--count", "3", "--no-render"]
    assert main([*args, "--layouts", "classic,varied,browser", "--entities", "all"]) == 0
    drawn = [
        json.loads((tmp_path / f"case-{s:04d}" / "expected.json").read_text(encoding="utf-8"))
        for s in (9, 10, 11)
    ]
    assert all(d["entity"] in ENTITIES for d in drawn)
