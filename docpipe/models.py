"""The contract's data: what a submission files (CONTRACT §1) and what docpipe reports (§3).

Filed values are kept as the strings the portal sent: their format is judged by rules
(an ``invalid_format`` finding), never by the parser, so a typo in one date does not
hide the rest of the submission. One ``Report`` model is the JSON, the HTML template's
input and the service's response.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


class _Filed(BaseModel):
    """Base of the filed models: unknown keys are kept and ignored (CONTRACT §1)."""

    model_config = ConfigDict(extra="allow")


class Enterprise(_Filed):
    """``enterprise`` of submission.json: the business license as typed into the portal."""

    credit_code: str | None = None
    name: str | None = None
    name_en: str | None = None
    enterprise_type: str | None = None
    unit_category: str | None = None
    registered_address: str | None = None
    registered_capital: str | None = None
    capital_currency: str | None = None
    established_date: str | None = None
    license_issue_date: str | None = None
    business_term_to: str | None = None
    business_scope: str | None = None
    postal_code: str | None = None
    fax: str | None = None


class Person(_Filed):
    """A card holder: the legal person or an operator."""

    name: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    id_valid_from: str | None = None
    id_valid_to: str | None = None
    country: str | None = None
    mobile: str | None = None
    device_type: str | None = None
    device_number: str | None = None
    # Operators only, per the portal's operator page; the legal person may leave them out.
    gender: str | None = None
    birth_date: str | None = None
    title: str | None = None
    household_address: str | None = None
    postal_code: str | None = None
    email: str | None = None


class Channel(_Filed):
    """How the card is handed over: ``offline`` at an outlet or ``online`` by courier."""

    mode: str | None = None
    outlet: str | None = None
    recipient: str | None = None
    address: str | None = None
    phone: str | None = None


MAX_OPERATORS = 20


class Submission(_Filed):
    """``submission.json``: the fields as typed into the portal."""

    submission_id: str | None = None
    application_type: str = "change_operator"
    reference_date: str | None = None
    enterprise: Enterprise = Field(default_factory=Enterprise)
    legal_person: Person | None = None
    #: An application names a few operators; a 1 MB list of 300,000 empty ones gave
    #: millions of findings and gigabytes of report, so more is a shape error.
    operators: list[Person] = Field(default_factory=list, max_length=MAX_OPERATORS)
    remarks: str | None = None
    channel: Channel | None = None

    def persons(self) -> Iterator[tuple[str, Person]]:
        """Yield ``(path, person)`` for the legal person and every operator.

        The path is the prefix of a finding's ``field`` (``legal_person``,
        ``operators[0]``).
        """
        if self.legal_person is not None:
            yield "legal_person", self.legal_person
        for i, op in enumerate(self.operators):
            yield f"operators[{i}]", op


# --------------------------------------------------------------------------- report


class Severity(StrEnum):
    """How much a finding weighs in the verdict."""

    error = "error"
    warning = "warning"
    info = "info"


class Code(StrEnum):
    """Finding codes, fixed by CONTRACT §3."""

    file_type_not_allowed = "file_type_not_allowed"
    file_too_large = "file_too_large"
    file_unreadable = "file_unreadable"
    missing_document = "missing_document"
    invalid_format = "invalid_format"
    mismatch = "mismatch"
    not_found = "not_found"
    expired = "expired"
    inconsistent = "inconsistent"
    low_quality = "low_quality"
    policy = "policy"


class Verdict(StrEnum):
    """``pass``: no error, no warning; ``review``: warnings only; ``reject``: any error."""

    pass_ = "pass"
    review = "review"
    reject = "reject"


class DocKind(StrEnum):
    """Document kinds of CONTRACT §2."""

    business_license = "business_license"
    id_card_front = "id_card_front"
    id_card_back = "id_card_back"
    application_form = "application_form"
    authorization_letter = "authorization_letter"
    other = "other"


BBox = tuple[float, float, float, float]


class Evidence(BaseModel):
    """Where a reviewer can see a value: file, page (1-based) and box in page pixels."""

    file: str
    page: int | None = None
    bbox: BBox | None = None
    text: str | None = Field(default=None, description="The raw OCR text at that place.")


class FieldValue(BaseModel):
    """One field read from a document, with how sure the reading is and where it stands."""

    value: str | None
    confidence: float = 1.0
    bbox: BBox | None = None
    raw: str | None = Field(default=None, description="OCR text the value was taken from.")
    char_confidence: float | None = Field(
        default=None,
        description=(
            "The weakest character of the value, where the engine scores characters. "
            "``confidence`` is a line's mean: one misread character in a long line "
            "hardly lowers it."
        ),
    )
    borrowed: str | None = Field(
        default=None,
        description=(
            "Set when the value is another document's reading of the same name "
            "(``kind.field``), taken because it fits this field's image about as well "
            "as what was read here (``docpipe.crossread``): still a doubt, never a match."
        ),
    )
    cut: bool = Field(
        default=False,
        description=(
            "The value met a line or cell boundary where more of it may stand beyond: "
            "a filed value that begins (or ends) with it is a doubt, not a mismatch."
        ),
    )
    check_failed: bool = Field(
        default=False,
        description=(
            "A code or number that fails its check character and read the same, surely, "
            "at a second look (``docpipe.reread.confirm``): the document's own error, "
            "not a misreading."
        ),
    )


class Document(BaseModel):
    """A recognised document: one page, or a region of one (an ID card side)."""

    file: str
    page: int = 1
    kind: DocKind
    region: BBox | None = None
    confidence: float = 1.0
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class Finding(BaseModel):
    """One thing a reviewer must look at: what was filed, what was found, where."""

    rule: str
    title: str = ""
    code: Code
    severity: Severity
    field: str
    filed: str | None = None
    found: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    message: str


class AttachmentStatus(StrEnum):
    """What became of one attachment."""

    read = "read"
    refused = "refused"
    unreadable = "unreadable"
    ignored = "ignored"


class Attachment(BaseModel):
    """One uploaded file, listed in the report whether it could be read or not."""

    file: str
    size: int
    sha256: str
    detected_type: str | None = Field(
        default=None, description="jpeg, png or pdf from the magic bytes; null when none."
    )
    pages: int = 0
    status: AttachmentStatus = AttachmentStatus.read
    kinds: list[DocKind] = Field(default_factory=list)
    note: str | None = None


class Counts(BaseModel):
    """Findings per severity."""

    error: int = 0
    warning: int = 0
    info: int = 0


class EngineInfo(BaseModel):
    """The OCR engine and runtime that read the pages (CONTRACT §3: ``engine``)."""

    name: str
    version: str
    runtime: str | None = Field(
        default=None, description="What ran the models: openvino or onnxruntime."
    )
    runtime_version: str | None = None
    models: str | None = Field(default=None, description="The model files, comma-separated.")


class Report(BaseModel):
    """``report.json`` (CONTRACT §3), also the HTML template's input and the API's answer."""

    schema_version: str = SCHEMA_VERSION
    submission_id: str
    application_type: str | None = None
    reference_date: str | None = None
    enterprise_name: str | None = None
    credit_code: str | None = None
    verdict: Verdict
    summary: str = Field(default="", description="One line: why this verdict.")
    counts: Counts = Field(default_factory=Counts)
    attachments: list[Attachment] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    docpipe_version: str = ""
    engine: EngineInfo | None = Field(
        default=None, description="The OCR engine and runtime that read the pages."
    )
    incomplete: bool = Field(
        default=False,
        description="True when docpipe failed internally during this review: what is"
        " reported was checked, the rest was not (a not_found finding on `submission`).",
    )

    def to_json(self) -> str:
        """Serialise as report.json: UTF-8 text, Chinese kept readable."""
        return self.model_dump_json(indent=2, by_alias=True)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the contract's two documents, keyed by file name."""
    return {
        "submission.schema.json": Submission.model_json_schema(),
        "report.schema.json": Report.model_json_schema(),
    }
