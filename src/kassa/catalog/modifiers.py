"""Modifier groups and their options: the choices made when selling a product ("Size",
"Sugar level", "Add-ons"), and for combos the component products."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import ModifierGroup, ModifierOption, Product, ProductKind
from kassa.catalog.products import clean_translations, name_problems, raise_if_problems, translation_problems
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import FieldProblem, NotFound
from kassa.core.money import Money
from kassa.core.scope import load_scoped

MAX_CHOICES_LIMIT = 50


@dataclass(frozen=True)
class ModifierGroupInput:
    """A required group needs at least ``min_choices`` (1 when not given) options; an
    optional one has ``min_choices`` 0. Both allow at most ``max_choices``."""

    name: str
    translations: Mapping[str, str] = field(default_factory=dict)
    is_required: bool = False
    min_choices: int | None = None
    max_choices: int = 1
    is_active: bool = True


@dataclass(frozen=True)
class ModifierOptionInput:
    name: str
    price_delta: Money
    translations: Mapping[str, str] = field(default_factory=dict)
    product_id: int | None = None
    sort_order: int = 0
    is_active: bool = True


def modifier_group_input_of(group: ModifierGroup) -> ModifierGroupInput:
    return ModifierGroupInput(
        name=group.name,
        translations=dict(group.name_translations),
        is_required=group.is_required,
        min_choices=group.min_choices,
        max_choices=group.max_choices,
        is_active=group.is_active,
    )


def modifier_option_input_of(option: ModifierOption) -> ModifierOptionInput:
    return ModifierOptionInput(
        name=option.name,
        price_delta=Money(option.price_delta_amount, option.currency),
        translations=dict(option.name_translations),
        product_id=option.product_id,
        sort_order=option.sort_order,
        is_active=option.is_active,
    )


def _group_choices(data: ModifierGroupInput) -> tuple[int, int]:
    """(min, max) after the defaults; raises naming the field when the rule is broken."""
    min_choices = data.min_choices if data.min_choices is not None else (1 if data.is_required else 0)
    problems = name_problems(data.name, 80) + translation_problems(data.translations, "translations", 80)
    if data.is_required and min_choices < 1:
        problems.append(FieldProblem("min_choices", "a required group needs at least 1 choice"))
    if not data.is_required and min_choices != 0:
        problems.append(FieldProblem("min_choices", "an optional group has no minimum; make it required"))
    if not max(min_choices, 1) <= data.max_choices <= MAX_CHOICES_LIMIT:
        problems.append(FieldProblem("max_choices", f"between {max(min_choices, 1)} and {MAX_CHOICES_LIMIT}"))
    raise_if_problems(problems)
    return min_choices, data.max_choices


def _group_snapshot(group: ModifierGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "translations": group.name_translations,
        "is_required": group.is_required,
        "min_choices": group.min_choices,
        "max_choices": group.max_choices,
        "is_active": group.is_active,
    }


def _option_snapshot(option: ModifierOption) -> dict[str, Any]:
    return {
        "group_id": option.group_id,
        "name": option.name,
        "translations": option.name_translations,
        "price_delta_amount": option.price_delta_amount,
        "currency": option.currency,
        "product_id": option.product_id,
        "sort_order": option.sort_order,
        "is_active": option.is_active,
    }


def _apply_group(group: ModifierGroup, data: ModifierGroupInput) -> None:
    group.min_choices, group.max_choices = _group_choices(data)
    group.name = data.name.strip()
    group.name_translations = clean_translations(data.translations)
    group.is_required = data.is_required
    group.is_active = data.is_active


async def create_modifier_group(
    session: AsyncSession,
    actor: Actor,
    data: ModifierGroupInput,
    options: Sequence[ModifierOptionInput] = (),
) -> ModifierGroup:
    """A choice offered with products ("Size": Regular +0, Large +3.00), with its options."""
    actor.require(Permission.CATALOG_MANAGE)
    group = ModifierGroup(organization_id=actor.organization_id)
    _apply_group(group, data)
    session.add(group)
    await session.flush()
    audit.record(
        session, actor, "modifier_group.create", "modifier_group", group.id, after=_group_snapshot(group)
    )
    for option in options:
        await create_modifier_option(session, actor, group.id, option)
    return group


async def get_modifier_group(session: AsyncSession, actor: Actor, group_id: int) -> ModifierGroup:
    group = await load_scoped(
        session, actor, ModifierGroup, group_id, field="group_id", what="modifier group"
    )
    return group


async def update_modifier_group(
    session: AsyncSession, actor: Actor, group_id: int, data: ModifierGroupInput
) -> ModifierGroup:
    actor.require(Permission.CATALOG_MANAGE)
    group = await get_modifier_group(session, actor, group_id)
    before = _group_snapshot(group)
    _apply_group(group, data)
    await session.flush()
    audit.record(
        session,
        actor,
        "modifier_group.update",
        "modifier_group",
        group.id,
        before=before,
        after=_group_snapshot(group),
    )
    return group


async def list_modifier_groups(
    session: AsyncSession, actor: Actor, *, include_archived: bool = False
) -> list[tuple[ModifierGroup, list[ModifierOption]]]:
    """The organization's groups by name, each with its options in order."""
    query = select(ModifierGroup).where(ModifierGroup.organization_id == actor.organization_id)
    if not include_archived:
        query = query.where(ModifierGroup.is_active)
    groups = (await session.scalars(query.order_by(ModifierGroup.name, ModifierGroup.id))).all()
    options = await options_by_group(
        session, [group.id for group in groups], include_archived=include_archived
    )
    return [(group, options[group.id]) for group in groups]


async def options_by_group(
    session: AsyncSession, group_ids: Sequence[int], *, include_archived: bool = False
) -> dict[int, list[ModifierOption]]:
    result: dict[int, list[ModifierOption]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return result
    query = select(ModifierOption).where(ModifierOption.group_id.in_(group_ids))
    if not include_archived:
        query = query.where(ModifierOption.is_active)
    for option in (await session.scalars(query.order_by(ModifierOption.sort_order, ModifierOption.id))).all():
        result[option.group_id].append(option)
    return result


async def _option_problems(
    session: AsyncSession, actor: Actor, data: ModifierOptionInput
) -> list[FieldProblem]:
    problems = name_problems(data.name, 80) + translation_problems(data.translations, "translations", 80)
    if data.product_id is not None:
        component = await session.get(Product, data.product_id)
        if component is None or component.organization_id != actor.organization_id:
            problems.append(FieldProblem("product_id", f"no product {data.product_id}"))
        elif component.kind == ProductKind.COMBO:
            problems.append(FieldProblem("product_id", "a combo cannot be a component of another combo"))
        elif component.currency != data.price_delta.currency:
            problems.append(FieldProblem("currency", f"the component is priced in {component.currency}"))
    return problems


def _apply_option(option: ModifierOption, data: ModifierOptionInput) -> None:
    option.name = data.name.strip()
    option.name_translations = clean_translations(data.translations)
    option.price_delta_amount = data.price_delta.amount
    option.currency = data.price_delta.currency
    option.product_id = data.product_id
    option.sort_order = data.sort_order
    option.is_active = data.is_active


async def create_modifier_option(
    session: AsyncSession, actor: Actor, group_id: int, data: ModifierOptionInput
) -> ModifierOption:
    """An option of a group. Its price delta may be negative ("no milk"); a sold line is
    never below zero. In a combo, ``product_id`` names the component it sells."""
    actor.require(Permission.CATALOG_MANAGE)
    group = await get_modifier_group(session, actor, group_id)
    raise_if_problems(await _option_problems(session, actor, data))
    option = ModifierOption(group_id=group.id)
    _apply_option(option, data)
    session.add(option)
    await session.flush()
    audit.record(
        session, actor, "modifier_option.create", "modifier_option", option.id, after=_option_snapshot(option)
    )
    return option


async def get_modifier_option(session: AsyncSession, actor: Actor, option_id: int) -> ModifierOption:
    option = await session.get(ModifierOption, option_id)
    group = await session.get(ModifierGroup, option.group_id) if option is not None else None
    if option is None or group is None or group.organization_id != actor.organization_id:
        raise NotFound(f"no modifier option {option_id}", field="option_id")
    return option


async def update_modifier_option(
    session: AsyncSession, actor: Actor, option_id: int, data: ModifierOptionInput
) -> ModifierOption:
    actor.require(Permission.CATALOG_MANAGE)
    option = await get_modifier_option(session, actor, option_id)
    raise_if_problems(await _option_problems(session, actor, data))
    before = _option_snapshot(option)
    _apply_option(option, data)
    await session.flush()
    audit.record(
        session,
        actor,
        "modifier_option.update",
        "modifier_option",
        option.id,
        before=before,
        after=_option_snapshot(option),
    )
    return option
