"""Per-contest, per-source totals for every region at every level, updated form by form."""
