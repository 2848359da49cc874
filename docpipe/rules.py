"""Rules: declared with ``@rule``, found by walking ``validators``, run over one context.

A rule is a function from a ``RuleContext`` to ``Hit`` objects. The decorator records its
stable id (RULES.md), default code and severity; the first line of its docstring is the
reviewer's title. The registry turns each hit into a contract ``Finding``, so a rule
module says only what it checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import TYPE_CHECKING, Any

from docpipe.models import Code, Document, Evidence, Finding, Severity, Submission
from docpipe.registry import Registry, load_package

if TYPE_CHECKING:
    from docpipe.errors import DocpipeError, SubmissionJsonError
    from docpipe.intake import AttachmentFile

log = logging.getLogger(__name__)


@dataclass
class Hit:
    """What a rule found. Code and severity default to the rule's own."""

    field: str
    message: str
    filed: str | None = None
    found: str | None = None
    evidence: list[Evidence] = dc_field(default_factory=list)
    code: Code | None = None
    severity: Severity | None = None


@dataclass
class RuleContext:
    """Everything a rule may look at for one submission."""

    reference_date: date
    submission: Submission | None = None
    submission_error: SubmissionJsonError | None = None
    files: list[AttachmentFile] = dc_field(default_factory=list)
    file_errors: dict[str, DocpipeError] = dc_field(default_factory=dict)
    documents: list[Document] = dc_field(default_factory=list)
    # Pages as read, by (file, page number): ``docpipe.reading.ReadPage`` (lines and
    # ``.image()``), for rules that look at pixels (FILE-QUALITY). Empty when not kept.
    pages: dict[tuple[str, int], Any] = dc_field(default_factory=dict)
    #: Active content found in a PDF, by file: (English, Chinese) notes (FILE-ACTIVE).
    active: dict[str, list[tuple[str, str]]] = dc_field(default_factory=dict)

    def docs(self, kind: str) -> list[Document]:
        """Documents of one kind, in file and page order."""
        return [d for d in self.documents if d.kind == kind]


RuleFunc = Callable[[RuleContext], Iterable[Hit]]


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule."""

    id: str
    code: Code
    severity: Severity
    func: RuleFunc
    title: str
    needs_submission: bool

    def run(self, ctx: RuleContext) -> list[Finding]:
        """Apply the rule; a rule that needs the filed fields is skipped without them."""
        if self.needs_submission and ctx.submission is None:
            return []
        return [
            Finding(
                rule=self.id,
                title=self.title,
                code=hit.code or self.code,
                severity=hit.severity or self.severity,
                field=hit.field,
                filed=hit.filed,
                found=hit.found,
                evidence=hit.evidence,
                message=hit.message,
            )
            for hit in self.func(ctx)
        ]


RULES: Registry[RuleSpec] = Registry("rule")


def rule(
    rule_id: str,
    *,
    code: Code | str,
    severity: Severity | str,
    needs_submission: bool = True,
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule under its RULES.md id; the docstring's first line is its title."""

    def decorate(func: RuleFunc) -> RuleFunc:
        doc = (func.__doc__ or rule_id).strip().splitlines()[0].strip()
        RULES.add(
            rule_id,
            RuleSpec(
                id=rule_id,
                code=Code(code),
                severity=Severity(severity),
                func=func,
                title=doc,
                needs_submission=needs_submission,
            ),
        )
        return func

    return decorate


def load_rules() -> Registry[RuleSpec]:
    """Import every module of ``validators`` once and return the filled registry."""
    load_package("validators")
    return RULES


def run_rules(ctx: RuleContext, only: Iterable[str] | None = None) -> list[Finding]:
    """Run every registered rule (or the ids in ``only``) and collect their findings.

    A rule that fails (a bug, a value no rule foresaw) does not stop the others: it
    gives a ``REVIEW-INCOMPLETE`` warning on ``submission`` naming the rule, and the
    pipeline reports the review as incomplete.
    """
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for spec in load_rules():
        if wanted is not None and spec.id not in wanted:
            continue
        try:
            findings.extend(spec.run(ctx))
        except Exception as exc:  # one rule's bug must not hide every other rule's findings
            log.exception("rule %s failed", spec.id)
            name = type(exc).__name__
            findings.append(
                incomplete_finding(
                    f"规则 {spec.id} 未能运行（{name}）", f"rule {spec.id} could not run ({name})"
                )
            )
    return findings


#: The rule id of the finding that says a review is incomplete (an internal failure).
INCOMPLETE_RULE = "REVIEW-INCOMPLETE"


def incomplete_finding(cause_zh: str, cause_en: str) -> Finding:
    """The ``not_found`` warning on ``submission`` that says the review is incomplete."""
    return Finding(
        rule=INCOMPLETE_RULE,
        title="审查未完成 / review incomplete",
        code=Code.not_found,
        severity=Severity.warning,
        field="submission",
        message=f"审查未完成：{cause_zh}，请人工审阅 / "
        f"review incomplete: {cause_en}; a person must review",
    )
