"""Kassa: point of sale and membership."""
