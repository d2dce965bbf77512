"""How plausible a TPS's votes are beside its neighbours': the third factor of a likely
correction's score (saksi.forensics.correction), as a ratio over flat models.

The neighbours' model is a kernel mixture: one Dirichlet-multinomial per neighbour
centred on its vote shares (on ballots of a few choices, ``MAX_SHARE_CHOICES``), one
beta-binomial on its turnout (valid votes out of DPT plus
reserve) and one on its invalid votes out of its voters, so that a desa with two kinds of
TPS keeps both instead of averaging them away. Each is mixed with the flat model
(``FLAT_MIX``) so that an odd TPS is never ruled out. Neighbours with close TPS numbers
in the same desa weigh more. Ballots received are weighed against the DPT plus the 2%
reserve a TPS is given (``RECEIVED_AT_RESERVE``).

A desa can hold 300 TPS and the report corrects many of its forms against the same list,
so a ``Neighbourhood`` holds the neighbours as arrays, with what does not depend on the
form being weighed worked out once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped]

from saksi.ingest.rules import reserve_cap

__all__ = [
    "FLAT_MIX",
    "Form",
    "Kernels",
    "Neighbourhood",
    "Plausibility",
    "gap",
    "log_dirichlet_multinomial",
    "reserve_caps",
]

FLAT_MIX = 0.05  # share of the flat model in the neighbours' models
MIN_NEIGHBOURS = 3
# Fitted without labels on the consistent 2019 Situng forms, each predicted from the rest
# of its desa (bench/correction_priors_2019.py): the concentration of each neighbour's
# kernel, and how fast a neighbour's weight falls with the gap between TPS numbers (TPS
# with close numbers serve adjacent streets: their shares differ a third as much).
SHARE_CONCENTRATION = 100.0  # shares within about ±0.05 of the neighbour's
# Shares are weighed only on ballots of a few choices, like the presidential one (2 pairs
# in 2019, 3 in 2024), on which the kernels were fitted. On a party-list ballot of dozens
# or hundreds the same concentration falls below one per choice, sparser than the flat
# model: it would favour a corrected form that piles the valid votes on one candidate.
MAX_SHARE_CHOICES = 5
TURNOUT_CONCENTRATION = 1000.0
INVALID_CONCENTRATION = 1000.0
SHARE_CLOSENESS = 2.0  # weight = gap ** -SHARE_CLOSENESS
RATE_CLOSENESS = 1.0  # the same for turnout and invalid votes
FAR_GAP = 10  # a neighbour in another desa weighs as one ten TPS numbers away
# BRIEF: a TPS receives DPT plus a 2% reserve in ballots (of the registry's DPT or the
# form's own). A correction that moves ballots received away from that figure (or onto
# it) is weighed by this prior: the figure itself with RECEIVED_AT_RESERVE, any of
# RECEIVED_SPREAD values near it with the rest. Round priors, not fitted: the 2019 forms
# carry no ballot figures.
RECEIVED_AT_RESERVE = 0.9
RECEIVED_SPREAD = 50


@dataclass(frozen=True, slots=True)
class Form:
    """One source's copy of one TPS's form; ``dpt`` is the registry DPT of the TPS and
    ``place`` its desa and TPS number (None: every neighbour weighs the same)."""

    votes: Mapping[str, int]
    fields: Mapping[str, int]
    dpt: int | None = None
    place: tuple[str, int] | None = None  # (desa id, TPS number), to weigh neighbours


class Neighbourhood:
    """Forms of one source near a TPS, to weigh other forms against: those whose votes
    add up, held as arrays per list of choices."""

    def __init__(self, forms: Sequence[Form]):
        self.forms = tuple(forms)
        self._tables: dict[tuple[str, ...], _Table] = {}

    def table(self, choices: tuple[str, ...]) -> _Table:
        found = self._tables.get(choices)
        if found is None:
            usable = [f for f in self.forms if _consistent_votes(f, choices)]
            found = self._tables[choices] = _Table.of(usable, choices)
        return found


class Plausibility:
    """Likelihood ratio of a TPS's figures: the neighbours' model over the flat model.
    ``past_ballots`` is the weight of more valid votes than the TPS had ballots: no
    neighbour explains that, only a second error on the form."""

    def __init__(self, form: Form, neighbours: Neighbourhood | Sequence[Form], past_ballots: float):
        hood = neighbours if isinstance(neighbours, Neighbourhood) else Neighbourhood(neighbours)
        self.choices = tuple(form.votes)
        self.dpt = form.dpt
        self.past_ballots = past_ballots
        self.caps = reserve_caps(form)
        self.received = _received_prior(form.fields.get("surat_suara_diterima"), self.caps)
        table = hood.table(self.choices)
        gaps = table.gaps(form)
        self.shares, self.turnouts, self.invalid = (
            rows.weighed(gaps[mask] ** -power) if rows is not None else EMPTY
            for rows, mask, power in (
                (table.shares, slice(None), SHARE_CLOSENESS),
                (table.turnouts if self.dpt else None, table.within, RATE_CLOSENESS),
                (table.invalid, table.holds, RATE_CLOSENESS),
            )
        )

    def ratio(self, form: Form) -> float:
        counts = [form.votes[c] for c in self.choices]
        out = _received_prior(form.fields.get("surat_suara_diterima"), self.caps) / self.received
        if self.shares:
            flat = log_dirichlet_multinomial(counts, [1.0] * len(counts))
            out *= self.shares.ratio(counts, flat)
        n = sum(counts)
        if self.invalid:
            out *= self._invalid_ratio(form, n)
        if self.dpt:
            trials = reserve_cap(self.dpt)
            if n > trials:
                return out * self.past_ballots
            if self.turnouts:
                out *= self.turnouts.ratio([n, trials - n], -math.log(trials + 1))
        return out

    def _invalid_ratio(self, form: Form, valid: int) -> float:
        """The invalid count is the typed one, or voters minus valid when page 1 is left
        broken and the invalid figure is the second error: the likelier reading counts."""
        voters, typed = form.fields.get("pengguna_hak_pilih"), form.fields.get("suara_tidak_sah")
        readings = {typed} if typed is not None else set()
        if voters is not None:
            readings.add(voters - valid)
        if not readings:
            return 1.0  # no page 1: nothing to weigh
        best = FLAT_MIX  # more valid votes than voters, and no invalid figure
        for invalid in readings:
            if invalid >= 0:
                flat = -math.log(valid + invalid + 1)
                best = max(best, self.invalid.ratio([valid, invalid], flat))
        return best


@dataclass(frozen=True, slots=True)
class _Rows:
    """Dirichlet-multinomial kernels, one row of alphas each, with the terms that do not
    depend on the counts: each row's total and lgamma(total) - sum of lgamma(alpha)."""

    alphas: npt.NDArray[np.float64]
    total: npt.NDArray[np.float64]
    constant: npt.NDArray[np.float64]

    @classmethod
    def of(cls, alphas: npt.ArrayLike) -> _Rows:
        rows = np.asarray(alphas, dtype=float)
        total = rows.sum(axis=1)
        return cls(rows, total, special.gammaln(total) - special.gammaln(rows).sum(axis=1))

    def weighed(self, weights: npt.NDArray[np.float64]) -> Kernels:
        return Kernels(self, weights / weights.sum())


@dataclass(frozen=True, slots=True)
class Kernels:
    """A weighted mixture of Dirichlet-multinomial kernels (weights summing to 1)."""

    rows: _Rows
    weights: npt.NDArray[np.float64]

    @classmethod
    def of(cls, alphas: npt.ArrayLike, weights: npt.ArrayLike) -> Kernels:
        return _Rows.of(alphas).weighed(np.asarray(weights, dtype=float))

    def __len__(self) -> int:
        return len(self.weights)

    def ratio(self, counts: Sequence[int], flat: float) -> float:
        """Ratio of the mixture (mixed with the flat model) to the flat model, whose log
        likelihood of ``counts`` is ``flat``."""
        n = sum(counts)
        x = np.array(counts, dtype=float)
        rows = self.rows
        # The log Dirichlet-multinomial of the counts under every kernel at once.
        logs = (
            math.lgamma(n + 1)
            - sum(math.lgamma(c + 1) for c in counts)
            + rows.constant
            - special.gammaln(n + rows.total)
            + special.gammaln(x + rows.alphas).sum(axis=1)
            - flat
        )
        top = float(logs.max())
        mean = math.exp(top) * float(self.weights @ np.exp(logs - top))
        return FLAT_MIX + (1 - FLAT_MIX) * mean


EMPTY = Kernels(_Rows.of(np.empty((0, 2))), np.empty(0))


@dataclass(frozen=True, slots=True)
class _Table:
    """A neighbourhood's forms whose votes add up, for one list of choices: where each
    is, and its kernels (None where too few neighbours have the figures)."""

    desas: dict[object, int]  # each desa id, by a code of its own
    codes: npt.NDArray[np.int64]  # each neighbour's desa code (-1: no place)
    numbers: npt.NDArray[np.int64]
    shares: _Rows | None
    within: npt.NDArray[np.bool_]  # a DPT, and valid votes within DPT + 2%
    turnouts: _Rows | None
    holds: npt.NDArray[np.bool_]  # page 1 adds up
    invalid: _Rows | None

    @classmethod
    def of(cls, usable: Sequence[Form], choices: tuple[str, ...]) -> _Table:
        k = len(usable)
        votes = np.array([[f.votes[c] for c in choices] for f in usable], dtype=float)
        votes = votes.reshape(k, len(choices))
        valid = votes.sum(axis=1)
        shares = None
        if k >= MIN_NEIGHBOURS and len(choices) <= MAX_SHARE_CHOICES:
            size = valid + 0.5 * len(choices)
            shares = _Rows.of(SHARE_CONCENTRATION * (votes + 0.5) / size[:, None])
        dpt = np.array([f.dpt or 0 for f in usable], dtype=np.int64)
        cap = reserve_cap(dpt)
        within = (dpt > 0) & (valid <= cap)
        turnouts = None
        if np.count_nonzero(within) >= MIN_NEIGHBOURS:
            rate = (valid[within] + 0.5) / (cap[within] + 1)
            turnouts = _Rows.of(_beta(TURNOUT_CONCENTRATION, rate, 1 - rate))
        # Invalid votes out of voters: a rate of a few percent nearly everywhere, so page 1
        # tells a corrected total that leaves a plausible invalid count from one that does not.
        holds = np.array([_page_one_holds(f) for f in usable], dtype=bool)
        invalid = None
        if np.count_nonzero(holds) >= MIN_NEIGHBOURS:
            voters = np.array([f.fields.get("pengguna_hak_pilih", 0) for f in usable])[holds]
            rate = (voters - valid[holds] + 0.5) / (voters + 1)
            invalid = _Rows.of(_beta(INVALID_CONCENTRATION, 1 - rate, rate))
        desas: dict[object, int] = {}
        codes = [
            -1 if f.place is None else desas.setdefault(f.place[0], len(desas)) for f in usable
        ]
        return cls(
            desas,
            np.array(codes, dtype=np.int64),
            np.array([0 if f.place is None else f.place[1] for f in usable], dtype=np.int64),
            shares,
            within,
            turnouts,
            holds,
            invalid,
        )

    def gaps(self, form: Form) -> npt.NDArray[np.float64]:
        """Each neighbour's ``gap`` from ``form``, as floats."""
        if form.place is None:
            return np.ones(len(self.numbers))
        desa, number = form.place
        near = np.maximum(np.abs(self.numbers - number), 1)
        out = np.where(self.codes == self.desas.get(desa, -2), near, FAR_GAP)
        return np.where(self.codes >= 0, out, 1).astype(float)


def gap(form: Form, other: Form) -> int:
    """The gap between two TPS numbers, at least 1 (1 too where either has no place);
    a neighbour weighs gap ** -closeness."""
    if form.place is None or other.place is None:
        return 1
    (desa, number), (other_desa, other_number) = form.place, other.place
    return max(abs(number - other_number), 1) if desa == other_desa else FAR_GAP


def log_dirichlet_multinomial(counts: Sequence[int], alphas: Sequence[float]) -> float:
    n, a = sum(counts), sum(alphas)
    out = math.lgamma(n + 1) + math.lgamma(a) - math.lgamma(n + a)
    for x, alpha in zip(counts, alphas, strict=True):
        out += math.lgamma(x + alpha) - math.lgamma(alpha) - math.lgamma(x + 1)
    return out


def reserve_caps(form: Form) -> tuple[int, ...]:
    """The ballots the TPS may have been given: DPT + 2% of the registry's DPT and of the
    DPT written on the form (the registry's can lag the list the TPS was supplied by)."""
    dpts = {form.dpt, form.fields.get("dpt")}
    return tuple(sorted(reserve_cap(d) for d in dpts if d))


def _received_prior(received: int | None, caps: tuple[int, ...]) -> float:
    """Prior of ballots received (1.0: not weighed, where nothing says what was given)."""
    if received is None or not caps:
        return 1.0
    if received in caps:
        return RECEIVED_AT_RESERVE
    return (1 - RECEIVED_AT_RESERVE) / RECEIVED_SPREAD


def _beta(
    concentration: float, first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Beta kernels, one row per neighbour: its two rates, times the concentration."""
    return np.stack([concentration * first, concentration * second], axis=1)


def _page_one_holds(form: Form) -> bool:
    valid, voters = form.fields.get("suara_sah"), form.fields.get("pengguna_hak_pilih")
    invalid = form.fields.get("suara_tidak_sah")
    return (
        valid is not None
        and voters is not None
        and invalid is not None
        and voters > 0
        and valid + invalid == voters
    )


def _consistent_votes(form: Form, choices: Sequence[str]) -> bool:
    if tuple(form.votes) != tuple(choices) or sum(form.votes.values()) == 0:
        return False
    valid = form.fields.get("suara_sah")
    return valid is None or valid == sum(form.votes.values())
