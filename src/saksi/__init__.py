"""Saksi: a verifiable election-results server whose record is a public Merkle log."""

__all__ = ["__version__"]

__version__ = "0.1.0"
