"""Dish returns (退菜): request, approval, return slip, refund, customer SMS and reply."""
