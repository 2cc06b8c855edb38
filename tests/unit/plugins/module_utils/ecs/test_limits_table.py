"""Every limit in the table is stated, in the words quoted, by the pinned SDK's request model."""

from __future__ import annotations

import re
from pathlib import Path

import alibabacloud_ecs20140526.models as sdk_models
import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_limits import LIMITS

MODELS = Path(sdk_models.__file__).parent
SDK_QUOTED = {
    name: item for name, item in LIMITS.items() if re.match(r"^\w+Request(\w*)?\.\w+(/\w+)?: '", item.source)
}


def model_file(request_class: str) -> Path:
    """``CreateSnapshotGroupRequest`` -> ``_create_snapshot_group_request.py``."""
    base = re.sub(r"Request\w*$", "Request", request_class)
    return MODELS / ("_" + re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower() + ".py")


def test_most_limits_quote_the_sdk():
    assert len(SDK_QUOTED) >= 12


@pytest.mark.parametrize("name", sorted(SDK_QUOTED))
def test_the_quoted_words_are_in_the_sdk_model(name):
    item = LIMITS[name]
    request_class = item.source.split(".", 1)[0]
    text = " ".join(model_file(request_class).read_text(encoding="utf-8").split())
    quote = item.source.split(": '", 1)[1].rstrip("'")
    for part in quote.split(" ... "):
        assert part in text, f"{name}: {part!r} is not in {model_file(request_class).name}"
    assert str(item.value) in quote or f"{item.value // 1024} KB" in quote
