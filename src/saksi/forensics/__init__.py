"""Forensics: flags for what a human must check, likely corrections and region statistics."""
