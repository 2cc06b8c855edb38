"""Make the checkout importable as ``ansible_collections.winfleet.updates`` for pytest.

``make setup`` links ``.collections/ansible_collections/winfleet/updates`` to the repository
root; putting ``.collections`` on ``sys.path`` lets unit tests import module_utils exactly as
Ansible does, without installing the collection.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO_ROOT / ".collections"

if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
