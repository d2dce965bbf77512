"""The ladder's part of the replay state: recap chains, objections, certifications.

record-format.md 6.7 (certify, authorising decisions, answer_objection) and 6.11 to
6.13. ``ElectionState`` owns one ``LadderState`` and calls it for the ladder's entries
and for every official form, since a certified region freezes the forms below it. Each
method checks everything before it changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saksi.election.projection import projection_json
from saksi.errors import RejectedEntry
from saksi.keys.authority import KeyInfo, Role
from saksi.ladder.recap import (
    Recap,
    parse_objection,
    parse_recap,
    parse_recommendation,
)
from saksi.manifest.model import Manifest
from saksi.registry.model import Level, Registry

__all__ = ["AUTHORISING_KINDS", "LadderState"]

AUTHORISING_KINDS = frozenset({"annul_tps", "order_revote", "order_recount", "accept_correction"})
_RECAP_LEVELS = frozenset({Level.NATIONAL, Level.PROVINSI, Level.KABUPATEN_KOTA, Level.KECAMATAN})


@dataclass(slots=True)
class _Recorded:
    seq: int
    contest: str
    region: str
    recap: Recap


@dataclass(slots=True)
class LadderState:
    """What the next ladder entry is checked against, and the rows it emits."""

    registry: Registry
    # (contest, region) -> [TPS, DPT] inside the contest's dapils (ElectionState's own dict)
    dapil_totals: dict[tuple[str, str], list[int]]
    # (contest, region) -> payload hashes of its recap versions, oldest first
    chains: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    recaps: dict[str, _Recorded] = field(default_factory=dict)
    objections: dict[str, _Recorded] = field(default_factory=dict)  # the recap it names
    # (contest, region) -> (seq of the certify decision, the recap version it certified)
    certified: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    authorised: dict[str, int] = field(default_factory=dict)  # version hash -> decision seq
    # payload hashes of the decisions, objections and recommendations recorded so far
    recorded: set[str] = field(default_factory=set)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # ladder_entries projection
    superseded: list[tuple[int]] = field(default_factory=list)

    # -- recap forms ------------------------------------------------------------

    def children(self, manifest: Manifest, contest: str, region: str) -> list[str]:
        """Child regions in which the contest covers at least one registered TPS."""
        spec = manifest.contest_by_id[contest]
        if spec.dapils:
            dapil = self.dapil_totals
            return [c for c in self.registry.child_ids(region) if dapil.get((contest, c), (0,))[0]]
        covered = self.registry.tps_count
        return [c for c in self.registry.child_ids(region) if covered.get(c, 0)]

    def recap_form(
        self,
        payload: dict[str, Any],
        payload_hash: str,
        signer: KeyInfo,
        manifest: Manifest,
        seq: int,
        emit: bool,
    ) -> None:
        contest_id, region_id = payload.get("contest"), payload.get("region")
        if not isinstance(contest_id, str) or contest_id not in manifest.contest_by_id:
            raise RejectedEntry(f"contest {contest_id} is not part of this election")
        region = self.registry.regions.get(region_id) if isinstance(region_id, str) else None
        if region is None or region.level not in _RECAP_LEVELS:
            raise RejectedEntry(
                f"region {region_id} is not a registered kecamatan, kabupaten/kota, provinsi "
                "or the national level; only those hold a recapitulation plenary"
            )
        if signer.role is not Role.RECAP_BODY or signer.region != region.id:
            raise RejectedEntry(
                f"key {signer.key[:12]}… is not the recap body of region {region.id}; it "
                f"cannot sign that region's recap form"
            )
        spec = manifest.contest_by_id[contest_id]
        all_choices = frozenset(c.id for c in spec.all_choices())
        recap = parse_recap(
            payload,
            children=self.children(manifest, contest_id, region.id),
            choices=None if spec.dapils else frozenset(c.id for c in spec.choices),
            all_choices=all_choices,
        )
        chain = self.chains.get((contest_id, region.id), [])
        where = f"region {region.id}, contest {contest_id}"
        if payload_hash in chain:
            raise RejectedEntry(f"{where}: this recap form is already recorded")
        if not chain and recap.replaces is not None:
            raise RejectedEntry(f"{where}: there is no recap form to correct yet")
        if chain and recap.replaces != chain[-1]:
            raise RejectedEntry(
                f"{where}: a new version of the recap form must name the current version "
                f"{chain[-1][:16]}… in 'replaces'"
            )
        if chain:
            self.check_change(contest_id, self.registry.paths[region.id], chain[-1], where)
        # Every check passed.
        if chain:
            self.authorised.pop(chain[-1], None)
            if emit:
                self.superseded.append((self.recaps[chain[-1]].seq,))
        self.chains.setdefault((contest_id, region.id), []).append(payload_hash)
        self.recaps[payload_hash] = _Recorded(seq, contest_id, region.id, recap)
        if emit:
            self.rows.append(
                (
                    seq,
                    payload_hash,
                    "recap_form",
                    contest_id,
                    region.id,
                    signer.key,
                    projection_json(payload),
                    1,
                )
            )

    def current_recap(self, contest: str, region: str) -> Recap | None:
        chain = self.chains.get((contest, region))
        return self.recaps[chain[-1]].recap if chain else None

    # -- certification ------------------------------------------------------------

    def frozen_by(self, contest: str, path: tuple[str, ...]) -> str | None:
        """The certified region on this path, nearest the top, or None."""
        if not self.certified:
            return None
        return next((r for r in path if (contest, r) in self.certified), None)

    def check_change(
        self, contest: str, path: tuple[str, ...], current: str | None, where: str
    ) -> None:
        """Refuse a new version inside a certified region without an authorising decision."""
        region = self.frozen_by(contest, path)
        if region is None:
            return
        seq = self.certified[(contest, region)][0]
        if current is None:
            raise RejectedEntry(
                f"{where}: region {region} was certified for {contest} at entry {seq}; no "
                "new form can be added below it"
            )
        if current not in self.authorised:
            raise RejectedEntry(
                f"{where}: region {region} was certified for {contest} at entry {seq}; a "
                f"change needs a decision (annul_tps, order_revote, order_recount or "
                f"accept_correction) acting on the current version {current[:16]}…"
            )

    def use_authorisation(self, current: str) -> None:
        self.authorised.pop(current, None)

    # -- objections, recommendations, decisions -------------------------------------

    def once(self, payload_hash: str, what: str) -> None:
        """Refuse a second copy of the same fact: an answer sent again must not, say, flip
        an objection back to an earlier status."""
        if payload_hash in self.recorded:
            raise RejectedEntry(f"this {what} is already recorded ({payload_hash[:16]}…)")

    def objection(
        self, payload: dict[str, Any], payload_hash: str, signer: KeyInfo, seq: int, emit: bool
    ) -> None:
        if signer.role is not Role.PLENARY_WITNESS:
            raise RejectedEntry("only a registered plenary witness may record an objection")
        self.once(payload_hash, "objection")
        objection = parse_objection(payload)
        named = self.recaps.get(objection.recap)
        if named is None:
            raise RejectedEntry(
                f"the objection names recap form {objection.recap[:16]}…, which is not recorded"
            )
        row = named.recap.row(objection.row)
        if row is None:
            raise RejectedEntry(
                f"the recap form of region {named.region} has no row for region {objection.row}"
            )
        if objection.choice is not None and objection.choice not in row.figures():
            raise RejectedEntry(
                f"row {objection.row} of the recap form of region {named.region} has no "
                f"figure {objection.choice}"
            )
        self.objections[payload_hash] = named
        self.recorded.add(payload_hash)
        if emit:
            self.rows.append(
                (
                    seq,
                    payload_hash,
                    "objection",
                    named.contest,
                    named.region,
                    signer.key,
                    projection_json(payload),
                    1,
                )
            )

    def recommendation(
        self, payload: dict[str, Any], payload_hash: str, signer: KeyInfo, seq: int, emit: bool
    ) -> None:
        if signer.role is not Role.BAWASLU:
            raise RejectedEntry("only a registered Bawaslu key may record a recommendation")
        self.once(payload_hash, "recommendation")
        parsed = parse_recommendation(payload)
        for h in parsed.acts_on:
            if h not in self.objections and h not in self.recaps:
                raise RejectedEntry(
                    f"the recommendation acts on {h[:16]}…, which is no recorded objection "
                    "or recap form"
                )
        for tps in parsed.tps:
            if tps not in self.registry.tps:
                raise RejectedEntry(f"TPS {tps} is not registered in this election")
        first = parsed.acts_on[0]
        named = self.objections.get(first) or self.recaps[first]
        self.recorded.add(payload_hash)
        if emit:
            self.rows.append(
                (
                    seq,
                    payload_hash,
                    "recommendation",
                    named.contest,
                    named.region,
                    signer.key,
                    projection_json(payload),
                    1,
                )
            )

    def decision(
        self, payload: dict[str, Any], signer: KeyInfo, manifest: Manifest | None, seq: int
    ) -> None:
        """The ladder's checks of a decision (6.7); the caller checked kind and basis."""
        kind, acts_on = payload["kind"], payload["acts_on"]
        if signer.role not in (Role.ADMIN, Role.RECAP_BODY):
            raise RejectedEntry("only the election admin or a recap body may record decisions")
        if signer.role is Role.RECAP_BODY and kind not in ("certify", "answer_objection"):
            raise RejectedEntry(
                f"a recap body records only certify and answer_objection decisions, not {kind}"
            )
        if kind == "certify":
            self._certify(payload, signer, manifest, seq)
        elif kind == "answer_objection":
            self._answer(payload, signer)
        elif kind in AUTHORISING_KINDS:
            for h in acts_on:
                self.authorised[h] = seq

    def _certify(
        self, payload: dict[str, Any], signer: KeyInfo, manifest: Manifest | None, seq: int
    ) -> None:
        contest, region, acts_on = payload.get("contest"), payload.get("region"), payload["acts_on"]
        if "contest" not in payload and "region" not in payload and signer.role is Role.ADMIN:
            return  # a certification as recorded before the ladder: it freezes nothing
        if manifest is None or contest not in manifest.contest_by_id:
            raise RejectedEntry(f"a certification names contest {contest!r}, not in this election")
        if not isinstance(region, str) or region not in self.registry.regions:
            raise RejectedEntry(f"a certification names region {region!r}, which is not registered")
        if signer.role is Role.RECAP_BODY and signer.region != region:
            raise RejectedEntry(
                f"the recap body of region {signer.region} cannot certify region {region}"
            )
        chain = self.chains.get((contest, region))
        if not chain:
            raise RejectedEntry(
                f"region {region} has no recap form for {contest}; there is nothing to certify"
            )
        if list(acts_on) != [chain[-1]]:
            raise RejectedEntry(
                f"a certification of region {region} acts on exactly its current recap form "
                f"{chain[-1][:16]}…"
            )
        standing = self.certified.get((contest, region))
        if standing is not None and standing[1] == chain[-1]:
            raise RejectedEntry(f"region {region} is already certified for {contest}")
        self.certified[(contest, region)] = (seq, chain[-1])

    def _answer(self, payload: dict[str, Any], signer: KeyInfo) -> None:
        acts_on, outcome = payload["acts_on"], payload.get("outcome")
        if outcome not in ("accepted", "rejected"):
            raise RejectedEntry("an answer to an objection has outcome accepted or rejected")
        if len(acts_on) != 1 or acts_on[0] not in self.objections:
            raise RejectedEntry("an answer acts on exactly one recorded objection")
        named = self.objections[acts_on[0]]
        if signer.role is Role.RECAP_BODY and signer.region != named.region:
            raise RejectedEntry(
                f"the objection concerns the recap of region {named.region}; the recap body "
                f"of region {signer.region} cannot answer it"
            )
