"""The ``playbooks`` section of the methodology file: sales processes, stage tasks, the bid
checklist; validated on load with one-line errors naming the file, key path and fix."""

from __future__ import annotations

import copy
import re
from importlib import resources

import pandas as pd
import pytest
import yaml

from kamlib.errors import ConfigError
from kamlib.methodology import load_methodology, parse_methodology
from kamlib.methodology.labels import vocabulary


@pytest.fixture(scope="module")
def default_raw() -> dict:
    text = resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    return yaml.safe_load(text)


@pytest.fixture
def raw(default_raw) -> dict:
    return copy.deepcopy(default_raw)


def _refused(raw: dict, match: str) -> str:
    with pytest.raises(ConfigError, match=match) as info:
        parse_methodology(raw, source="m.yml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("m.yml")
    return message


def test_the_default_playbooks_of_a_manufacturer():
    pb = load_methodology().require_playbooks()
    assert pb.processes == ("tender", "framework", "direct")
    assert pb.bid_stage == "quote" and pb.bid_processes == ("tender",)
    assert {"qualification_call", "site_survey", "trial_sample", "bid_technical",
            "bid_commercial", "executive_visit", "reference_visit",
            "presales_engineer", "negotiation_approval"} <= pb.task_codes  # fmt: skip
    frame = pb.tasks_frame()
    assert list(frame.columns) == ["sales_process", "stage", "task", "kind", "required",
                                   "expected_days", "label_en", "label_zh"]  # fmt: skip
    assert frame["required"].dtype == bool and frame["expected_days"].dtype == "float64"
    assert set(frame["kind"]) == {"task", "resource"}
    assert not frame.loc[frame["kind"] == "resource", "required"].any()  # resources: recommended
    tender_quote = frame[(frame["sales_process"] == "tender") & (frame["stage"] == "quote")]
    assert set(tender_quote.loc[tender_quote["required"], "task"]) == {
        "prequalification", "bid_technical", "bid_commercial"
    }  # fmt: skip
    assert (tender_quote["expected_days"] == 30).all()
    stages = {s.key for s in load_methodology().open_stages}
    assert set(frame["stage"]) <= stages
    # every stage of every process has its expected days
    assert pb.stages_frame()["expected_days"].notna().all()
    site = frame[frame["task"] == "site_survey"].iloc[0]
    assert (site["label_en"], site["label_zh"]) == ("Site survey", "现场勘察")


def test_the_checklist_is_weighted_and_normalised():
    checklist = load_methodology().require_playbooks().checklist_frame()
    assert list(checklist.columns) == [
        "item",
        "weight",
        "task",
        "condition",
        "label_en",
        "label_zh",
    ]
    assert checklist["weight"].sum() == pytest.approx(1.0)
    assert (checklist["weight"] > 0).all()
    # each item is proven by a task or by a condition, never both
    assert (checklist["task"].isna() != checklist["condition"].isna()).all()
    assert set(checklist["condition"].dropna()) == {
        "economic_buyer_supportive", "technical_buyer_not_opposed"
    }  # fmt: skip
    assert set(checklist["item"]) >= {"qualification_answered", "technical_bid_done",
                                      "commercial_bid_done", "references_given"}  # fmt: skip


def test_every_default_code_has_both_labels_in_the_vocabulary():
    pb = load_methodology().require_playbooks()
    labels = vocabulary().labels
    keys = [*pb.task_codes, *pb.processes, *(c.item for c in pb.checklist)]
    missing = [k for k in keys if k not in labels]
    assert not missing
    assert all(labels[k][0].strip() and labels[k][1].strip() for k in keys)


def test_codes_and_processes_are_matched_by_key_label_or_alias():
    pb = load_methodology().require_playbooks()
    tasks, processes = pb.task_lookup(), pb.process_lookup()
    assert tasks["site survey"] == "site_survey"  # the code, spaced
    assert tasks["现场勘察"] == "site_survey"  # the zh label
    assert tasks["样机测试"] == "trial_sample"  # an alias
    assert processes["招投标"] == "tender" and processes["框架协议"] == "framework"
    assert processes["direct purchase"] == "direct"


def test_a_label_in_the_file_wins_and_an_unknown_code_reads_as_text(raw):
    raw["playbooks"]["tasks"]["site_survey"]["label"] = {"en": "Plant walk", "zh": "工厂巡查"}
    raw["playbooks"]["tasks"]["line_audit"] = {"kind": "task"}
    raw["playbooks"]["processes"]["direct"]["stages"]["solution"]["recommended"].append(
        "line_audit"
    )
    pb = parse_methodology(raw, source="m.yml").require_playbooks()
    assert pb.task("site_survey").label("zh") == "工厂巡查"
    assert pb.task("line_audit").label_en == "Line audit"
    assert "line_audit" in pb.task_codes


def test_weights_are_relative(raw):
    for item, points in zip(
        raw["playbooks"]["bid_readiness"]["checklist"], [15, 20, 20, 15, 20, 10], strict=True
    ):
        item["weight"] = points
    checklist = parse_methodology(raw, source="m.yml").require_playbooks().checklist_frame()
    assert checklist["weight"].tolist() == pytest.approx([0.15, 0.2, 0.2, 0.15, 0.2, 0.1])


def test_unknown_keys_are_refused_inside_the_section(raw):
    raw["playbooks"]["processes"]["tender"]["stages"]["lead"]["requird"] = ["qualification_call"]
    _refused(
        raw,
        r"unknown key 'requird' at playbooks\.processes\.tender\.stages\.lead\.requird\. Did you mean 'required'",
    )
    raw["playbooks"]["processes"]["tender"]["stages"]["lead"].pop("requird")
    raw["playbooks"]["bid_readiness"]["checklist"][0]["wieght"] = 1
    _refused(raw, r"at playbooks\.bid_readiness\.checklist\[0\]\.wieght\. Did you mean 'weight'")


def test_a_playbook_stage_must_be_an_open_stage(raw):
    stages = raw["playbooks"]["processes"]["direct"]["stages"]
    stages["qoute"] = stages.pop("quote")
    message = _refused(raw, r"playbooks\.processes\.direct\.stages\.qoute: Unknown stage 'qoute'")
    assert "Did you mean 'quote'?" in message and "Valid open stages: lead, qualified" in message
    stages["quote"] = stages.pop("qoute")
    stages["won"] = {"required": ["negotiation_approval"]}
    _refused(raw, r"stages\.won: Unknown stage 'won'")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda pb: pb["processes"]["tender"]["stages"]["lead"].update(required=["qualificaton_call"]),
         r"playbooks\.processes\.tender\.stages\.lead\.required: Unknown task code 'qualificaton_call'\. Did you mean 'qualification_call'\?.*Add it to playbooks\.tasks"),
        (lambda pb: pb["processes"]["tender"]["stages"]["lead"].update(required="qualification_call"),
         r"stages\.lead\.required: must be a list of names"),
        (lambda pb: pb["processes"]["tender"]["stages"]["qualified"].update(recommended=["needs_analysis"]),
         r"stages\.qualified: 'needs_analysis' is already listed at m\.yml playbooks\.processes\.tender\.stages\.qualified"),
        (lambda pb: pb["processes"]["tender"]["stages"]["negotiation"].update(required=["site_survey"]),
         r"stages\.negotiation: 'site_survey' is already listed at .*requirement_confirmed"),
        (lambda pb: pb["processes"]["tender"]["stages"]["lead"].update(expected_days=-3),
         r"stages\.lead\.expected_days: must be a number of days above 0"),
        (lambda pb: pb["processes"]["tender"]["stages"]["lead"].update(expected_days="soon"),
         r"stages\.lead\.expected_days: expected a number\. Got 'soon'"),
        (lambda pb: pb["tasks"]["trial_sample"].update(kind="gadget"),
         r"playbooks\.tasks\.trial_sample\.kind: Unknown kind 'gadget'.*Valid: task, resource"),
        (lambda pb: pb["tasks"]["trial_sample"].update(aliases=["site visit"]),
         r"playbooks\.tasks\.trial_sample\.aliases: 'site visit' also names 'site_survey'"),
        (lambda pb: pb["processes"]["direct"].update(aliases=["招标"]),
         r"processes\.direct\.aliases: '招标' also names the sales process 'tender'"),
        (lambda pb: pb["tasks"].update({"site survey 2": {}}),
         r"playbooks\.tasks\.site survey 2: a task code's name 'site survey 2' must be letters"),
        (lambda pb: pb["bid_readiness"].update(stage="bid"),
         r"playbooks\.bid_readiness\.stage: Unknown stage 'bid'"),
        (lambda pb: pb["bid_readiness"].update(processes=["tendr"]),
         r"bid_readiness\.processes: Unknown sales process 'tendr'\. Did you mean 'tender'"),
        (lambda pb: pb["bid_readiness"]["checklist"][0].update(weight=0),
         r"checklist\[0\]\.weight: must be a positive number"),
        (lambda pb: pb["bid_readiness"]["checklist"][1].update(weight=-0.2),
         r"checklist\[1\]\.weight: must be a positive number"),
        (lambda pb: pb["bid_readiness"]["checklist"][2].update(condition="economic_buyer_supportive"),
         r"checklist\[2\]: give exactly one of 'task'"),
        (lambda pb: pb["bid_readiness"]["checklist"][4].update(condition="buyer_happy"),
         r"checklist\[4\]\.condition: Unknown condition 'buyer_happy'"),
        (lambda pb: pb["bid_readiness"]["checklist"][3].update(task="references"),
         r"checklist\[3\]\.task: Unknown task code 'references'"),
        (lambda pb: pb["bid_readiness"]["checklist"].append({"item": "technical_bid_done", "weight": 1, "task": "bid_technical"}),
         r"checklist\[6\]\.item: 'technical_bid_done' is listed twice"),
        (lambda pb: pb.pop("tasks"), r"playbooks: 'tasks' is missing\. Copy the playbooks section"),
        (lambda pb: pb.update(processes=[]), r"playbooks\.processes: must be a mapping"),
    ],
)  # fmt: skip
def test_bad_playbooks_are_one_line_naming_the_key_and_the_fix(raw, change, message):
    change(raw["playbooks"])
    _refused(raw, message)


def test_a_file_without_playbooks_loads_but_has_none(raw):
    raw.pop("playbooks")
    meth = parse_methodology(raw, source="m.yml")
    assert meth.playbooks is None
    with pytest.raises(
        ConfigError,
        match=r"m\.yml: the methodology file has no 'playbooks' section.*extends: default",
    ):
        meth.require_playbooks()


def test_a_file_that_replaces_the_stages_does_not_inherit_playbooks_for_other_stages(tmp_path):
    own = tmp_path / "crm.yml"
    own.write_text(
        "extends: default\nstages:\n  open:\n    - {key: prospecting}\n    - {key: engaging}\n"
        "  won: {key: won}\n  lost: {key: lost}\n",
        encoding="utf-8",
    )
    assert load_methodology(own).playbooks is None  # loads; no playbooks for stages it lacks
    same = tmp_path / "aliases.yml"
    stages = load_methodology().stages
    lines = ["extends: default", "stages:", "  open:"]
    lines += [f"    - {{key: {s.key}, aliases: [{s.key}x]}}" for s in stages if s.status == "open"]
    lines += ["  won: {key: won}", "  lost: {key: lost}"]
    same.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kept = load_methodology(same).playbooks  # same stages: kept
    assert kept is not None and kept.tasks == load_methodology().playbooks.tasks


def test_shipped_files_carry_the_default_playbooks():
    for path in (
        "data/methodology.yml",
        "data/methodology-online-retail.yml",
        "data/methodology-maven-crm.yml",
    ):
        assert load_methodology(path).require_playbooks().processes == (
            "tender",
            "framework",
            "direct",
        )


def test_frames_are_empty_but_typed_for_a_process_without_tasks(raw):
    raw["playbooks"]["processes"] = {"spot": {"stages": {"lead": {"expected_days": 5}}}}
    raw["playbooks"]["bid_readiness"].pop("processes")
    pb = parse_methodology(raw, source="m.yml").require_playbooks()
    assert pb.bid_processes == ("spot",)  # all processes when the file does not restrict it
    frame = pb.tasks_frame()
    assert frame.empty and frame["required"].dtype == bool
    assert pb.stages_frame()["expected_days"].tolist() == [5.0]
    with pytest.raises(ConfigError, match=re.escape("Unknown sales process 'tender'")):
        pb.process("tender")
    assert isinstance(pb.checklist_frame(), pd.DataFrame)


def test_a_label_that_is_another_codes_alias_is_refused(raw):
    """An export's 'Site visit' must mean one code: the look-up reads labels as spellings
    too, so a label may not be another code's alias."""
    tasks = raw["playbooks"]["tasks"]
    tasks["site_survey"]["label"] = {"en": "Site visit", "zh": "现场勘察"}
    tasks["reference_visit"]["aliases"] = [
        *tasks["reference_visit"].get("aliases", []),
        "site visit",
    ]
    message = _refused(raw, "also names 'site_survey'")
    assert "reference_visit" in message
