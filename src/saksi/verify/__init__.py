"""`saksi verify`: check a published election from its public files alone.

Independent of the server on purpose: it shares only spec-level primitives with it
(canonical JSON and the entry envelope, Merkle hashing, signed notes, cosignatures,
tile paths). tests/verify/test_independence.py enforces this.
"""
