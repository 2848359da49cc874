"""The committed JSON Schemas in schemas/ are the models' own (regenerate: `docpipe schema`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docpipe.cli import app
from docpipe.models import json_schemas

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@pytest.mark.parametrize("name", sorted(json_schemas()), ids=str)
def test_committed_schema_is_current(name: str) -> None:
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing: run `docpipe schema` and commit schemas/"
    committed = json.loads(path.read_text("utf-8"))
    assert committed == json_schemas()[name], (
        f"{path} is stale: the models changed; run `docpipe schema` and commit schemas/"
    )


def test_schema_command_writes_every_schema(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = CliRunner().invoke(app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = json_schemas()
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    for name, schema in expected.items():
        assert json.loads((out / name).read_text("utf-8")) == schema
        assert str(out / name) in result.stdout


def test_report_schema_names_the_contract_fields() -> None:
    props = json_schemas()["report.schema.json"]["properties"]
    assert {"schema_version", "submission_id", "verdict", "documents", "findings"} <= set(props)
