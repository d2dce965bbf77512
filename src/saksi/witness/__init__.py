"""Log witnesses: check that each checkpoint extends the last one seen, then cosign it."""
