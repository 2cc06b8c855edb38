"""virtio_install's progress lines never show the secrets of a script URL (the log they quote may)."""

from __future__ import annotations

from ansible_collections.winfleet.updates.plugins.action import virtio_install


def test_a_progress_line_quoting_a_signed_url_is_printed_without_its_secrets(monkeypatch):
    printed: list[str] = []
    monkeypatch.setattr(virtio_install, "show_progress", printed.append)
    url = "https://admin:hunter22@bucket.oss-cn-hangzhou.aliyuncs.com/InstallVirtIo.ps1?Expires=1&Signature=TOPSECRET"
    show = virtio_install.progress_printer(url)
    show(f"virtio_install web01: install run r1 running, log: downloading {url}; elapsed 0:00:05")
    (line,) = printed
    assert line.startswith("virtio_install web01: install run r1 running, log: downloading https://")
    assert "hunter22" not in line and "TOPSECRET" not in line and "admin" not in line


def test_without_a_url_the_line_is_printed_as_is(monkeypatch):
    printed: list[str] = []
    monkeypatch.setattr(virtio_install, "show_progress", printed.append)
    virtio_install.progress_printer(None)("virtio_install web01: x; elapsed 0:00:01")
    assert printed == ["virtio_install web01: x; elapsed 0:00:01"]
