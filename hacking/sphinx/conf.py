"""Sphinx configuration of ``make docs`` (development only): HTML from antsibull-docs' RST, offline.

antsibull-docs' own ``sphinx-init`` site needs sphinx-ansible-theme and intersphinx inventories
from docs.ansible.com; this renders the same RST with a stock theme and no network.
"""

project = "winfleet.updates"
html_title = "winfleet.updates collection reference"
extensions = ["sphinx_antsibull_ext"]  # the roles and directives antsibull-docs' RST uses
html_theme = "alabaster"
# Labels such as 'action_plugins' or 'ansible_collections.ansible.windows.win_file_version_module'
# live in docs.ansible.com's Sphinx project, which is not reachable offline (no intersphinx).
suppress_warnings = ["ref.ref"]
