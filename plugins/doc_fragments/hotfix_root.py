# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The description of a hotfix root, shared by cau_hotfix_root and cau_hotfix_root_info."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  path:
    description:
      - The C(HotfixRootFolderPath) the cluster uses, a local folder on the file server (C(D:\CauHotfix)) or
        a UNC path (C(\\fs01\CauHotfix), C(\\fs01\CauHotfix\Root)). Run the task on the file server.
    type: str
  updates:
    description: The update files and where they go.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description:
          - The file on the controller. A relative path is looked up in the playbook directory, the
            inventory directory, then the current directory.
        type: str
        required: true
      nodes:
        description: NetBIOS names of the nodes it is for; omitted means C(CAUHotfix_All) (every node).
        type: list
        elements: str
      rule:
        description: A rule of O(folder_rules); the file goes to C(<scope>\<rule>\). Needed for types other
          than .msu/.msi/.msp.
        type: str
  folder_rules:
    description: C(<Folder>) rules added to the base configuration in its own shape (see O(base_config)).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Rule and folder name., type: str, required: true}
      always_reboot: {description: Treat Success as Success_RebootRequired., type: bool, default: false}
      template:
        description: The installer; C($update$) must appear in its path or parameters.
        type: dict
        required: true
        suboptions: &template
          path: {description: Installer path., type: str, required: true}
          parameters: {description: Its parameters., type: str}
      exit_conditions:
        description: Exit codes per outcome (integers or hex strings, written in signed 32-bit form).
        type: dict
        required: true
        suboptions: &exit_conditions
          success: {description: Success (at least one)., type: list, elements: raw, required: true}
          success_reboot_required: {description: "Success, restart needed (3010).", type: list, elements: raw}
          fail_reboot_required: {description: "Failure, restart needed.", type: list, elements: raw}
          already_installed: {description: Already installed., type: list, elements: raw}
          not_applicable: {description: Does not apply to the node., type: list, elements: raw}
  extension_rules:
    description: C(<Extension>) rules replacing the base's rule of that name in place, or for a new type.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: File extension without the dot., type: str, required: true}
      template: {description: As in O(folder_rules)., type: dict, required: true, suboptions: *template}
      exit_conditions:
        {description: As in O(folder_rules)., type: dict, required: true, suboptions: *exit_conditions}
  base_config:
    description:
      - The base of the configuration file. Omitted, Microsoft's C(DefaultHotfixConfig.xml) of the file
        server's CAU tools (C(%SystemRoot%\System32\WindowsPowerShell\v1.0\Modules\ClusterAwareUpdating)) is
        used, and the module refuses when it is not there.
      - A file on the controller (a copy of that file; resolved like O(updates[].src)); a
        C(HotfixConfigSchema.xsd) beside it is used to validate.
      - V(builtin) uses this collection's assumption of the format (C(<DefaultRules>),
        C(<ExitCode Code="n"/>)), which Microsoft does not publish; an explicit opt-in.
    type: str
  nodes:
    description: The cluster's node NetBIOS names; updates for others are refused, preflight reports them.
    type: list
    elements: str
  share:
    description:
      - The SMB share publishing the root; for a UNC O(path) its name defaults to the share in the path, for a
        local O(path) the root is published only when given. Created when missing (Administrators full, Users
        read).
    type: dict
    suboptions:
      name: {description: Share name; required for a local or DFS O(path)., type: str}
      path: {description: Local folder behind the share; needed only to create it., type: str}
      encrypt_data: {description: Require SMB encryption (C(-EncryptData))., type: bool, default: true}
      require_signing:
        description: Switch on server-wide SMB signing (never off). The plug-in needs encryption or signing.
        type: bool
        default: false
  firewall_rule:
    description: The rule's Name or (localised) display name.
    type: str
    default: File Server Remote Management (SMB-In)
  cau_account:
    description:
      - The account that runs the update (self-updating mode, the CAU clustered role's computer object, e.g.
        C(CONTOSO\CLUSTER1-CAU$)), checked for membership of the server's Administrators, nested groups
        included (its token groups). Membership is reported, never changed.
    type: str
  is_dfs:
    description: O(path) is a DFS namespace path (give O(share.name)); the run needs O(disable_acl_checks).
    type: bool
    default: false
  disable_acl_checks:
    description: The C(DisableAclChecks) plug-in argument the cluster runs with.
    type: bool
    default: false
  require_smb_encryption:
    description: The C(RequireSMBEncryption) plug-in argument the cluster uses; needs O(share.encrypt_data).
    type: bool
    default: false
  config_name:
    description: The configuration file name (the C(HotfixConfigFileName) plug-in argument).
    type: str
    default: DefaultHotfixConfig.xml
"""
