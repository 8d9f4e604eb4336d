"""The floor plan: areas and the tables in them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType


class FloorArea(IdMixin, Base):
    __tablename__ = "floor_areas"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(default=0)


class DiningTable(IdMixin, Base):
    """A table guests sit at; ``position_x``/``position_y`` place it on the plan (0-100).

    Joinable tables of one area can be pushed together for a larger party (their seats add
    up); a round table or a booth is not joinable."""

    __tablename__ = "dining_tables"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    area_id: Mapped[int] = mapped_column(IdType, ForeignKey("floor_areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(default=4)
    position_x: Mapped[int] = mapped_column(default=0)
    position_y: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_joinable: Mapped[bool] = mapped_column(Boolean, default=True)
