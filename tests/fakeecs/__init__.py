"""A protocol-level fake of the Alibaba Cloud ECS API, backed by the simulated lab (test code only).

The real SDK talks to it over HTTP on 127.0.0.1: requests are signed with ACS3-HMAC-SHA256 and
verified here with the test secret, answers have the API's JSON shapes. See docs/simlab.md.
"""

#: The only credentials the fake accepts. The secret is distinctive so tests can grep any output
#: for it: it must never appear.
TEST_ACCESS_KEY_ID = "LTAI5tWinfleetFakeKey01"
TEST_ACCESS_KEY_SECRET = "wfSecret-9Hq2Lz7XbN4vRt6Ym8Kd"
TEST_SECURITY_TOKEN = "wfStsToken-CAIS8AJ1q6Ft5B2yfSjIr5bNLvLx"
