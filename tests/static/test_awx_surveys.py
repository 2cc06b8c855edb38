"""AWX / Automation Controller surveys agree with the playbooks and the role argument specs.

Every playbook has a survey (``extensions/awx/surveys/<playbook>.json``, AWX's survey_spec format)
and every survey question sets a variable the playbook reads. Where the playbook passes that
variable on (``tests/static/playbooks.py`` reads the bindings from the playbook YAML), the question
must fit the target: a role option's type, choices and default from ``meta/argument_specs.yml``,
or a play keyword such as ``serial``. So neither a survey, a playbook nor a role can drift alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.static.playbooks import PLAYBOOKS, Binding, argument_spec, bindings

REPO_ROOT = Path(__file__).resolve().parents[2]
SURVEYS_DIR = REPO_ROOT / "extensions" / "awx" / "surveys"
SURVEYS = sorted(p.stem for p in SURVEYS_DIR.glob("*.json"))

# AWX's question types and the Python type of their default (awx/api/views JobTemplateSurveySpec).
AWX_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
             "integer": int, "float": float}
# Which question types can feed a role option of each argument-spec type. AWX passes text answers
# as strings, integer and float as numbers, multiselect as a list of strings; the role's argument
# spec validation converts "true"/"false" for bool and a comma-separated string for list.
TYPES_FOR_OPTION = {
    "str": {"text", "textarea", "password", "multiplechoice"},
    "path": {"text", "textarea"},
    "raw": {"text", "textarea", "password", "multiplechoice", "integer", "float"},
    "int": {"integer"},
    "float": {"float", "integer"},
    "bool": {"multiplechoice"},
    "list": {"multiselect", "text", "textarea"},
    # Ansible's dict check converts "name=value, name=value" (or JSON) text into a mapping.
    "dict": {"text", "textarea"},
}
TYPES_FOR_KEYWORD = {
    "hosts": {"text"},
    "serial": {"integer", "text"},
    "max_fail_percentage": {"integer"},
    "throttle": {"integer"},
    "order": {"multiplechoice"},
    "any_errors_fatal": {"multiplechoice"},
}
KEYWORD_CHOICES = {"order": {"inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle"},
                   "any_errors_fatal": {"true", "false"}}
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def load_survey(name: str) -> dict[str, Any]:
    return json.loads((SURVEYS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def choices(question: dict[str, Any]) -> list[str]:
    value = question.get("choices") or []
    return [line for line in value.splitlines() if line.strip()] if isinstance(value, str) else list(value)


def survey_default(question: dict[str, Any]) -> Any:
    """The value a job gets when the operator keeps the default, as the playbook will see it."""
    default = question.get("default", "")
    if question["type"] == "multiselect":
        return [line for line in default.splitlines() if line.strip()] if isinstance(default, str) else list(default)
    return default


def as_option_value(value: Any, option: dict[str, Any]) -> Any:
    """A survey value converted the way the role's argument spec validation converts it."""
    if option.get("type") == "bool" and isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower(), value)
    if option.get("type") == "list" and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if option.get("type") == "dict" and value == "":
        return {}  # an empty answer of an optional question is not sent: the default applies
    return value


def surveyable(binding: Binding) -> bool:
    """Whether a survey must ask this binding (a mapping may be asked as name=value text, but need not be)."""
    if binding.keyword:
        return True
    option = argument_spec(binding.role)[binding.option]
    return (option.get("type", "str") in TYPES_FOR_OPTION and option.get("type") != "dict"
            and (option.get("type") != "list" or bool(option.get("choices"))))


QUESTIONS = [(name, question["variable"]) for name in SURVEYS for question in load_survey(name)["spec"]]


def question(survey: str, variable: str) -> dict[str, Any]:
    return next(q for q in load_survey(survey)["spec"] if q["variable"] == variable)


def test_every_playbook_has_a_survey_and_every_survey_a_playbook():
    assert SURVEYS == PLAYBOOKS, "add extensions/awx/surveys/<playbook>.json for each playbook (docs/awx.md)"


@pytest.mark.parametrize("name", SURVEYS)
def test_survey_is_what_awx_accepts(name):
    """The checks AWX's API makes when a survey spec is posted, plus a description for every question."""
    survey = load_survey(name)
    assert isinstance(survey.get("name"), str) and survey["name"]
    assert isinstance(survey.get("description"), str) and survey["description"]
    assert isinstance(survey.get("spec"), list) and survey["spec"], "'spec' doesn't contain any items"
    variables = [q.get("variable") for q in survey["spec"]]
    assert len(variables) == len(set(variables)), f"duplicated variables in {variables}"
    for item in survey["spec"]:
        where = f"{name}: {item.get('variable')}"
        for field in ("question_name", "question_description", "variable", "type"):
            assert isinstance(item.get(field), str) and item[field], f"{where}: '{field}' must be a non-empty string"
        assert isinstance(item.get("required"), bool), f"{where}: 'required' must be true or false"
        assert _VARIABLE.match(item["variable"]) and not item["variable"].startswith(("ansible_", "_")), where
        assert item["type"] in AWX_TYPES, f"{where}: type must be one of {sorted(AWX_TYPES)}"
        for key in ("min", "max"):
            assert item.get(key) is None or (isinstance(item[key], int) and not isinstance(item[key], bool)), \
                f"{where}: '{key}' must be an integer or null"
        default = item.get("default", "")
        if default != "":
            assert isinstance(default, AWX_TYPES[item["type"]]) and not isinstance(default, bool), \
                f"{where}: default {default!r} must be a {AWX_TYPES[item['type']].__name__} for a {item['type']} question"
        if item["type"] in ("multiplechoice", "multiselect"):
            assert choices(item), f"{where}: a {item['type']} question must list its choices"
            picked = survey_default(item) if item["type"] == "multiselect" else ([default] if default != "" else [])
            assert set(picked) <= set(choices(item)), f"{where}: default choice must be answered from the choices listed"
            assert item["type"] == "multiselect" or len(picked) <= 1
        if item["type"] in ("text", "textarea", "password") and default != "":
            assert (item.get("min") or 0) <= len(default) <= (item.get("max") or 1024), f"{where}: default length"


@pytest.mark.parametrize(("name", "variable"), QUESTIONS)
def test_question_fits_what_the_playbook_does_with_it(name, variable):
    item = question(name, variable)
    targets = bindings(name).get(variable)
    assert targets, (f"{name}.json asks for {variable}, which playbooks/{name}.yml does not read "
                     f"(it reads {sorted(bindings(name))})")
    answer = survey_default(item)
    has_default = item.get("default", "") not in ("", [])
    for binding in targets:
        where = f"{name}.json {variable} -> {binding.target}"
        if binding.keyword:
            assert item["type"] in TYPES_FOR_KEYWORD[binding.keyword], f"{where}: {item['type']} question"
            if binding.keyword in KEYWORD_CHOICES:
                assert set(choices(item)) <= KEYWORD_CHOICES[binding.keyword], where
            if binding.has_default:
                assert has_default and answer == binding.default, f"{where}: default {answer!r} != playbook's {binding.default!r}"
            continue
        option = argument_spec(binding.role)[binding.option]
        option_type = option.get("type", "str")
        assert item["type"] in TYPES_FOR_OPTION.get(option_type, set()), \
            f"{where}: a {item['type']} question cannot feed an option of type {option_type}"
        if option_type == "list":
            assert option.get("elements", "str") == "str", f"{where}: survey answers are strings"
        if option.get("choices"):
            assert item["type"] in ("multiplechoice", "multiselect"), f"{where}: the option has choices; ask them"
            assert sorted(choices(item)) == sorted(map(str, option["choices"])), \
                f"{where}: choices {choices(item)} != argument spec {option['choices']}"
        elif option_type == "bool":
            assert sorted(choices(item)) == ["false", "true"], where
        if has_default:
            value = as_option_value(answer, option)
            if binding.has_default:
                assert value == binding.default, f"{where}: default {value!r} != playbook's {binding.default!r}"
            if "default" in option:
                assert value == option["default"], f"{where}: default {value!r} != argument spec's {option['default']!r}"
        if option.get("required") and not binding.has_default:
            assert item["required"], f"{where}: the option is required and the playbook has no default"


@pytest.mark.parametrize("name", SURVEYS)
def test_survey_asks_every_variable_a_survey_can_set(name):
    asked = {q["variable"] for q in load_survey(name)["spec"]}
    missing = sorted(variable for variable, targets in bindings(name).items()
                     if variable not in asked and all(surveyable(binding) for binding in targets))
    assert not missing, f"playbooks/{name}.yml reads {missing}; ask them in extensions/awx/surveys/{name}.json"
