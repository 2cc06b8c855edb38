# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Implemented by the action plugin of the same name (the read operation of the cau_hotfix_root host
# module); this file holds its documentation.

DOCUMENTATION = r"""
module: cau_hotfix_root_info
short_description: Check a Cluster-Aware Updating hotfix root the way the HotfixPlugin will
version_added: 0.1.0
description:
  - Reads the hotfix root on the file server in one round trip and returns every check the
    C(Microsoft.HotfixPlugin) makes, always in the same order, with pass/fail, the detail and the fix.
    Changes nothing.
  - The configuration is validated against Windows' C(HotfixConfigSchema.xsd) when the CAU tools are there.
  - When O(updates) are given, also checks that the files and the configuration match the description.
extends_documentation_fragment: winfleet.updates.hotfix_root
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: windows
    description: Runs on the Windows file server.
seealso:
  - module: winfleet.updates.cau_hotfix_root
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Check the root the way the HotfixPlugin will
  winfleet.updates.cau_hotfix_root_info:
    path: '\\fs01\CauHotfix'
    cau_account: 'CONTOSO\CLUSTER1-CAU$'
  register: hotfix_root
"""

RETURN = r"""
checks:
  description:
    - Every check, in a fixed order; C(root_folder), C(root_path), C(dfs_acl_checks), C(config_file),
      C(windows_schema), C(tree_structure), C(ntfs_acl[<path>]), C(smb_integrity), C(firewall_smb_in),
      C(update_account), C(content_in_sync). C(blocking) says whether the plug-in itself would fail the run.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: smb_integrity, passed: false, detail: ..., fix: 'Set-SmbShare -Name H -EncryptData $true'}
preflight_passed: {description: No blocking check failed., returned: always, type: bool}
failed_checks: {description: Names of the failed checks., returned: always, type: list, elements: str}
blocking_failures: {description: The failed blocking checks., returned: always, type: list, elements: str}
windows_schema: {description: "Whether Windows' schema is there; its path.", returned: always, type: dict}
account: {description: "O(cau_account) as the server sees it.", returned: with cau_account, type: dict}
root: {description: The root as a local path on the file server., returned: always, type: str}
hotfix_root: {description: The HotfixRootFolderPath., returned: always, type: str}
computer_name: {description: The file server's computer name., returned: always, type: str}
plugin_arguments: {description: The HotfixPlugin arguments for this root., returned: always, type: dict}
"""
