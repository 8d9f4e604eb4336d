"""What stands where an erased member's personal data was, and what a capability is told
when a member is erased.

The members capability erases the member row itself and then calls the hooks the
capabilities above and below it registered (``members.service.MEMBER_ERASED_HOOKS``), each
of which scrubs its own tables in the same transaction. They all write these placeholders,
so an erased person looks the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

# Stands in for free text that may have named the person (a message body, an address).
ERASED_TEXT = "[erased]"


def erased_phone(member_id: int) -> str:
    """A placeholder for an erased member's number: never dialable (not E.164), unique
    because the id is, and within the 16 characters of an E.164 column."""
    placeholder = f"x{member_id:015d}"
    if len(placeholder) > 16:
        raise ValueError(f"member id {member_id} does not fit a phone placeholder")
    return placeholder


@dataclass(frozen=True)
class ErasedMember:
    """A member whose data is being erased: whose, and the number they had (E.164)."""

    organization_id: int
    member_id: int
    phone_e164: str

    @property
    def placeholder_phone(self) -> str:
        return erased_phone(self.member_id)
