"""Shared helpers (private)."""
