"""Loyalty: tiers, points, stored value and coupons for an organization's members."""
