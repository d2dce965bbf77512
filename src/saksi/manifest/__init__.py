"""The election manifest: contests, choices, dapil, sources and the fields their forms carry."""

from saksi.manifest.model import Choice, Contest, Dapil, Manifest, Source, SourceKind

__all__ = ["Choice", "Contest", "Dapil", "Manifest", "Source", "SourceKind"]
