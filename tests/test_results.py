"""results.json's contract (advisor.results): the published JSON Schema is current, stored example runs and a
fresh tiny run meet it, and compare writes exactly the text it checked."""
from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from advisor import results as contract
from advisor.results import Results
from advisor.runs import write_results
from conftest import write_task
from report_fixture import make_results

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "results.schema.json"
EXAMPLES = sorted(ROOT.glob("examples/*/measured/results.json"))
OPEN_PARTS = (contract.DevRow, contract.Artifacts)  # a lever's own settings and files: open by design


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def undocumented(node: object, at: str = "") -> list[str]:
    """Keys of a validated Results that no model declares (outside the open parts), as dotted paths."""
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in undocumented(item, f"{at}[{i}]")]
    if not isinstance(node, contract.Part):
        return []
    found = [f"{at}.{k}".lstrip(".") for k in (node.model_extra or {})] if not isinstance(node, OPEN_PARTS) else []
    for name in type(node).model_fields:
        found += undocumented(getattr(node, name), f"{at}.{name}")
    return found


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == contract.schema_text(), (
        "docs/results.schema.json is stale: run `python -m advisor.results > docs/results.schema.json`")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.parent.name for p in EXAMPLES])
def test_stored_example_runs_meet_the_contract(path: Path) -> None:
    results = json.loads(path.read_text(encoding="utf-8"))
    validator().validate(results)
    model = Results.model_validate(results)
    assert model.missing_when_ok() is None


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 4


def test_schema_and_models_refuse_the_same_mistakes() -> None:
    schema = validator()
    good = make_results()
    schema.validate(good)
    Results.model_validate(good)
    for field, value in (("mean", True), ("mean", "0.7")):  # a bool or a string is not a number
        bad = make_results()
        bad["levers"][0]["score"][field] = value
        assert not schema.is_valid(bad)
        with pytest.raises(ValueError):
            Results.model_validate(bad)
    bad = make_results()
    del bad["levers"][0]["score"]  # a lever that ran has a score: schema if/then, models missing_when_ok
    assert not schema.is_valid(bad)
    assert Results.model_validate(bad).missing_when_ok() == ("levers[0].score", "score")
    skipped = make_results()
    assert skipped["levers"][3]["status"] == "skipped" and "score" not in skipped["levers"][3]
    schema.validate(skipped)


def test_write_results_writes_what_write_json_would_and_refuses_a_broken_record(tmp_path: Path) -> None:
    from advisor.runs import write_json

    results = make_results()
    results["comparisons"][0]["p_value"] = math.nan  # json writes NaN; the contract takes it as a number
    write_json(tmp_path / "a.json", results)
    write_results(tmp_path / "b.json", results)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    del results["recommendation"]
    with pytest.raises(AssertionError, match=r"a bug in advise\): recommendation: missing"):
        write_results(tmp_path / "c.json", results)
    assert not (tmp_path / "c.json").exists()


def test_the_report_fixture_has_no_undocumented_fields() -> None:
    assert undocumented(Results.model_validate(make_results())) == []


def test_a_fresh_tiny_run_meets_the_contract(tmp_path: Path, tiny_model: Path) -> None:
    """compare validates before writing; the file it wrote meets the published schema, with no field the models
    do not declare (a new field is added to advisor.results, the schema file regenerated)."""
    from advisor.compare import compare

    task = write_task(tmp_path / "task", str(tiny_model), n_train=16, n_eval=4)
    compare(task, tmp_path / "run", levers=["prompt", "retrieval", "finetune"])
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    validator().validate(results)
    model = Results.model_validate(results)
    assert model.missing_when_ok() is None
    assert undocumented(model) == []
    assert [lev.status for lev in model.levers] == ["ok", "ok", "ok"]
