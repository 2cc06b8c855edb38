"""NextToken paging (DescribeSnapshotGroups pages only this way), bounded."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, call_tokened


class PagedApi:
    """Answers ``total`` items, ``MaxResults`` at a time, with a NextToken while more remain."""

    def __init__(self, total):
        self.total = total
        self.requests = []

    def call(self, action, params, context=""):
        self.requests.append(dict(params))
        start = int(params.get("NextToken") or 0)
        end = min(self.total, start + params["MaxResults"])
        body = {
            "SnapshotGroups": {"SnapshotGroup": [{"SnapshotGroupId": f"ssg-{i}"} for i in range(start, end)]}
        }
        if end < self.total:
            body["NextToken"] = str(end)
        return body


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (3, 1), (10, 1), (11, 2), (25, 3)])
def test_every_page_is_read(total, pages):
    api = PagedApi(total)
    items = call_tokened(
        api, "DescribeSnapshotGroups", {"RegionId": "r"}, ("SnapshotGroups", "SnapshotGroup"), max_results=10
    )
    assert [g["SnapshotGroupId"] for g in items] == [f"ssg-{i}" for i in range(total)]
    assert len(api.requests) == pages
    assert "NextToken" not in api.requests[0]


def test_the_pages_are_bounded():
    with pytest.raises(AlicloudError, match="more than 20 items"):
        call_tokened(
            PagedApi(1000),
            "DescribeSnapshotGroups",
            {},
            ("SnapshotGroups", "SnapshotGroup"),
            max_results=10,
            max_pages=2,
        )
