"""Every capability's tables, imported once so ``Base.metadata`` is complete
(for Alembic and the schema test). Add a new capability's models here."""

from kassa.api_keys import models as api_key_models
from kassa.catalog import models as catalog_models
from kassa.core import audit as audit_models
from kassa.core import idempotency as idempotency_models
from kassa.core import outbox as outbox_models
from kassa.core.database import Base
from kassa.floor import models as floor_models
from kassa.loyalty import models as loyalty_models
from kassa.members import models as member_models
from kassa.notifications import models as notification_models
from kassa.orders import models as order_models
from kassa.payments import models as payment_models
from kassa.portal import models as portal_models
from kassa.reservations import models as reservation_models
from kassa.returns import models as return_models
from kassa.shifts import models as shift_models
from kassa.staff import models as staff_models
from kassa.stores import models as store_models
from kassa.telephony import models as telephony_models

__all__ = [
    "Base",
    "api_key_models",
    "audit_models",
    "catalog_models",
    "floor_models",
    "idempotency_models",
    "loyalty_models",
    "member_models",
    "notification_models",
    "order_models",
    "outbox_models",
    "payment_models",
    "portal_models",
    "reservation_models",
    "return_models",
    "shift_models",
    "staff_models",
    "store_models",
    "telephony_models",
]
