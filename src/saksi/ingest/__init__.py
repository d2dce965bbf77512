"""Taking in result forms: the field catalogue, hard-error validation, consistency rules."""
