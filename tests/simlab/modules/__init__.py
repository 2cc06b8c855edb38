"""Simulated host-side modules: ``<module short name>.py`` with ``run(call) -> dict``."""
