"""Every capability's tables, imported once so ``Base.metadata`` is complete
(for Alembic and the schema test). Add a new capability's models here."""

from kassa.catalog import models as catalog_models
from kassa.core import audit as audit_models
from kassa.core.database import Base
from kassa.floor import models as floor_models
from kassa.staff import models as staff_models
from kassa.stores import models as store_models

__all__ = ["Base", "audit_models", "catalog_models", "floor_models", "staff_models", "store_models"]
