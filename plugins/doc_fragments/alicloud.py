# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Alibaba Cloud ECS modules (matches module_utils/_alicloud.py)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  access_key_id:
    description:
      - Alibaba Cloud AccessKey ID. Give it with O(access_key_secret) (and O(security_token) for an STS key); a key
        pair and its token always come from one source, so a token left in the environment is never attached to a
        key given here.
      - When no key is given here, the first configured source of this list is used (see C(docs/alicloud.md)) -
        O(profile); O(ecs_role_name); the environment variables E(ALIBABA_CLOUD_ACCESS_KEY_ID),
        E(ALIBABA_CLOUD_ACCESS_KEY_SECRET), E(ALIBABA_CLOUD_SECURITY_TOKEN); then E(ALICLOUD_ACCESS_KEY),
        E(ALICLOUD_SECRET_KEY), E(ALICLOUD_SECURITY_TOKEN); the aliyun CLI profile named by E(ALIBABA_CLOUD_PROFILE)
        or E(ALICLOUD_PROFILE); the ECS RAM role named by E(ALIBABA_CLOUD_ECS_METADATA) or E(ALICLOUD_ECS_ROLE_NAME);
        OIDC (RRSA) from E(ALIBABA_CLOUD_OIDC_TOKEN_FILE), E(ALIBABA_CLOUD_ROLE_ARN),
        E(ALIBABA_CLOUD_OIDC_PROVIDER_ARN); the current profile of C(~/.aliyun/config.json); the RAM role of the ECS
        instance the controller runs on (unless E(ALIBABA_CLOUD_ECS_METADATA_DISABLED=true)).
      - Prefer an AWX / Automation Controller credential that injects the environment variables, or a RAM role.
    type: str
    aliases: [alicloud_access_key, access_key]
  access_key_secret:
    description:
      - Alibaba Cloud AccessKey secret, with O(access_key_id). Never logged or returned.
    type: str
    aliases: [alicloud_secret_key, secret_key]
  security_token:
    description:
      - STS security token of the key given in O(access_key_id) / O(access_key_secret). Never logged or returned.
    type: str
    aliases: [alicloud_security_token]
  profile:
    description:
      - A profile of the aliyun CLI configuration C(~/.aliyun/config.json) (any of its modes, such as V(AK),
        V(StsToken), V(RamRoleArn), V(EcsRamRole)), read with the official C(alibabacloud_credentials) library.
      - When not set, E(ALIBABA_CLOUD_PROFILE) is used, then E(ALICLOUD_PROFILE).
    type: str
    aliases: [alicloud_profile]
  ecs_role_name:
    description:
      - The RAM role attached to the ECS instance the controller (an AWX execution node) runs on; its temporary
        credentials come from the instance metadata service and are refreshed during long waits.
      - When not set, E(ALIBABA_CLOUD_ECS_METADATA) is used, then E(ALICLOUD_ECS_ROLE_NAME). With no credentials
        configured at all, the instance's role is discovered from the metadata service.
    type: str
    aliases: [alicloud_ecs_role_name]
  assume_role_arn:
    description:
      - A RAM role to assume (STS AssumeRole) with the credentials found above, for example
        V(acs:ram::123456789012****:role/winfleet-rollout).
      - When not set, E(ALICLOUD_ASSUME_ROLE_ARN) is used.
    type: str
    aliases: [alicloud_assume_role_arn]
  assume_role_session_name:
    description:
      - Session name for O(assume_role_arn) (and OIDC). When not set, E(ALIBABA_CLOUD_ROLE_SESSION_NAME), then
        E(ALICLOUD_ASSUME_ROLE_SESSION_NAME), else V(winfleet-updates).
    type: str
    aliases: [alicloud_assume_role_session_name]
  region_id:
    description:
      - Region of the instances, for example V(cn-hangzhou).
      - In the collection's roles this comes from the host variable C(alicloud_region).
      - When not set, the environment variable E(ALIBABA_CLOUD_REGION_ID) is used, then E(ALICLOUD_REGION).
    type: str
    aliases: [alicloud_region]
  endpoint:
    description:
      - ECS API endpoint. Default C(ecs.<region_id>.aliyuncs.com) over HTTPS; set V(ecs-vpc.<region_id>.aliyuncs.com)
        to stay inside a VPC.
      - V(host[:port]) or V(https://host[:port]). Plain V(http://) is accepted only for a loopback host (a local
        proxy or a test endpoint).
      - When not set, the environment variable E(WINFLEET_ECS_ENDPOINT) is used (for every region).
    type: str
  api_retries:
    description:
      - How many times a throttled API call (C(Throttling*)) is retried, with exponential back-off.
      - Temporary server errors are retried too for calls that are safe to repeat (reads, and creations
        that carry a ClientToken).
    type: int
    default: 5
  api_retry_delay:
    description:
      - First back-off in seconds; it doubles at each retry, capped at 20 seconds.
    type: float
    default: 1.0
notes:
  - The modules run on the controller (use C(delegate_to=localhost)) and need the Python packages
    C(alibabacloud-ecs20140526) and C(alibabacloud-tea-openapi) there (see the collection's C(requirements.txt)).
  - The RAM permissions each module needs are listed in the collection's C(docs/alicloud.md).
requirements:
  - alibabacloud-ecs20140526
  - alibabacloud-tea-openapi
  - alibabacloud-credentials
"""
