"""What the collection's playbooks read and where it goes (test code only).

A playbook is composition only: it binds its own variables (what ``-e`` or an AWX survey sets)
to role options or play keywords, with a default, as in

    hosts: "{{ virtio_hosts | default('all') }}"
    vars:
      virtio_audit_report_dir: "{{ virtio_report_dir | default('reports') }}"

This module reads those bindings from the playbook YAML (Jinja parsed with Jinja's own parser),
so surveys, docs and tests are checked against the playbooks themselves rather than against a
mapping kept by hand. Expressions other than ``{{ var }}`` and ``{{ var | default(literal) }}``
(also as the else branch of a conditional) are reported as computed, and a survey cannot set them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.nodes
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS_DIR = REPO_ROOT / "playbooks"
ROLES_DIR = REPO_ROOT / "roles"
COLLECTION = "winfleet.updates"
PLAYBOOKS = sorted(p.stem for p in PLAYBOOKS_DIR.glob("*.yml"))
ROLES = sorted(p.parent.parent.name for p in ROLES_DIR.glob("*/meta/argument_specs.yml"))
# Play keywords a playbook may let its caller set (the rest are fixed by the playbook).
PLAY_KEYWORDS = ("hosts", "serial", "max_fail_percentage", "order", "throttle", "any_errors_fatal")
_INCLUDE_ROLE = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.", "ansible.legacy.") for name in ("include_role", "import_role")}
_MISSING = object()


@dataclass(frozen=True)
class Binding:
    """One place a playbook variable goes: a role option (``role``, ``option``) or a play keyword."""

    playbook: str
    variable: str
    role: str | None = None       # short role name (roles/<role>)
    option: str | None = None     # role option the variable feeds
    keyword: str | None = None    # play keyword the variable feeds
    default: Any = _MISSING       # the literal of ``| default(...)``; _MISSING when there is none

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    @property
    def target(self) -> str:
        return f"play keyword {self.keyword}" if self.keyword else f"role option {self.role}.{self.option}"


# Lookups that check a play keyword's value and return it unchanged (plugins/lookup/): the value
# is their first term.
_CHECKING_LOOKUPS = {f"{COLLECTION}.hosts_matched", f"{COLLECTION}.batch_sizes"}


def _checked_value(node: jinja2.nodes.Node) -> jinja2.nodes.Node:
    """The value inside ``query/lookup('winfleet.updates.<checking lookup>', value, ...)``, else ``node``."""
    if (isinstance(node, jinja2.nodes.Call) and isinstance(node.node, jinja2.nodes.Name)
            and node.node.name in ("query", "q", "lookup") and len(node.args) >= 2
            and isinstance(node.args[0], jinja2.nodes.Const) and node.args[0].value in _CHECKING_LOOKUPS):
        return node.args[1]
    return node


def parse_expression(text: Any) -> tuple[str, Any] | None:
    """``(variable, default)`` of ``{{ var }}`` / ``{{ var | default(literal) }}``; None for anything else."""
    if not isinstance(text, str) or "{{" not in text:
        return None
    try:
        template = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    if len(template.body) != 1 or not isinstance(template.body[0], jinja2.nodes.Output):
        return None
    nodes = template.body[0].nodes
    if len(nodes) != 1:
        return None
    node = _checked_value(nodes[0])
    # ``{{ plan.hosts if plan.waves else var | default(literal) }}``: a play keyword that another
    # option (virtio_waves) may replace; the variable and its default are the else branch's.
    if isinstance(node, jinja2.nodes.CondExpr) and node.expr2 is not None:
        node = _checked_value(node.expr2)
    if isinstance(node, jinja2.nodes.Name):
        return node.name, _MISSING
    if (isinstance(node, jinja2.nodes.Filter) and node.name in ("default", "d") and isinstance(node.node, jinja2.nodes.Name)
            and len(node.args) == 1 and not node.kwargs):
        try:
            return node.node.name, node.args[0].as_const()
        except jinja2.nodes.Impossible:
            return None
    return None


def _role_name(name: Any) -> str | None:
    """Short name of one of this collection's roles, or None."""
    if isinstance(name, str) and name.startswith(f"{COLLECTION}."):
        return name.rsplit(".", 1)[-1]
    return None


def _tasks(items: Any) -> list[dict[str, Any]]:
    """Every task of a task list, descending into block / rescue / always."""
    found = []
    for task in items or []:
        if not isinstance(task, dict):
            continue
        found.append(task)
        for key in ("block", "rescue", "always"):
            found.extend(_tasks(task.get(key)))
    return found


def role_uses(play: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(role, vars)`` for every role of this collection a play runs (roles: or include/import_role)."""
    uses = []
    for entry in play.get("roles") or []:
        if isinstance(entry, str):
            entry = {"role": entry}
        role = _role_name(entry.get("role") or entry.get("name"))
        if role:
            uses.append((role, dict(entry.get("vars") or {})))
    for task in _tasks((play.get("pre_tasks") or []) + (play.get("tasks") or []) + (play.get("post_tasks") or [])):
        module = next((key for key in task if key in _INCLUDE_ROLE), None)
        if module is None:
            continue
        args = task[module] if isinstance(task[module], dict) else {}
        role = _role_name(args.get("name"))
        if role:
            uses.append((role, dict(task.get("vars") or {})))
    return uses


@lru_cache(maxsize=None)
def load_playbook(name: str) -> list[dict[str, Any]]:
    plays = yaml.safe_load((PLAYBOOKS_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    return [play for play in plays if isinstance(play, dict) and "import_playbook" not in play
            and "ansible.builtin.import_playbook" not in play]


def bindings(name: str) -> dict[str, list[Binding]]:
    """Playbook variable -> where it goes, for every simple binding of every play of the playbook."""
    found: dict[str, list[Binding]] = {}
    for play in load_playbook(name):
        for keyword in PLAY_KEYWORDS:
            parsed = parse_expression(play.get(keyword))
            if parsed:
                found.setdefault(parsed[0], []).append(Binding(name, parsed[0], keyword=keyword, default=parsed[1]))
        for role, role_vars in role_uses(play):
            for option, value in role_vars.items():
                parsed = parse_expression(value)
                if parsed:
                    found.setdefault(parsed[0], []).append(
                        Binding(name, parsed[0], role=role, option=option, default=parsed[1]))
    return found


def computed_role_vars(name: str) -> list[tuple[str, str, Any]]:
    """``(role, option, expression)`` of role vars a playbook computes (neither literal nor a simple binding)."""
    computed = []
    for play in load_playbook(name):
        for role, role_vars in role_uses(play):
            computed.extend((role, option, value) for option, value in role_vars.items()
                            if isinstance(value, str) and "{{" in value and parse_expression(value) is None)
    return computed


def roles_of(name: str) -> list[str]:
    """The collection's roles a playbook runs, in order, each once."""
    roles: list[str] = []
    for play in load_playbook(name):
        roles.extend(role for role, _vars in role_uses(play) if role not in roles)
    return roles


@lru_cache(maxsize=None)
def argument_spec(role: str) -> dict[str, dict[str, Any]]:
    """Options of a role's ``main`` entry point (roles/<role>/meta/argument_specs.yml)."""
    specs = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return specs["argument_specs"]["main"].get("options") or {}


def role_tasks(role: str) -> list[dict[str, Any]]:
    """Every task in every file of roles/<role>/tasks/."""
    tasks = []
    for path in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
        tasks.extend(_tasks(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return tasks
