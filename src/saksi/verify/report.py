"""What a verification found: failures with where and what, and a summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Failure", "Refused", "Report", "VerificationFailed"]


@dataclass(frozen=True, slots=True)
class Failure:
    check: str  # e.g. "checkpoint", "root", "signature", "totals"
    message: str
    leaf_index: int | None = None
    tps: str | None = None
    region: str | None = None
    file: str | None = None
    expected: Any = None
    found: Any = None

    def text(self) -> str:
        where = [
            f"leaf {self.leaf_index}" if self.leaf_index is not None else "",
            f"TPS {self.tps}" if self.tps else "",
            f"region {self.region}" if self.region else "",
            f"file {self.file}" if self.file else "",
        ]
        place = ", ".join(w for w in where if w)
        line = f"[{self.check}] {self.message}" + (f" ({place})" if place else "")
        if self.expected is not None or self.found is not None:
            line += f": expected {self.expected!r}, found {self.found!r}"
        return line

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Refused(Exception):
    """An entry that the record must not hold (raised by the replay, reported there)."""


class VerificationFailed(Exception):
    """Raised to stop at a failure after which later checks cannot be trusted."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.text())
        self.failure = failure


@dataclass
class Report:
    source: str
    size: int = 0
    root: str = ""
    witnesses: list[str] = field(default_factory=list)
    entries_checked: int = 0
    forms_checked: int = 0
    signatures_checked: int = 0
    totals_checked: int = 0
    flags_checked: int = 0
    photos_checked: int = 0
    recap_forms_checked: int = 0
    ladder_checked: int = 0  # published ladder files compared
    ladder_differences_checked: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    truncated: bool = False  # failures beyond MAX_FAILURES were dropped
    MAX_FAILURES = 200  # enough to see a pattern; a broken log would give millions

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, failure: Failure) -> None:
        if len(self.failures) < self.MAX_FAILURES:
            self.failures.append(failure)
        else:
            self.truncated = True

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "size": self.size,
            "root": self.root,
            "witnesses": self.witnesses,
            "entries_checked": self.entries_checked,
            "forms_checked": self.forms_checked,
            "signatures_checked": self.signatures_checked,
            "totals_checked": self.totals_checked,
            "flags_checked": self.flags_checked,
            "photos_checked": self.photos_checked,
            "recap_forms_checked": self.recap_forms_checked,
            "ladder_checked": self.ladder_checked,
            "ladder_differences_checked": self.ladder_differences_checked,
            "seconds": round(self.seconds, 3),
            "failures": [f.to_json() for f in self.failures],
            "failures_truncated": self.truncated,
        }
