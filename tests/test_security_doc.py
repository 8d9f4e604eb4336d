"""docs/security.md states who may do what: its permission table is the code's.

Regenerate the table after changing a role's permissions with
`.venv/bin/python -m tests.test_security_doc`.
"""

from __future__ import annotations

import re
from pathlib import Path

from kassa.core.auth import ROLE_PERMISSIONS, Permission, Role

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "security.md"
BLOCK = re.compile(r"(<!-- permissions:begin -->\n)(.*?)(<!-- permissions:end -->)", re.DOTALL)
ROLES = (Role.WAITER, Role.CASHIER, Role.MANAGER, Role.OWNER)


def permission_table() -> str:
    rows = ["| permission | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for permission in Permission:
        marks = ["yes" if permission in ROLE_PERMISSIONS[role] else "" for role in ROLES]
        rows.append(f"| `{permission.value}` | " + " | ".join(marks) + " |")
    return "\n".join(rows) + "\n"


def test_the_documented_permissions_are_the_codes() -> None:
    found = BLOCK.search(DOCUMENT.read_text(encoding="utf-8"))
    assert found is not None, "docs/security.md lost its permissions block"
    assert found.group(2) == permission_table(), "regenerate: python -m tests.test_security_doc"


if __name__ == "__main__":
    text = DOCUMENT.read_text(encoding="utf-8")
    DOCUMENT.write_text(
        BLOCK.sub(lambda m: m.group(1) + permission_table() + m.group(3), text), encoding="utf-8"
    )
