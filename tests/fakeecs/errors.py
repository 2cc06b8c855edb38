"""The fake ECS's error answer (test code only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ApiError(Exception):
    """An API error answer: ``{"Code", "Message", "RequestId"}`` with an HTTP status."""

    code: str
    message: str
    status: int = 400
    extra: dict[str, Any] | None = None
