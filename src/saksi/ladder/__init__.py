"""The recapitulation ladder: recap forms, objections, certification, and the check of
every recap row against what was signed below it (docs/ladder.md)."""
