"""Workflow files are validated when loaded: each problem named, with the file it is in."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.agreements.values import AgreementSnapshot
from engine.context import Actor
from engine.models import HistoryEvent
from engine.schedule import change_webhook_events
from engine.schemas import EventInput
from engine.statuses import HistoryKind
from engine.workflow.event import EventContext
from engine.workflow.machine import CompiledWorkflow, catalog
from engine.workflow.rules import vocabulary
from workflows.definition import WorkflowSpec
from workflows.loader import WORKFLOW_DIR, WorkflowError, load_workflow, load_workflows

# The test workflows' words in each language, as a workflow file carries them.
WORDS = {"Handshake": ("Poignée de main", "Apretón de manos"), "Draft": ("Projet", "Borrador"),
         "Active": ("En vigueur", "Vigente"), "Closed": ("Clôturé", "Cerrado"), "Start": ("Commencer", "Comenzar"),
         "Close": ("Clôturer", "Cerrar"), "Archived": ("Archivé", "Archivado"), "Pause": ("Suspendre", "Pausar"),
         "Stuck": ("Bloqué", "Bloqueado"), "Stick": ("Bloquer", "Bloquear")}


def words(english: str) -> dict[str, str]:
    french, spanish = WORDS[english]
    return {"en": english, "fr": french, "es": spanish}


MINIMAL: dict[str, Any] = {
    "name": "handshake",
    "version": 1,
    "titles": words("Handshake"),
    "initial": "draft",
    "states": {"draft": {"labels": words("Draft"), "editable": True},
               "active": {"labels": words("Active")},
               "closed": {"labels": words("Closed"), "final": True}},
    "events": {"start": {"labels": words("Start"), "guards": ["effective_from_set"]},
               "close": {"labels": words("Close"), "guards": ["reason_given"], "confirm": True}},
    "transitions": [{"event": "start", "from": "draft", "to": "active"},
                    {"event": "close", "from": ["draft", "active"], "to": "closed"}],
}


def write(tmp_path: Path, spec: dict[str, Any] | str, name: str = "handshake.v1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path, vocabulary())
    message = str(caught.value)
    assert message.startswith(f"{path.name}: invalid workflow")
    assert caught.value.path == path
    assert caught.value.problems
    return message


def variant(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(MINIMAL)
    change(spec)
    return spec


def test_the_minimal_workflow_loads(tmp_path: Path) -> None:
    spec = load_workflow(write(tmp_path, MINIMAL), vocabulary())
    assert (spec.name, spec.version, spec.initial) == ("handshake", 1, "draft")
    assert spec.transitions[1].source == ("draft", "active")


def test_the_shipped_workflows_load() -> None:
    specs = load_workflows(WORKFLOW_DIR, vocabulary())
    assert set(specs) == {("collaboration_agreement", 1), ("collaboration_agreement", 2), ("city_to_city", 1)}
    # Version 2 has every state of version 1, so an administrator can move any agreement to it.
    assert set(specs[("collaboration_agreement", 2)].states) == set(specs[("collaboration_agreement", 1)].states)
    lifecycle = specs[("collaboration_agreement", 1)]
    assert {n for n, s in lifecycle.states.items() if s.final} == {
        "terminated", "expired", "cancelled", "superseded"}
    assert set(lifecycle.events) == {
        "submit_for_signature", "sign", "withdraw", "activate", "start_review",
        "complete_review", "continue", "renew", "suspend", "resume", "terminate", "expire",
        "cancel", "supersede"}


def _unknown_state(spec: dict[str, Any]) -> None:
    spec["transitions"].append({"event": "start", "from": "active", "to": "archived"})


def _unknown_source(spec: dict[str, Any]) -> None:
    spec["transitions"].append({"event": "close", "from": "limbo", "to": "closed"})


def _unknown_guard(spec: dict[str, Any]) -> None:
    spec["events"]["start"]["guards"].append("moon_is_full")


def _unknown_document(spec: dict[str, Any]) -> None:
    spec["events"]["start"]["guards"].append({"document": "napkin_sketch", "when": "moon_is_full"})


def _unknown_effect(spec: dict[str, Any]) -> None:
    spec["events"]["start"]["effects"] = ["send_flowers"]


def _unreachable(spec: dict[str, Any]) -> None:
    spec["states"]["archived"] = {"labels": words("Archived"), "final": True}


def _dead_end(spec: dict[str, Any]) -> None:
    spec["states"]["stuck"] = {"labels": words("Stuck")}
    spec["events"]["stick"] = {"labels": words("Stick")}
    spec["transitions"].append({"event": "stick", "from": "active", "to": "stuck"})


def _initial_unknown(spec: dict[str, Any]) -> None:
    spec["initial"] = "proposal"


def _no_final(spec: dict[str, Any]) -> None:
    spec["states"]["closed"]["final"] = False


def _leaves_final(spec: dict[str, Any]) -> None:
    spec["transitions"].append({"event": "start", "from": "closed", "to": "active"})


def _event_without_transition(spec: dict[str, Any]) -> None:
    spec["events"]["pause"] = {"labels": words("Pause")}


def _transition_of_unknown_event(spec: dict[str, Any]) -> None:
    spec["transitions"].append({"event": "pause", "from": "active", "to": "draft"})


def _unknown_condition(spec: dict[str, Any]) -> None:
    spec["transitions"][0]["when"] = "stars_align"


def _timer_not_for_scheduler(spec: dict[str, Any]) -> None:
    spec["timers"] = [{"event": "start", "states": ["draft"], "date": "effective_from"}]


def _final_without_confirm(spec: dict[str, Any]) -> None:
    del spec["events"]["close"]["confirm"]


def _scheduled_without_timer(spec: dict[str, Any]) -> None:
    spec["events"]["start"]["scheduled"] = True


def _reminder_unknown_recipient(spec: dict[str, Any]) -> None:
    spec["reminders"] = [{"name": "soon", "title": "Soon", "action": "Act.", "date": "ends_on",
                          "offsets": [-7], "states": ["active"], "recipients": ["the_mayor"]}]


@pytest.mark.parametrize(("change", "mentions"), [
    (_unknown_state, ["goes to unknown state 'archived'"]),
    (_unknown_source, ["comes from unknown state 'limbo'"]),
    (_unknown_guard, ["event 'start' names unknown guard 'moon_is_full'"]),
    (_unknown_document, ["event 'start' requires unknown document kind 'napkin_sketch' (known: amendment, evidence",
                         "document guard names unknown condition 'moon_is_full'"]),
    (_unknown_effect, ["unknown effect 'send_flowers'"]),
    (_unreachable, ["state 'archived' is unreachable from 'draft'"]),
    (_dead_end, ["state 'stuck' has no path to a final state"]),
    (_initial_unknown, ["initial state 'proposal' is not one of the states"]),
    (_no_final, ["no state is final"]),
    (_leaves_final, ["leaves final state 'closed'"]),
    (_event_without_transition, ["event 'pause' has no transition"]),
    (_transition_of_unknown_event, ["unknown event 'pause'"]),
    (_unknown_condition, ["unknown condition 'stars_align'"]),
    (_timer_not_for_scheduler, ["does not list 'scheduler'"]),
    (_final_without_confirm, ["event 'close' leads to final state 'closed' but does not ask first"]),
    (_scheduled_without_timer, ["event 'start' is scheduled but no timer fires it"]),
    (_reminder_unknown_recipient, ["unknown recipient 'the_mayor'"]),
], ids=lambda value: getattr(value, "__name__", "")[1:] or None)
def test_meaning_errors(tmp_path: Path, change: Any, mentions: list[str]) -> None:
    message = problems_of(write(tmp_path, variant(change)))
    for mention in mentions:
        assert mention in message, message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    def many(spec: dict[str, Any]) -> None:
        _unknown_guard(spec)
        _unknown_state(spec)
        _dead_end(spec)

    message = problems_of(write(tmp_path, variant(many)))
    for mention in ("moon_is_full", "'archived'", "'stuck' has no path"):
        assert mention in message


@pytest.mark.parametrize(("missing", "field"), [
    ("initial", "initial"), ("states", "states"), ("transitions", "transitions"),
    ("name", "name"), ("titles", "titles"),
])
def test_missing_fields(tmp_path: Path, missing: str, field: str) -> None:
    spec = copy.deepcopy(MINIMAL)
    del spec[missing]
    message = problems_of(write(tmp_path, spec))
    assert f"{field}: Field required" in message


def test_misspelt_field(tmp_path: Path) -> None:
    spec = copy.deepcopy(MINIMAL)
    spec["events"]["start"]["guard"] = spec["events"]["start"].pop("guards")
    message = problems_of(write(tmp_path, spec))
    assert "events.start.guard" in message


def test_yaml_on_is_a_boolean_trap(tmp_path: Path) -> None:
    """`on:` (or yes/no/off) as a key is a boolean in YAML 1.1; it must not slip through."""
    text = yaml.safe_dump(MINIMAL).replace("  active:\n", "  on:\n", 1)
    text = text.replace("to: active", "to: 'on'").replace("- active", "- 'on'")
    message = problems_of(write(tmp_path, text))
    assert "states: a key reads as the boolean true" in message
    assert "quote it" in message

    # A transition written with `on:` instead of `event:` is named, not silently dropped.
    spec = copy.deepcopy(MINIMAL)
    spec["transitions"][0] = {"on": "start", "from": "draft", "to": "active"}
    text = yaml.safe_dump(spec).replace("'on':", "on:")
    message = problems_of(write(tmp_path, text))
    assert "transitions.0: a key reads as the boolean true" in message

    # Quoted, `on` is an ordinary name.
    text = yaml.safe_dump(MINIMAL).replace("  active:\n", "  'on':\n", 1)
    text = text.replace("to: active", "to: 'on'").replace("- active", "- 'on'")
    spec_on = load_workflow(write(tmp_path, text), vocabulary())
    assert "on" in spec_on.states


def test_not_yaml_at_all(tmp_path: Path) -> None:
    message = problems_of(write(tmp_path, "states: [draft\n  - : :"))
    assert "not valid YAML" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    problems_of(write(tmp_path, "- just\n- a list\n"))


def test_file_name_must_match_name_and_version(tmp_path: Path) -> None:
    message = problems_of(write(tmp_path, MINIMAL, name="handshake.v2.yaml"))
    assert "file name should be handshake.v1.yaml" in message


def test_a_workflow_defined_twice_in_a_directory(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    write(tmp_path, MINIMAL, name="handshake.v1.copy.yaml")
    with pytest.raises(WorkflowError):
        load_workflows(tmp_path, vocabulary())


def test_the_published_json_schema_matches_the_loader() -> None:
    # Editors validate workflow files against workflows/workflow.schema.json; it must say what the loader accepts.
    import json

    from workflows.definition import WorkflowSpec
    from workflows.loader import WORKFLOW_DIR

    published = json.loads((WORKFLOW_DIR / "workflow.schema.json").read_text())
    published.pop("$schema")
    published.pop("$id")
    assert published == WorkflowSpec.model_json_schema(by_alias=True), (
        "workflows/workflow.schema.json is stale: regenerate it from WorkflowSpec.model_json_schema(by_alias=True)")
    import jsonschema
    import yaml

    schema = json.loads((WORKFLOW_DIR / "workflow.schema.json").read_text())
    for path in WORKFLOW_DIR.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


# --- state flags: what the engine knows of a state, it reads from the workflow ---------------

def _flagged(states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return variant(lambda spec: spec["states"].update(states))


@pytest.mark.parametrize(("states", "words"), [
    ({"draft": {"labels": words("Draft"), "signed": True}}, "initial state 'draft' is signed"),
    ({"active": {"labels": words("Active"), "signed": True}},  # close leads from active to closed
     "leads from signed state 'active' to 'closed', which is not signed"),
    ({"active": {"labels": words("Active"), "term_restarts": True}},
     "state 'active' has term_restarts but is not signed"),
    ({"closed": {"labels": words("Closed"), "final": True, "signed": True, "term_restarts": True}},
     "state 'closed' has term_restarts but is final"),
    ({"active": {"labels": words("Active"), "signs": True}}, "states.active.signs: Extra inputs are not permitted"),
])
def test_state_flags_that_contradict_the_workflow_are_refused(tmp_path: Path, states: dict[str, Any],
                                                              words: str) -> None:
    assert words in problems_of(write(tmp_path, _flagged(states)))


def test_consistent_state_flags_load(tmp_path: Path) -> None:
    spec = load_workflow(write(tmp_path, _flagged({
        "active": {"labels": words("Active"), "signed": True, "term_restarts": True},
        "closed": {"labels": words("Closed"), "final": True, "signed": True}})), vocabulary())
    assert [n for n, s in spec.states.items() if s.signed] == ["active", "closed"]


def _renamed() -> CompiledWorkflow:
    """The collaboration agreement with its signed state called `concluded` and its renewal
    state `extended`: the engine must not know the shipped names."""
    raw = yaml.safe_load((WORKFLOW_DIR / "collaboration_agreement.v1.yaml").read_text())
    names = {"signed": "concluded", "renewed": "extended"}

    def rename(states: Any) -> Any:
        return names.get(states, states) if isinstance(states, str) else [names.get(s, s) for s in states]

    raw["name"] = "renamed"
    raw["states"] = {names.get(name, name): state for name, state in raw["states"].items()}
    for transition in raw["transitions"]:
        transition["from"], transition["to"] = rename(transition["from"]), rename(transition["to"])
    for rule in raw["timers"] + raw["reminders"]:
        rule["states"] = rename(rule["states"])
    spec = WorkflowSpec.model_validate(raw)
    assert "signed" not in spec.states
    assert spec.states["concluded"].signed
    assert spec.states["extended"].term_restarts
    return CompiledWorkflow.build(spec)


def test_the_signing_is_entering_a_state_flagged_signed_whatever_its_name() -> None:
    workflow = _renamed()

    def webhooks(from_state: str, to_state: str) -> list[str]:
        change = HistoryEvent(agreement_id=1, version=2, actor="x", kind=HistoryKind.TRANSITION, event="sign",
                              from_state=from_state, to_state=to_state)
        return change_webhook_events(change, workflow)

    assert webhooks("pending_signature", "concluded") == ["agreement.state_changed", "agreement.signed"]
    assert webhooks("pending_signature", "pending_signature") == []
    assert webhooks("concluded", "active") == ["agreement.state_changed"]
    assert webhooks("extended", "active") == ["agreement.state_changed"]
    city = catalog().get("city_to_city", 1)
    assert change_webhook_events(HistoryEvent(agreement_id=1, version=2, actor="x", kind=HistoryKind.TRANSITION,
                                              event="sign", from_state="draft", to_state="signed"), city) == [
        "agreement.state_changed", "agreement.signed"]


@pytest.mark.parametrize(("state", "next_review"), [
    ("extended", date(2027, 11, 23)),  # term_restarts: a year into the new term
    ("concluded", date(2027, 3, 1)),  # the first term: the review already set stands
])
def test_a_term_restarts_from_a_state_flagged_so_whatever_its_name(state: str, next_review: date) -> None:
    workflow = _renamed()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    agreement = AgreementSnapshot(
        id=1, title="T", summary=None, background=None, workflow_name="renamed", workflow_version=1, state=state,
        version=5, effective_from=date(2019, 4, 6), ends_on=None, term_starts_on=now.date(), review_every_months=12,
        next_review_on=date(2027, 3, 1), notice_period_days=None, signing_place=None, signed_on=None,
        submitted_on=None, review_outcome=None, review_summary=None, predecessor_id=None, created_by_id=None,
        created_at=now, updated_at=now)
    ctx = EventContext(snapshot=agreement, event="activate", actor=Actor.scheduler(), data=EventInput(),
                       today=now.date(), now=now)
    assert workflow.unmet(ctx) == []
    assert workflow.step(state, ctx) == "active"
    assert ctx.agreement.next_review_on == next_review  # as the change leaves it
    assert agreement.next_review_on == date(2027, 3, 1)  # the snapshot itself is never changed


@pytest.mark.parametrize(("group", "name", "language", "said"), [
    ("states", "active", "fr", "state 'active' has no French label"),
    ("events", "close", "es", "event 'close' has no Spanish label"),
    ("states", "draft", "en", "state 'draft' has no English label"),
])
def test_a_label_missing_in_a_language_is_refused(tmp_path: Path, group: str, name: str, language: str,
                                                  said: str) -> None:
    # A file that names a state or event in only some of the languages never loads: no reader
    # would meet that state in a language they did not choose.
    spec = copy.deepcopy(MINIMAL)
    del spec[group][name]["labels"][language]
    message = problems_of(write(tmp_path, spec))
    assert f"{group}.{name}.labels.{language}: {said}" in message
    assert "handshake.v1.yaml" in message


def test_a_description_missing_in_a_language_is_refused(tmp_path: Path) -> None:
    spec = copy.deepcopy(MINIMAL)
    spec["descriptions"] = {"en": "Two cities shake hands.", "fr": "Deux villes se serrent la main."}
    message = problems_of(write(tmp_path, spec))
    assert "descriptions.es: the workflow has no Spanish description" in message
    # A file written before the workflow files spoke three languages says what to write instead.
    spec = copy.deepcopy(MINIMAL)
    spec["description"] = "Two cities shake hands."
    assert "write descriptions: {en: ..., fr: ..., es: ...} instead" in problems_of(write(tmp_path, spec))


def test_every_shipped_workflow_describes_itself_in_each_language_on_one_line() -> None:
    spec = catalog().get("city_to_city", 1).spec
    assert spec.description_in("fr").startswith("Coopération entre collectivités locales d’au moins deux pays")
    assert spec.description_in("en").startswith("Cooperation between local authorities of two or more countries")
    assert "\n" not in spec.description_in("es")


def test_every_shipped_workflow_names_its_states_and_events_in_each_language() -> None:
    spec = catalog().get("collaboration_agreement", 2).spec
    assert spec.label_of("active", "fr") == "En vigueur"
    assert spec.label_of("under_review", "es") == "En revisión"
    assert spec.label_of("submit_for_signature", "fr") == "Soumettre à la signature"
    assert spec.label_of("submit_for_signature", "en") == "Submit for signature"
    assert spec.events["submit_for_signature"].label == "Submit for signature"  # the engine's English
    assert spec.title_in("es") == "Acuerdo de colaboración"


def test_one_english_label_is_translated_alike_in_every_file(tmp_path: Path) -> None:
    # The pages find a label's French and Spanish by its English: two files may not disagree.
    write(tmp_path, MINIMAL)
    other = copy.deepcopy(MINIMAL)
    other["version"] = 2
    other["states"]["active"]["labels"] = {"en": "Active", "fr": "Actif", "es": "Activo"}
    write(tmp_path, other, name="handshake.v2.yaml")
    with pytest.raises(WorkflowError) as refused:
        load_workflows(tmp_path, vocabulary())
    assert "handshake.v2.yaml" in str(refused.value)
    assert "'Active' is translated" in str(refused.value)
    assert "translate it alike" in str(refused.value)
