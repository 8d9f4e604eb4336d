"""Loyalty: the organization's rules (owners change them), and each member's tier, points,
stored value and coupons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, status
from pydantic import Field

from kassa.core import idempotency
from kassa.core.database import commit
from kassa.core.errors import ValidationFailed
from kassa.core.money import Money
from kassa.core.schemas import Day, Id, Line, RequestModel, Version
from kassa.loyalty import checkout, service
from kassa.loyalty.models import Coupon, StoredValueEntry, Tier
from kassa.loyalty.schemas import (
    CouponDefinitionIn,
    CouponDefinitionOut,
    CouponOut,
    IssueCoupon,
    IssueCoupons,
    LoyaltySettingsIn,
    LoyaltySettingsOut,
    MemberLoyaltyOut,
    PointsEntryOut,
    PointsStatementOut,
    StoredValueEntryOut,
    StoredValueStatementOut,
    TierChangeOut,
    TierIn,
    TierOut,
    TierStandingOut,
    TopUpBonusRuleIn,
    TopUpIn,
    TopUpOptionsOut,
    TopUpOut,
)
from kassa.payments import top_ups as payment_top_ups
from kassa.web.dependencies import CurrentActor, Session, database_of

router = APIRouter(tags=["loyalty"])

RequiredIdempotencyKey = Annotated[
    str, Header(alias=idempotency.HEADER, min_length=8, max_length=100, description="Repeat-safe retries")
]
Limit = Annotated[int, Query(ge=1, le=200)]


def _tier_out(tier: Tier | None) -> TierOut | None:
    return TierOut.model_validate(tier) if tier is not None else None


def _definition_input(body: CouponDefinitionIn) -> service.CouponDefinitionInput:
    return service.CouponDefinitionInput(**body.model_dump())


# --- the organization's rules -------------------------------------------------------------


@router.get("/loyalty/settings", response_model=LoyaltySettingsOut)
async def get_settings(actor: CurrentActor, session: Session) -> LoyaltySettingsOut:
    return LoyaltySettingsOut.model_validate(await service.get_loyalty_settings(session, actor))


@router.put("/loyalty/settings", response_model=LoyaltySettingsOut)
async def put_settings(body: LoyaltySettingsIn, actor: CurrentActor, session: Session) -> LoyaltySettingsOut:
    """Replace the rules: tier basis, earning, redeeming, expiry, top-up bonuses, birthday coupon."""
    settings = await service.update_loyalty_settings(
        session,
        actor,
        service.SettingsInput(
            tier_basis=body.tier_basis,
            points_per_currency_unit=body.points_per_currency_unit,
            excluded_category_ids=body.excluded_category_ids,
            bonus_products=[service.BonusProduct(**item.model_dump()) for item in body.bonus_products],
            redeem_points=body.redeem_points,
            redeem_value_amount=body.redeem_value_amount,
            points_expiry_months=body.points_expiry_months,
            top_up_bonus_rules=[
                service.TopUpBonusRule(**rule.model_dump()) for rule in body.top_up_bonus_rules
            ],
            birthday_coupon_definition_id=body.birthday_coupon_definition_id,
            birthday_days_before=body.birthday_days_before,
            top_up_presets=body.top_up_presets,
            maximum_top_up_amount=body.maximum_top_up_amount,
        ),
    )
    return LoyaltySettingsOut.model_validate(settings)


@router.get("/loyalty/tiers", response_model=list[TierOut])
async def get_tiers(actor: CurrentActor, session: Session) -> list[TierOut]:
    return [TierOut.model_validate(tier) for tier in await service.list_tiers(session, actor)]


@router.put("/loyalty/tiers", response_model=list[TierOut])
async def put_tiers(body: list[TierIn], actor: CurrentActor, session: Session) -> list[TierOut]:
    """Set the tiers: those with an `id` change, those without are added, the rest are
    switched off. Members move on their next evaluation."""
    tiers = await service.replace_tiers(
        session,
        actor,
        [
            service.TierInput(
                tier_id=item.id,
                name=item.name,
                name_translations=item.name_translations,
                rank=item.rank,
                spend_threshold_amount=item.spend_threshold_amount,
                points_threshold=item.points_threshold,
                discount_basis_points=item.discount_basis_points,
                points_multiplier_basis_points=item.points_multiplier_basis_points,
            )
            for item in body
        ],
    )
    return [TierOut.model_validate(tier) for tier in tiers]


@router.get("/loyalty/coupon-definitions", response_model=list[CouponDefinitionOut])
async def get_coupon_definitions(
    actor: CurrentActor, session: Session, include_inactive: bool = False
) -> list[CouponDefinitionOut]:
    definitions = await service.list_coupon_definitions(session, actor, include_inactive=include_inactive)
    return [CouponDefinitionOut.model_validate(item) for item in definitions]


@router.post(
    "/loyalty/coupon-definitions", response_model=CouponDefinitionOut, status_code=status.HTTP_201_CREATED
)
async def create_coupon_definition(
    body: CouponDefinitionIn, actor: CurrentActor, session: Session
) -> CouponDefinitionOut:
    definition = await service.create_coupon_definition(session, actor, _definition_input(body))
    return CouponDefinitionOut.model_validate(definition)


@router.put("/loyalty/coupon-definitions/{definition_id}", response_model=CouponDefinitionOut)
async def update_coupon_definition(
    definition_id: Id, body: CouponDefinitionIn, actor: CurrentActor, session: Session
) -> CouponDefinitionOut:
    """Change a definition; coupons already issued keep their terms."""
    definition = await service.update_coupon_definition(
        session, actor, definition_id, _definition_input(body)
    )
    return CouponDefinitionOut.model_validate(definition)


@router.post("/loyalty/coupons", response_model=list[CouponOut], status_code=status.HTTP_201_CREATED)
async def issue_coupons(body: IssueCoupons, actor: CurrentActor, session: Session) -> list[CouponOut]:
    """Give members a coupon each: by staff (`source` staff) or a campaign (owners)."""
    coupons = await service.issue_coupon(
        session, actor, body.definition_id, body.member_ids, source=body.source
    )
    return [CouponOut.model_validate(coupon) for coupon in coupons]


@router.get("/loyalty/coupons/{code}", response_model=CouponOut, summary="Find a coupon by its code")
async def find_coupon(
    code: Annotated[Line, Path(max_length=40)], actor: CurrentActor, session: Session
) -> CouponOut:
    return CouponOut.model_validate(await service.find_coupon(session, actor, code))


# --- one member ---------------------------------------------------------------------------


@router.get("/members/{member_id}/loyalty", response_model=MemberLoyaltyOut)
async def member_loyalty(member_id: Id, actor: CurrentActor, session: Session) -> MemberLoyaltyOut:
    """Tier (with what the next one needs), points, stored value and today's usable coupons."""
    summary = await service.member_loyalty(session, actor, member_id)
    standing = summary.standing
    return MemberLoyaltyOut(
        member_id=summary.member_id,
        currency=summary.principal.currency,
        tier=TierStandingOut(
            basis=standing.basis,
            qualifying_value=standing.qualifying_value,
            tier=_tier_out(standing.tier),
            next_tier=_tier_out(standing.next_tier),
            remaining_to_next_tier=standing.remaining_to_next_tier,
        ),
        points_balance=summary.points_balance,
        points_value_amount=summary.points_value.amount,
        principal_amount=summary.principal.amount,
        bonus_amount=summary.bonus.amount,
        stored_value_amount=(summary.principal + summary.bonus).amount,
        usable_coupons=[CouponOut.model_validate(coupon) for coupon in summary.usable_coupons],
    )


@router.post("/members/{member_id}/tier/evaluate", response_model=TierChangeOut | None)
async def evaluate_tier(member_id: Id, actor: CurrentActor, session: Session) -> TierChangeOut | None:
    """Judge the member's tier now; answers the change, or null when it stays."""
    change = await service.evaluate_tier(session, actor, member_id)
    return TierChangeOut.model_validate(change) if change is not None else None


def _top_up_out(done: service.TopUp) -> TopUpOut:
    payment = done.payment
    last: StoredValueEntry | None = done.bonus or done.top_up
    return TopUpOut(
        id=payment.id,
        member_id=payment.member_id,
        status=payment.status.value,
        tender=payment.tender.value,
        amount=payment.amount,
        currency=payment.currency,
        approval_code=payment.approval_code,
        qr_code=payment.qr_code,
        failure_reason=payment.failure_reason,
        is_credited=done.is_credited,
        top_up=StoredValueEntryOut.model_validate(done.top_up) if done.top_up else None,
        bonus=StoredValueEntryOut.model_validate(done.bonus) if done.bonus else None,
        principal_amount=last.principal_after if last else None,
        bonus_amount=last.bonus_after if last else None,
    )


@router.get("/loyalty/top-up-options", response_model=TopUpOptionsOut)
async def top_up_options(actor: CurrentActor, session: Session) -> TopUpOptionsOut:
    """What the top-up dialog offers: preset amounts, the maximum and the bonus rules."""
    options = await service.top_up_options(session, actor)
    return TopUpOptionsOut(
        currency=options.currency,
        presets=list(options.presets),
        maximum_amount=options.maximum_amount,
        bonus_rules=[TopUpBonusRuleIn(**rule) for rule in options.bonus_rules],
    )


@router.post(
    "/members/{member_id}/stored-value/top-ups", response_model=TopUpOut, status_code=status.HTTP_201_CREATED
)
async def top_up(
    member_id: Id,
    body: TopUpIn,
    actor: CurrentActor,
    session: Session,
    request: Request,
    idempotency_key: RequiredIdempotencyKey,
) -> TopUpOut:
    """Take money at the register for the member's card: `cash` into the drawer of the
    register's open shift (409 `shift_not_open` without one), `card` with the terminal's
    `approval_code`, `wechat_pay` / `alipay` through the store's provider (the customer's
    `payment_code`, or a `qr_code` to show; pending until the provider confirms: poll
    `POST /stored-value/top-ups/{id}/refresh`). Any other tender is refused (422). The card
    is credited, with the top-up bonus, only once the money is confirmed. The same
    `Idempotency-Key` answers the first top-up."""
    settings = await service.get_loyalty_settings(session, actor)
    done = await service.top_up(
        session,
        actor,
        member_id,
        Money(body.amount, settings.currency),
        tender=body.tender,
        idempotency_key=idempotency_key,
        approval_code=body.approval_code,
        payment_code=body.payment_code,
    )
    if done.charge is not None:
        # The pending top-up is stored before the provider is asked (as for bill payments).
        top_up_id = done.charge.payment_id
        await commit(session)
        await payment_top_ups.charge_top_up(database_of(request), actor, done.charge)
        session.expire_all()
        done = await service.get_top_up(session, actor, top_up_id)
    return _top_up_out(done)


@router.get("/stored-value/top-ups/{top_up_id}", response_model=TopUpOut)
async def get_top_up(top_up_id: Id, actor: CurrentActor, session: Session) -> TopUpOut:
    return _top_up_out(await service.get_top_up(session, actor, top_up_id))


@router.post(
    "/stored-value/top-ups/{top_up_id}/refresh", response_model=TopUpOut, summary="Ask the provider again"
)
async def refresh_top_up(top_up_id: Id, actor: CurrentActor, session: Session, request: Request) -> TopUpOut:
    """A pending WeChat Pay / Alipay top-up: ask the provider; credited once it confirms."""
    await payment_top_ups.refresh_top_up(database_of(request), actor, top_up_id)
    session.expire_all()
    return _top_up_out(await service.get_top_up(session, actor, top_up_id))


@router.get("/members/{member_id}/stored-value/statement", response_model=StoredValueStatementOut)
async def stored_value_statement(
    member_id: Id, actor: CurrentActor, session: Session, limit: Limit = 50, before_id: Id | None = None
) -> StoredValueStatementOut:
    statement = await service.stored_value_statement(
        session, actor, member_id, limit=limit, before_id=before_id
    )
    return StoredValueStatementOut(
        member_id=statement.member_id,
        currency=statement.principal.currency,
        principal_amount=statement.principal.amount,
        bonus_amount=statement.bonus.amount,
        entries=[StoredValueEntryOut.model_validate(entry) for entry in statement.entries],
    )


@router.get("/members/{member_id}/points/statement", response_model=PointsStatementOut)
async def points_statement(
    member_id: Id, actor: CurrentActor, session: Session, limit: Limit = 50, before_id: Id | None = None
) -> PointsStatementOut:
    statement = await service.points_statement(session, actor, member_id, limit=limit, before_id=before_id)
    return PointsStatementOut(
        member_id=statement.member_id,
        balance=statement.balance,
        entries=[PointsEntryOut.model_validate(entry) for entry in statement.entries],
    )


@router.get("/members/{member_id}/coupons", response_model=list[CouponOut])
async def member_coupons(
    member_id: Id,
    actor: CurrentActor,
    session: Session,
    usable_on: Annotated[Day | None, Query(description="Only those usable on this day")] = None,
) -> list[CouponOut]:
    coupons: list[Coupon] = await service.member_coupons(session, actor, member_id, usable_on=usable_on)
    return [CouponOut.model_validate(coupon) for coupon in coupons]


@router.post("/members/{member_id}/coupons", response_model=CouponOut, status_code=status.HTTP_201_CREATED)
async def issue_member_coupon(
    member_id: Id, body: IssueCoupon, actor: CurrentActor, session: Session
) -> CouponOut:
    """Give the member a coupon at the counter."""
    coupons = await service.issue_coupon(session, actor, body.definition_id, [member_id])
    if not coupons:
        raise ValidationFailed("no coupon was issued", field="definition_id")
    return CouponOut.model_validate(coupons[0])


class CouponOnBillIn(RequestModel):
    version: Version = Field(ge=1, description="The bill version you saw")
    code: Line = Field(min_length=1, max_length=40, description="The coupon's code (as the member shows it)")


@router.post("/bills/{bill_id}/coupon", summary="Use a member's coupon on their bill (as the bill discount)")
async def apply_coupon(
    bill_id: Id, body: CouponOnBillIn, actor: CurrentActor, session: Session
) -> dict[str, int]:
    bill = await checkout.apply_coupon(session, actor, bill_id, body.version, body.code)
    return {"bill_id": bill.id, "version": bill.version, "discount_amount": bill.discount_amount}
