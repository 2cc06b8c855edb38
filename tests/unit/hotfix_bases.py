"""Base configuration files of different shapes for the hotfix root tests (test data only).

Microsoft publishes fragments of DefaultHotfixConfig.xml, not the whole file nor how an exit
code is written ("How Cluster-Aware Updating plug-ins work",
https://learn.microsoft.com/en-us/windows-server/failover-clustering/cluster-aware-updating-plug-ins),
so the module must follow whatever shape the base has. Each base here differs in one or more of
the things the page leaves open: namespace, prefix, the exit-code element and attribute, the
case of attribute names, the order of children, comments and extra elements. The schemas are
stand-ins for Windows' HotfixConfigSchema.xsd, written from the same documented structure.
"""

from __future__ import annotations

PLAIN = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- Default hotfix configuration -->
<DefaultRules>
  <ExtensionRules>
    <!-- Windows Installer packages -->
    <Extension name="MSI">
      <Template path="%systemroot%\\System32\\msiexec.exe" parameters="/i $update$ /qn /norestart"/>
      <ExitConditions>
        <Success>
          <ExitCode Code="0"/>
        </Success>
        <Success_RebootRequired>
          <ExitCode Code="3010"/>
        </Success_RebootRequired>
      </ExitConditions>
    </Extension>
    <Extension name="MSU">
      <Template path="%systemroot%\\System32\\wusa.exe" parameters="$update$ /quiet /norestart"/>
      <ExitConditions>
        <Success>
          <ExitCode Code="0"/>
        </Success>
        <AlreadyInstalled>
          <ExitCode Code="2359302"/>
        </AlreadyInstalled>
      </ExitConditions>
    </Extension>
    <Extension name="MSP">
      <Template path="%systemroot%\\System32\\msiexec.exe" parameters="/p $update$ /qn /norestart"/>
      <ExitConditions>
        <Success>
          <ExitCode Code="0"/>
        </Success>
      </ExitConditions>
    </Extension>
  </ExtensionRules>
</DefaultRules>
"""

NAMESPACE = "http://schemas.example.invalid/HotfixConfig"
# A default namespace, codes as element text, an element the module does not know, a comment.
NAMESPACED = f"""<?xml version="1.0" encoding="utf-8"?>
<DefaultRules xmlns="{NAMESPACE}">
    <ExtensionRules>
        <Extension name="MSU">
            <!-- wusa -->
            <Template path="wusa.exe" parameters="$update$ /quiet /norestart" />
            <ExitConditions>
                <Success><ExitCode>0</ExitCode></Success>
                <NotApplicable><ExitCode>-2145124329</ExitCode></NotApplicable>
            </ExitConditions>
        </Extension>
        <Extension name="MSI">
            <Template path="msiexec.exe" parameters="/i $update$ /qn" />
            <ExitConditions>
                <Success><ExitCode>0</ExitCode></Success>
            </ExitConditions>
        </Extension>
    </ExtensionRules>
    <Comment>shipped with the CAU tools</Comment>
</DefaultRules>
""".encode()

# A prefixed namespace, capitalised attributes, ExitConditions before Template, a <Code value>
# element, and a folder rule already there.
PREFIXED = b"""<?xml version="1.0" encoding="utf-8"?>
<h:DefaultRules xmlns:h="urn:example:hotfix"><h:ExtensionRules><h:Extension Name="MSU"><h:ExitConditions><h:Success><h:Code value="0"/></h:Success></h:ExitConditions><h:Template Path="wusa.exe" Parameters="$update$ /quiet"/></h:Extension></h:ExtensionRules><h:FolderRules><h:Folder Name="Bios"><h:ExitConditions><h:Success><h:Code value="0"/></h:Success></h:ExitConditions><h:Template Path="$update$" Parameters="/s"/></h:Folder></h:FolderRules></h:DefaultRules>
"""


def schema(namespace: str | None = None, code: str = "attribute") -> bytes:
    """A stand-in HotfixConfigSchema.xsd for PLAIN (no namespace, <ExitCode Code="n"/>) or, with
    ``namespace`` and ``code="text"``, for NAMESPACED."""
    target = f' targetNamespace="{namespace}" xmlns:t="{namespace}"' if namespace else ""
    ref = "t:" if namespace else ""
    exit_code = (
        '<xs:complexType><xs:attribute name="Code" type="xs:int" use="required"/></xs:complexType>'
        if code == "attribute"
        else ""
    )
    exit_type = "" if code == "attribute" else ' type="xs:int"'
    conditions = "".join(
        f'<xs:element name="{name}" type="{ref}Codes" minOccurs="{0 if name != "Success" else 1}"/>'
        for name in ("Success", "Success_RebootRequired", "Fail_RebootRequired", "AlreadyInstalled", "NotApplicable")
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified"{target}>
  <xs:element name="DefaultRules"><xs:complexType><xs:sequence>
    <xs:element name="ExtensionRules"><xs:complexType><xs:sequence>
      <xs:element name="Extension" type="{ref}Rule" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="FolderRules" minOccurs="0"><xs:complexType><xs:sequence>
      <xs:element name="Folder" type="{ref}Rule" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="Comment" type="xs:string" minOccurs="0"/>
  </xs:sequence></xs:complexType></xs:element>
  <xs:complexType name="Rule">
    <xs:all>
      <xs:element name="Template"><xs:complexType>
        <xs:attribute name="path" type="xs:string" use="required"/>
        <xs:attribute name="parameters" type="xs:string"/></xs:complexType></xs:element>
      <xs:element name="ExitConditions"><xs:complexType><xs:all>{conditions}</xs:all></xs:complexType></xs:element>
    </xs:all>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="alwaysReboot" type="xs:boolean"/>
  </xs:complexType>
  <xs:complexType name="Codes"><xs:sequence>
    <xs:element name="ExitCode" maxOccurs="unbounded"{exit_type}>{exit_code}</xs:element>
  </xs:sequence></xs:complexType>
</xs:schema>
""".encode()
