"""Validate module arguments against a ``$spec`` the way ``Ansible.Basic`` does on a Windows host (test code only).

The lab must refuse what the real module would refuse, or a contract drift between an action
plugin and its host module (a value outside ``choices``, a string where an int is expected) stays
hidden until a real host sees it. This follows the option handling of the ``AnsibleModule`` class
in ``Ansible.Basic.cs`` (https://github.com/ansible/ansible/blob/devel/lib/ansible/module_utils/csharp/Ansible.Basic.cs,
documented at https://docs.ansible.com/ansible/latest/dev_guide/developing_modules_general_windows.html#windows-new-module-development):
unknown options, then required ones, then each value converted to its ``type`` (and list
``elements``), then ``choices``. Suboptions are not modelled (no module of this lab declares any).
"""

from __future__ import annotations

import json
from typing import Any, Callable

_TRUE = {"yes", "on", "1", "true", "y", "t"}
_FALSE = {"no", "off", "0", "false", "n", "f"}


class ConversionError(ValueError):
    pass


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConversionError(f"The value '{value}' is not a valid boolean")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ConversionError(f"The value '{value}' is a boolean, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ConversionError(f"Could not convert '{value}' to an integer")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ConversionError(f"The value '{value}' is a boolean, not a float")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConversionError(f"Could not convert '{value}' to a float") from None


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")] if value else []
    return [value]


def _dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
        if "=" in value:
            return dict(item.split("=", 1) for item in value.split() if "=" in item)
    raise ConversionError(f"dictionary requested, could not parse JSON or key=value: {value!r}")


def _str(value: Any) -> Any:
    # Ansible.Basic's ParseStr calls ToString() on whatever arrives: it never refuses a value.
    if isinstance(value, bool):
        return "True" if value else "False"
    return value if isinstance(value, (str, list, dict)) or value is None else str(value)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "bool": _bool, "int": _int, "float": _float, "list": _list, "dict": _dict, "str": _str, "path": _str,
    "raw": lambda value: value, "json": lambda value: value if isinstance(value, str) else json.dumps(value),
}


def _python_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(type(value), "object")


def validate(fqcn: str, spec: dict[str, Any], args: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """``(error message or None, args converted as the module's Params would hold them)``."""
    options = spec.get("options", {})
    aliases = {alias: name for name, option in options.items() for alias in (option.get("aliases") or [])}
    unsupported = sorted(set(args) - set(options) - set(aliases))
    if unsupported:
        return (f"Unsupported parameters for ({fqcn}) module: {', '.join(unsupported)}. "
                f"Supported parameters include: {', '.join(sorted(options))}"), args
    params = {aliases.get(key, key): value for key, value in args.items()}
    missing = sorted(name for name, option in options.items() if option.get("required") and params.get(name) is None)
    if missing:
        return f"missing required arguments: {', '.join(missing)}", args
    converted = dict(params)
    for name, value in params.items():
        option = options[name]
        if value is None:
            continue
        wanted = option.get("type", "str")
        converter = CONVERTERS.get(wanted)
        if converter is None:  # sid, or a type written as an expression: accepted as sent
            continue
        try:
            value = converter(value)
        except ConversionError as err:
            return (f"argument for {name} is of type {_python_type(params[name])} and we were unable to convert "
                    f"to {wanted}: {err}"), args
        if wanted == "list" and option.get("elements") in CONVERTERS:
            element_converter = CONVERTERS[option["elements"]]
            elements = []
            for item in value:
                try:
                    elements.append(element_converter(item))
                except ConversionError as err:
                    return (f"elements value for option {name} is of type {_python_type(item)} and we were "
                            f"unable to convert to {option['elements']}: {err}"), args
            value = elements
        choices = option.get("choices")
        if isinstance(choices, list) and choices:
            values = value if wanted == "list" else [value]
            invalid = [str(item) for item in values if item not in choices]
            if invalid:
                return (f"value of {name} must be one of: {', '.join(map(str, choices))}. Got no match for: "
                        f"{', '.join(invalid)}"), args
        converted[name] = value
    return None, converted
