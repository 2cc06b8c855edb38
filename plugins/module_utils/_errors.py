# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input errors shared by the collection's pure helpers (for internal collection use only).

Every helper that validates user input raises :class:`InputError`, so action plugins can turn
any of them into one ``failed`` result whose message names the field and says what would be
valid, instead of letting a traceback reach the operator.
"""


class InputError(ValueError):
    """A value supplied by the user (or read from a host) is not acceptable.

    ``field`` is the dotted option path the user would recognise (``cau_plugins[1].arguments``,
    ``drivers.viostor.sys.file_version``); ``message`` says what is wrong and what is valid.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# What a user calls each kind of value they wrote in YAML. ansible-core 2.19 hands actions tagged
# subclasses of the builtins (a string arrives as ``_AnsibleTaggedStr``), so ``type(value).__name__``
# would name Ansible's internal class in a message meant for the user. bool before int: a bool is an int.
_KIND_NAMES = ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (bytes, "bytes"),
               (dict, "mapping"), (list, "list"), (tuple, "list"), (set, "set"))


def kind_of(value: object) -> str:
    """The user's word for ``value``'s type (``string``, ``mapping``, ``list``...), for error messages."""
    if value is None:
        return "null"
    for kind, name in _KIND_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__
