"""Who is acting, and what they may do.

Permissions are named capabilities. Services call ``actor.require(Permission.X)``; the UI
hides buttons by the same check, but the service is where it is enforced.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

from kassa.core.errors import NotFound, PermissionDenied
from kassa.core.settings import get_settings


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    CASHIER = "cashier"
    WAITER = "waiter"


class Permission(StrEnum):
    STORE_MANAGE = "store.manage"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    AUDIT_VIEW = "audit.view"
    BACK_OFFICE = "back_office.use"
    CATALOG_MANAGE = "catalog.manage"
    BILL_OPEN = "bill.open"
    BILL_EDIT = "bill.edit"
    BILL_DISCOUNT = "bill.discount"
    BILL_DISCOUNT_ABOVE_LIMIT = "bill.discount_above_limit"
    # Void a line the kitchen already has (with a reason from the store's list).
    BILL_VOID_SENT_LINE = "bill.void_sent_line"
    PAYMENT_TAKE = "payment.take"
    PAYMENT_VOID = "payment.void"
    SHIFT_MANAGE = "shift.manage"
    CASH_DRAWER = "cash.drawer"
    STOCK_NEGATIVE = "stock.allow_negative"
    RETURN_REQUEST = "return.request"
    RETURN_APPROVE = "return.approve"
    RETURN_APPROVE_ABOVE_LIMIT = "return.approve_above_limit"
    # Send a refund to one chosen tender of the bill instead of the original tenders.
    REFUND_DIRECT = "refund.direct"
    MEMBER_VIEW = "member.view"
    MEMBER_MANAGE = "member.manage"
    # Read members' contact details (phone, birthday, e-mail, address, notes); without it a
    # member is their name, tier and points.
    MEMBER_CONTACTS_VIEW = "member.contacts_view"
    # Give a member a coupon at the counter.
    MEMBER_COUPON_ISSUE = "member.coupon_issue"
    # Change a member's phone number (their portal login) without a code sent to the old one.
    MEMBER_PHONE_CHANGE = "member.phone_change"
    # Take money onto a member's stored-value card (cash, card, WeChat Pay, Alipay).
    STORED_VALUE_TOP_UP = "stored_value.top_up"
    SMS_FREE_TEXT = "sms.free_text"
    REPORT_VIEW = "report.view"
    SETTINGS_MANAGE = "settings.manage"
    # Set a device up as a register (its device token) and revoke registered devices.
    DEVICE_MANAGE = "device.manage"
    # Create and revoke the organization's API keys (integrations); owners only.
    API_KEY_MANAGE = "api_key.manage"
    # See the messages Kassa gave up on (a receipt, an SMS), send them again, cancel one
    # that waits (a receipt for a printer that is off).
    MESSAGE_RESEND = "message.resend"


_WAITER = frozenset(
    {
        Permission.BILL_OPEN,
        Permission.BILL_EDIT,
        Permission.RETURN_REQUEST,
        Permission.MEMBER_VIEW,
    }
)
_CASHIER = _WAITER | {
    Permission.BILL_DISCOUNT,
    Permission.BILL_VOID_SENT_LINE,
    Permission.PAYMENT_TAKE,
    Permission.PAYMENT_VOID,
    Permission.SHIFT_MANAGE,
    Permission.CASH_DRAWER,
    Permission.RETURN_APPROVE,
    Permission.MEMBER_MANAGE,
    Permission.MEMBER_CONTACTS_VIEW,
    Permission.MEMBER_COUPON_ISSUE,
    Permission.STORED_VALUE_TOP_UP,
    Permission.MESSAGE_RESEND,
}
_MANAGER = _CASHIER | {
    Permission.BACK_OFFICE,
    Permission.STAFF_VIEW,
    Permission.STAFF_MANAGE,
    Permission.CATALOG_MANAGE,
    Permission.BILL_DISCOUNT_ABOVE_LIMIT,
    Permission.STOCK_NEGATIVE,
    Permission.RETURN_APPROVE_ABOVE_LIMIT,
    Permission.REFUND_DIRECT,
    Permission.SMS_FREE_TEXT,
    Permission.REPORT_VIEW,
    Permission.AUDIT_VIEW,
    Permission.DEVICE_MANAGE,
    Permission.MEMBER_PHONE_CHANGE,
}
_OWNER = _MANAGER | {Permission.STORE_MANAGE, Permission.SETTINGS_MANAGE, Permission.API_KEY_MANAGE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.WAITER: _WAITER,
    Role.CASHIER: frozenset(_CASHIER),
    Role.MANAGER: frozenset(_MANAGER),
    Role.OWNER: frozenset(_OWNER),
}


def effective_permissions(
    role: Role, granted: frozenset[Permission] = frozenset(), withheld: frozenset[Permission] = frozenset()
) -> frozenset[Permission]:
    """What a staff member may do: their role's permissions, plus what a manager gave them,
    minus what a manager withheld (withheld wins)."""
    return (ROLE_PERMISSIONS[role] | granted) - withheld


def parse_permissions(values: object) -> frozenset[Permission]:
    """Permission names stored on a row; names no longer known are ignored."""
    if not isinstance(values, list | tuple | set | frozenset):
        return frozenset()
    known = {permission.value for permission in Permission}
    return frozenset(Permission(value) for value in values if value in known)


@dataclass(frozen=True)
class Actor:
    """The person or process behind a service call, recorded on every audit row.

    An integration's API key is an actor with no staff id and no role: ``api_key_id`` names
    the key, ``granted_permissions`` are the permissions the owner gave it and ``store_ids``
    the stores it may act in (``None``: as the role says). A staff member with permissions
    given or withheld on top of their role carries the resolved set in
    ``granted_permissions`` too (``staff.service`` resolves it at authentication).
    """

    organization_id: int
    staff_id: int | None = None
    role: Role | None = None
    store_id: int | None = None
    register_id: int | None = None
    display_name: str = ""
    is_system: bool = False
    api_key_id: int | None = None
    granted_permissions: frozenset[Permission] | None = None
    # The stores this actor may act in, resolved when the session is authenticated (an
    # owner: every store of the organization; an API key: the stores it was given). None
    # for a system actor, which is only ever handed ids read from its own organization's
    # rows; for staff it defaults to their store.
    store_ids: frozenset[int] | None = None

    @classmethod
    def system(cls, organization_id: int, store_id: int | None = None, name: str = "system") -> Actor:
        return cls(organization_id=organization_id, store_id=store_id, display_name=name, is_system=True)

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.is_system:
            return frozenset(Permission)
        if self.granted_permissions is not None:
            return self.granted_permissions
        return ROLE_PERMISSIONS.get(self.role, frozenset()) if self.role else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                f"{self.role or 'this session'} may not do {permission.value}",
                extra={"permission": permission.value},
            )

    @property
    def allowed_store_ids(self) -> frozenset[int]:
        if self.store_ids is not None:
            return self.store_ids
        return frozenset() if self.store_id is None else frozenset({self.store_id})

    def may_act_in(self, store_id: int) -> bool:
        if self.is_system and self.store_ids is None:
            return True
        return store_id in self.allowed_store_ids

    def require_store(self, store_id: int) -> None:
        """Staff act only in their store and an API key in its stores: any other is refused
        (whether it exists or not). Owners act in the stores of their organization: any
        other is not found, so its existence is not revealed."""
        if self.may_act_in(store_id):
            return
        if self.role != Role.OWNER and not self.is_system:
            raise PermissionDenied("this session belongs to another store", extra={"store_id": store_id})
        raise NotFound(f"no store {store_id}", field="store_id")


@lru_cache
def password_hasher() -> PasswordHasher:
    is_cheap = get_settings().password_hash_profile == "cheapest"  # noqa: S105
    profile = CHEAPEST if is_cheap else RFC_9106_LOW_MEMORY
    return PasswordHasher.from_parameters(profile)


def hash_secret(secret: str) -> str:
    """argon2id hash of a PIN or password."""
    return password_hasher().hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return password_hasher().verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are stored as their SHA-256 only; a leaked table gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
