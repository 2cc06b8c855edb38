# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Alibaba Cloud ECS modules (matches module_utils/_alicloud.py)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  access_key_id:
    description:
      - Alibaba Cloud AccessKey ID.
      - When not set, the environment variable E(ALIBABA_CLOUD_ACCESS_KEY_ID) is used, then E(ALICLOUD_ACCESS_KEY).
      - Prefer an AWX / Automation Controller credential that injects the environment variables.
    type: str
  access_key_secret:
    description:
      - Alibaba Cloud AccessKey secret. Never logged or returned.
      - When not set, the environment variable E(ALIBABA_CLOUD_ACCESS_KEY_SECRET) is used, then E(ALICLOUD_SECRET_KEY).
    type: str
  security_token:
    description:
      - STS security token, for temporary credentials of a RAM role. Never logged or returned.
      - When not set, the environment variable E(ALIBABA_CLOUD_SECURITY_TOKEN) is used, then E(ALICLOUD_SECURITY_TOKEN).
    type: str
  region_id:
    description:
      - Region of the instances, for example V(cn-hangzhou).
      - In the collection's roles this comes from the host variable C(alicloud_region).
      - When not set, the environment variable E(ALIBABA_CLOUD_REGION_ID) is used, then E(ALICLOUD_REGION).
    type: str
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
"""
