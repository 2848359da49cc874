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
    """Run every registered rule (or the ids in ``only``) and collect their findings."""
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for spec in load_rules():
        if wanted is not None and spec.id not in wanted:
            continue
        findings.extend(spec.run(ctx))
    return findings
