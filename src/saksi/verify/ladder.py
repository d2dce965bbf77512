"""The recapitulation ladder in the replay: recap chains, objections, recommendations,
decisions and certifications, written from docs/record-format.md (6.7, 6.11 to 6.13)
apart from the server's saksi.ladder.

Every part of the replay applies these entries (they are not forms); part 0 reports
them. A part also checks its own official forms against the certifications here.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from saksi.verify.report import Refused
from saksi.verify.shapes import check_photos, check_version_hash, is_hash

if TYPE_CHECKING:
    from saksi.verify.replay import Key, Replay

__all__ = [
    "AUTHORISING",
    "FIGURES",
    "Certified",
    "Ladder",
    "RecapVersion",
    "differences",
    "ladder_documents",
    "recap_total",
]

FIGURES = ("valid", "invalid", "voters")
AUTHORISING = frozenset({"annul_tps", "order_revote", "order_recount", "accept_correction"})
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_RECAP_LEVELS = frozenset({"nasional", "provinsi", "kabupaten_kota", "kecamatan"})
_RECAP_KEYS = frozenset({"contest", "region", "plenary_date", "rows", "photos", "replaces"})
_ROW_KEYS = frozenset({"region", "votes", *FIGURES})
_OBJECTION_KEYS = frozenset({"acts_on", "row", "claim", "legal_basis", "choice", "claimed"})
_RECOMMENDATION_KEYS = frozenset({"acts_on", "recommendation", "legal_basis", "tps"})
_MAX_COUNT = 2**31 - 1

Row = tuple[str, dict[str, int]]  # child region, its figures: votes by choice, then FIGURES


@dataclass(frozen=True, slots=True)
class RecapVersion:
    """One recorded recap form: where it is and the figures it signed."""

    seq: int
    digest: str  # payload hash, lowercase hex
    contest: str
    region: str
    plenary_date: str
    rows: tuple[Row, ...]

    def row(self, region: str) -> dict[str, int] | None:
        return next((figures for rid, figures in self.rows if rid == region), None)


def recap_total(recap: RecapVersion) -> dict[str, int]:
    """The sum of a recap form's rows: the figures it carries one level up."""
    total: dict[str, int] = {}
    for _, figures in recap.rows:
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    return total


@dataclass(frozen=True, slots=True)
class Certified:
    seq: int  # the certify decision's leaf index
    version: str  # the recap version it certified


@dataclass
class Ladder:
    """The ladder's part of the replay state."""

    chains: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    recaps: dict[str, RecapVersion] = field(default_factory=dict)
    objections: dict[str, RecapVersion] = field(default_factory=dict)  # -> the recap named
    certified: dict[tuple[str, str], Certified] = field(default_factory=dict)
    authorised: dict[str, int] = field(default_factory=dict)  # version hash -> decision leaf
    # Payload hashes of the decisions, objections and recommendations recorded so far:
    # each is recorded once (record-format.md 6.7).
    recorded: set[str] = field(default_factory=set)
    recap_forms: int = 0
    _children: dict[str, tuple[tuple[int, int], dict[str, list[str]]]] = field(default_factory=dict)

    def current(self, contest: str) -> dict[str, tuple[RecapVersion, int]]:
        """Region -> its current recap form for ``contest`` and how many versions it has."""
        return {
            region: (self.recaps[chain[-1]], len(chain))
            for (cid, region), chain in self.chains.items()
            if cid == contest
        }

    def certifications(self, contest: str) -> dict[str, Certified]:
        """Region -> its standing certification for ``contest``."""
        return {region: c for (cid, region), c in self.certified.items() if cid == contest}

    # -- recap forms (6.11) ---------------------------------------------------------

    def recap_form(self, replay: Replay, index: int, payload: dict[str, Any], digest: str) -> None:
        contest_id, region = payload.get("contest"), payload.get("region")
        where = f"recap form of region {region}, contest {contest_id}"
        unknown = sorted(set(payload) - _RECAP_KEYS)
        if unknown:
            raise Refused(f"{where}: a recap form has no member(s) {', '.join(unknown)}")
        missing = sorted({"contest", "region", "plenary_date", "rows"} - set(payload))
        if missing:
            raise Refused(f"{where}: {', '.join(missing)} missing")
        contest = replay.contests.get(contest_id) if isinstance(contest_id, str) else None
        if contest is None:
            raise Refused(f"{where}: contest {contest_id!r} is not part of the election")
        found = replay.regions.get(region) if isinstance(region, str) else None
        if found is None or found[1] not in _RECAP_LEVELS:
            raise Refused(
                f"{where}: only a registered kecamatan, kabupaten/kota, provinsi or the "
                "national level (ID) holds a recapitulation plenary"
            )
        assert isinstance(region, str)
        assert isinstance(contest_id, str)
        if not _is_date(payload["plenary_date"]):
            raise Refused(f"{where}: plenary_date {payload['plenary_date']!r} is not YYYY-MM-DD")
        if "photos" in payload:
            check_photos(payload["photos"], where)
        replaces = payload.get("replaces")
        if "replaces" in payload:
            check_version_hash(replaces, where, "a recap version")
        rows = self._rows(replay, contest_id, region, payload["rows"], where)
        chain = self.chains.get((contest_id, region), [])
        if digest in chain:
            raise Refused(f"{where}: the same recap form version is recorded twice")
        if not chain and replaces is not None:
            raise Refused(f"{where}: corrects version {replaces}, but the region has no recap form")
        if chain and replaces != chain[-1]:
            raise Refused(
                f"{where}: the new version replaces {replaces}, but the current version is "
                f"{chain[-1]}"
            )
        if chain:
            self.check_change(contest_id, replay.paths[region], chain[-1], where)
            self.authorised.pop(chain[-1], None)
        self.chains.setdefault((contest_id, region), []).append(digest)
        self.recaps[digest] = RecapVersion(
            index, digest, contest_id, region, payload["plenary_date"], rows
        )
        self.recap_forms += 1

    def _rows(
        self, replay: Replay, contest_id: str, region: str, rows: Any, where: str
    ) -> tuple[Row, ...]:
        """Check the rows: the covered child regions in ascending order, each with counts."""
        if not isinstance(rows, list):
            raise Refused(f"{where}: 'rows' must be a list, one row per child region")
        expected = self.children(replay, contest_id).get(region, [])
        named = [r.get("region") if isinstance(r, dict) else None for r in rows]
        if named != expected:
            extra = sorted(str(n) for n in named if n not in expected)
            absent = [c for c in expected if c not in named]
            raise Refused(
                f"{where}: the rows must be the child regions in which the contest has a "
                "registered TPS, each once, in ascending order of id"
                + (f"; not such a child region: {', '.join(extra)}" if extra else "")
                + (f"; missing: {', '.join(absent)}" if absent else "")
            )
        contest = replay.contests[contest_id]
        ballot = None if contest.dapils_expected else set(contest.choices)
        columns = set(contest.columns())
        out: list[Row] = []
        for row in rows:
            at = f"{where}, row {row['region']}"
            if set(row) != _ROW_KEYS:
                raise Refused(f"{at}: a row has exactly region, votes, valid, invalid and voters")
            votes = row["votes"]
            if not isinstance(votes, dict) or not votes:
                raise Refused(f"{at}: 'votes' must map choice ids to counts")
            if not votes.keys() <= columns:
                raise Refused(
                    f"{at}: choice(s) {sorted(votes.keys() - columns)} are not on the "
                    f"{contest_id} ballot"
                )
            if ballot is not None and votes.keys() != ballot:
                raise Refused(f"{at}: 'votes' must name every choice of the {contest_id} ballot")
            figures = {**votes, **{name: row[name] for name in FIGURES}}
            for name, value in figures.items():
                if type(value) is not int or not 0 <= value <= _MAX_COUNT:
                    raise Refused(f"{at}: {name} = {value!r} is not a count")
            out.append((row["region"], figures))
        return tuple(out)

    def children(self, replay: Replay, contest_id: str) -> dict[str, list[str]]:
        """Region -> its child regions in which the contest covers a registered TPS, in
        ascending order of id. Built again only when the registry has grown."""
        size = (len(replay.regions), len(replay.tps))
        cached = self._children.get(contest_id)
        if cached is not None and cached[0] == size:
            return cached[1]
        contest = replay.contests[contest_id]
        desas = {desa for desa, _, _ in replay.tps.values()}
        covered: set[str] = set()
        for desa in desas:
            if replay.ballot(contest, desa) is not None:
                covered.update(replay.paths[desa])
        out: dict[str, list[str]] = {}
        for rid in sorted(covered):
            parent = replay.regions[rid][2]
            if parent:
                out.setdefault(parent, []).append(rid)
        self._children[contest_id] = (size, out)
        return out

    # -- certification and authorisation (6.7) ----------------------------------------

    def check_change(
        self, contest: str, path: tuple[str, ...], current: str | None, where: str
    ) -> None:
        """Refuse a new version inside a certified region unless a decision authorised it."""
        if not self.certified:
            return
        region = next((r for r in path if (contest, r) in self.certified), None)
        if region is None:
            return
        seq = self.certified[(contest, region)].seq
        if current is None:
            raise Refused(
                f"{where}: region {region} was certified for {contest} at entry {seq}; no "
                "first form may be added below it"
            )
        if current not in self.authorised:
            raise Refused(
                f"{where}: region {region} was certified for {contest} at entry {seq}, and no "
                f"authorising decision (annul_tps, order_revote, order_recount or "
                f"accept_correction) acts on the current version {current}"
            )

    def use(self, current: str) -> None:
        """A new version of the chain whose current version is ``current`` was recorded."""
        self.authorised.pop(current, None)

    def once(self, digest: str, what: str) -> None:
        """Refuse a second copy of a fact: an answer recorded again must not, say, turn an
        objection back to an earlier status."""
        if digest in self.recorded:
            raise Refused(f"this {what} is recorded already (payload hash {digest})")

    def decision(
        self, replay: Replay, index: int, payload: dict[str, Any], digest: str, signer: Key
    ) -> None:
        """The signer's right and each kind's own rules; kind, basis and acts_on are checked."""
        kind, acts_on = payload["kind"], payload["acts_on"]
        self.once(digest, "decision")
        if signer.role == "recap_body":
            if kind not in ("certify", "answer_objection"):
                raise Refused(
                    f"a recap body may record only certify and answer_objection decisions, "
                    f"not {kind}"
                )
        elif signer.role != "admin":
            raise Refused(
                f"only the admin or a recap body may record a decision; signed by a "
                f"{signer.role} key"
            )
        if kind == "certify":
            self._certify(replay, index, payload, signer)
        elif kind == "answer_objection":
            outcome = payload.get("outcome")
            if outcome not in ("accepted", "rejected"):
                raise Refused(
                    f"an answer to an objection has outcome accepted or rejected, not {outcome!r}"
                )
            if len(acts_on) != 1 or acts_on[0] not in self.objections:
                raise Refused("an answer_objection acts on exactly one recorded objection")
            named = self.objections[acts_on[0]]
            if signer.role == "recap_body" and signer.region != named.region:
                raise Refused(
                    f"the objection is about the recap form of region {named.region}; the "
                    f"recap body of region {signer.region} cannot answer it"
                )
        elif kind in AUTHORISING:
            for version in acts_on:
                self.authorised[version] = index
        self.recorded.add(digest)

    def _certify(self, replay: Replay, index: int, payload: dict[str, Any], signer: Key) -> None:
        contest, region, acts_on = payload.get("contest"), payload.get("region"), payload["acts_on"]
        if "contest" not in payload and "region" not in payload and signer.role == "admin":
            return  # a certification as recorded before the ladder: it freezes nothing
        if not isinstance(contest, str) or contest not in replay.contests:
            raise Refused(f"a certification names contest {contest!r}, not in the election")
        if not isinstance(region, str) or region not in replay.regions:
            raise Refused(f"a certification names region {region!r}, which is not registered")
        if signer.role == "recap_body" and signer.region != region:
            raise Refused(
                f"the recap body of region {signer.region} cannot certify region {region}"
            )
        chain = self.chains.get((contest, region))
        if not chain:
            raise Refused(f"region {region} has no recap form for {contest} to certify")
        if acts_on != [chain[-1]]:
            raise Refused(
                f"a certification of region {region} for {contest} acts on exactly its "
                f"current recap form {chain[-1]}"
            )
        standing = self.certified.get((contest, region))
        if standing is not None and standing.version == chain[-1]:
            raise Refused(
                f"region {region} is certified for {contest} already (entry {standing.seq})"
            )
        self.certified[(contest, region)] = Certified(index, chain[-1])

    # -- objections and recommendations (6.12, 6.13) ----------------------------------

    def objection(self, payload: dict[str, Any], digest: str, signer: Key) -> None:
        if signer.role != "plenary_witness":
            raise Refused(
                f"only a plenary witness may record an objection; signed by a {signer.role} key"
            )
        self.once(digest, "objection")
        unknown = sorted(set(payload) - _OBJECTION_KEYS)
        if unknown:
            raise Refused(f"an objection has no member(s) {', '.join(unknown)}")
        acts_on = _hashes(payload.get("acts_on"), "an objection's acts_on")
        if len(acts_on) != 1:
            raise Refused("an objection names exactly one recap form in acts_on")
        row, choice = payload.get("row"), payload.get("choice")
        if not isinstance(row, str) or not row:
            raise Refused("an objection names the row (a region id) it objects to")
        claim, basis = payload.get("claim"), payload.get("legal_basis")
        if not isinstance(claim, str) or not claim.strip():
            raise Refused("an objection's claim must be a non-empty text")
        if not isinstance(basis, str):
            raise Refused("an objection's legal_basis must be a text (it may be empty)")
        # A null choice or claimed figure counts as absent, as a null source does in 6.1.
        claimed = payload.get("claimed")
        if claimed is not None and (type(claimed) is not int or not 0 <= claimed <= _MAX_COUNT):
            raise Refused(f"an objection's claimed figure {claimed!r} is not a count")
        named = self.recaps.get(acts_on[0])
        if named is None:
            raise Refused(f"the objection names recap form {acts_on[0]}, which is not recorded")
        figures = named.row(row)
        if figures is None:
            raise Refused(f"the recap form of region {named.region} has no row for region {row}")
        if choice is not None and (not isinstance(choice, str) or choice not in figures):
            raise Refused(
                f"row {row} of the recap form of region {named.region} has no figure {choice!r}"
            )
        self.objections[digest] = named
        self.recorded.add(digest)

    def recommendation(
        self, replay: Replay, payload: dict[str, Any], digest: str, signer: Key
    ) -> None:
        if signer.role != "bawaslu":
            raise Refused(
                f"only a Bawaslu key may record a recommendation; signed by a {signer.role} key"
            )
        self.once(digest, "recommendation")
        unknown = sorted(set(payload) - _RECOMMENDATION_KEYS)
        if unknown:
            raise Refused(f"a recommendation has no member(s) {', '.join(unknown)}")
        for name in ("recommendation", "legal_basis"):
            value = payload.get(name)
            if not isinstance(value, str) or not value.strip():
                raise Refused(f"a recommendation's {name} must be a non-empty text")
        tps = payload.get("tps")
        if "tps" in payload and (
            not isinstance(tps, list) or not tps or not all(isinstance(t, str) for t in tps)
        ):
            raise Refused("a recommendation's tps must be a non-empty list of TPS ids")
        for named in _hashes(payload.get("acts_on"), "a recommendation's acts_on"):
            if named not in self.objections and named not in self.recaps:
                raise Refused(
                    f"the recommendation acts on {named}, which is no recorded objection or "
                    "recap form"
                )
        for t in tps or ():
            if t not in replay.tps:
                raise Refused(f"the recommendation names TPS {t}, which is not registered")
        self.recorded.add(digest)


def _hashes(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(is_hash(h) for h in value):
        raise Refused(f"{what} must list payload hashes (64 lowercase hex digits)")
    return value


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        return datetime.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


# -- the published ladder (docs/publication.md) -----------------------------------------


def differences(
    recaps: dict[str, RecapVersion], tps: dict[str, dict[str, dict[str, int]]]
) -> list[dict[str, Any]]:
    """Every figure of every current recap row that differs from what is below it: the
    sum of the child region's TPS forms of each source with a form there, and the child's
    own current recap form. Largest first, then by place."""
    found: list[dict[str, Any]] = []
    for recap in recaps.values():
        for child, figures in recap.rows:
            below = [(source, sums) for source, sums in sorted(tps.get(child, {}).items())]
            own = recaps.get(child)
            if own is not None:
                below.append(("recap", recap_total(own)))
            for against, sums in below:
                for name, value in figures.items():
                    other = sums.get(name)
                    if other is not None and other != value:
                        found.append(_difference(recap.region, child, name, value, other, against))
    found.sort(
        key=lambda d: (-abs(d["amount"]), d["recap_region"], d["row"], d["figure"], d["against"])
    )
    return found


def _difference(
    region: str, row: str, figure: str, recap: int, below: int, against: str
) -> dict[str, Any]:
    return {
        "recap_region": region,
        "row": row,
        "figure": figure,
        "recap": recap,
        "below": below,
        "amount": recap - below,
        "direction": "up" if recap > below else "down",
        "against": against,
    }


def ladder_documents(
    contest: str,
    current: dict[str, tuple[RecapVersion, int]],
    certified: dict[str, Certified],
    tps: dict[str, dict[str, dict[str, int]]],
) -> dict[str, dict[str, Any]]:
    """Region -> what ``ladder/<contest>/<region>.json`` must hold, without its log_size:
    the region's current recap form with its total, and the differences of its rows
    (docs/publication.md)."""
    found: dict[str, list[dict[str, Any]]] = {region: [] for region in current}
    for difference in differences({r: v for r, (v, _) in current.items()}, tps):
        found[difference["recap_region"]].append(difference)
    return {
        region: {
            "contest": contest,
            "region": region,
            "recap": {
                "leaf_index": version.seq,
                "payload_hash": version.digest,
                "plenary_date": version.plenary_date,
                "versions": count,
                "certified": None
                if region not in certified
                else {"leaf_index": certified[region].seq, "version": certified[region].version},
                "figures": recap_total(version),
            },
            "differences": found[region],
        }
        for region, (version, count) in current.items()
    }
