"""The evidence a browser needs to check one TPS's current forms: log keys and receipts.

Built on the writer thread (it owns the election, its record and its key state), so
every receipt of one document is taken against the same published checkpoint. The
browser side is ``saksi/web/static/verify.js``.

For a current form version the evidence is its inclusion receipt (``proof``) and its
``authority``: the receipts of the entries that say who vouches for it. If the form is
covered by an attestation (record-format.md 6.6), first the attestation entry; then the
entry that registered the signing key (6.1 ``keys_register``, or the device's own 6.10
``enrolment``), then the entry that registered the key that signed that registration
(for an enrolment: the code's issuer), and so on down to entry 0, the admin's
self-registration.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from saksi.election.election import Election
from saksi.log.entry import decode_entry
from saksi.log.note import NoteVerifier

__all__ = ["authority_chain", "log_document", "log_key_fingerprint", "tps_evidence"]

# A registration chain is admin > manager > submitter or importer: a few steps. The
# bound only keeps a damaged key table from looping.
_MAX_CHAIN = 16


def log_key_fingerprint(vkey: str) -> str:
    """SHA-256 of the log's 32-byte Ed25519 public key, as lowercase hex in groups of 4
    separated by spaces: what a reader compares with independent sources."""
    digest = hashlib.sha256(NoteVerifier.parse(vkey).public).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def log_document(election: Election) -> dict[str, Any]:
    """The log's origin, its C2SP verifier key (as `saksi log vkey` prints it), that
    key's fingerprint, and the cosigner keys of the configured witnesses."""
    vkey = election.log_signer().verifier.vkey()
    return {
        "origin": election.manifest.origin,
        "vkey": vkey,
        "fingerprint": log_key_fingerprint(vkey),
        "witnesses": [witness for _, witness in election.folder.read_witnesses()],
    }


def _signer_of(election: Election, index: int) -> str | None:
    """The key that signed record entry ``index`` (None for an attested form)."""
    return decode_entry(election.record[index]).auth.key


def authority_chain(election: Election, signer: str | None, attestation: int | None) -> list[int]:
    """Leaf indexes of the entries vouching for a form, in the order described above."""
    chain: list[int] = []
    key = signer
    if attestation is not None:
        chain.append(attestation)
        key = _signer_of(election, attestation)
    keys = election.state.authority.keys
    while key is not None and len(chain) < _MAX_CHAIN:
        info = keys.get(key)
        if info is None:
            break
        chain.append(info.registered_seq)
        if info.registered_seq == 0 or info.registered_by == key:
            break
        key = info.registered_by
    return chain


def tps_evidence(
    election: Election, versions: Iterable[tuple[int, str | None, int | None]]
) -> dict[int, dict[str, Any]]:
    """For each (leaf index, signer, attestation leaf) of a current version: its
    ``proof`` and ``authority`` receipts, each None while no published checkpoint
    covers them."""
    out: dict[int, dict[str, Any]] = {}
    taken: dict[int, dict[str, Any] | None] = {}  # the chains of a TPS share their tail

    def receipt(index: int) -> dict[str, Any] | None:
        if index not in taken:
            taken[index] = election.inclusion_receipt(index)
        return taken[index]

    for leaf, signer, attestation in versions:
        proof = receipt(leaf)
        receipts = [receipt(i) for i in authority_chain(election, signer, attestation)]
        authority = None if proof is None or any(r is None for r in receipts) else receipts
        out[leaf] = {"proof": proof, "authority": authority}
    return out
