"""History of the national totals: a sample of each contest and source's national figures
at most every ten seconds while the record grows, kept in ELECTION_DIR/history.jsonl.

Operational, like the server's clock: the figures at each `log_size` can be recomputed
from the record, the times cannot. The file is only ever appended to.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from saksi.election.election import Election
from saksi.tally.query import tally_report

__all__ = ["History"]

_KEPT = ("log_size", "choices", "valid", "invalid", "voters", "turnout", "tps_reported")


class History:
    def __init__(self, path: Path, every: float = 10.0) -> None:
        self.path, self.every = path, every
        self._lock = threading.Lock()
        self._samples: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    self._samples.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
        self._last = 0.0
        self._size = self._samples[-1]["log_size"] if self._samples else 0

    def maybe_record(self, election: Election) -> None:
        """Called by the writer after a commit: sample if due and the record grew."""
        now = time.monotonic()
        size = len(election.record)
        if size <= self._size or now - self._last < self.every:
            return
        store = election.store
        pairs = store.query("SELECT contest, source FROM tally_layouts ORDER BY contest, source")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        samples = []
        for contest, source in pairs:
            report = tally_report(store, region="ID", contest=contest, source=source)
            sample = {k: report[k] for k in _KEPT}
            samples.append({"time": stamp, "contest": contest, "source": source, **sample})
        store.rollback()
        with self._lock:
            self._samples.extend(samples)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(s, sort_keys=True) + "\n" for s in samples)
        self._last, self._size = now, size

    def of(self, contest: str, source: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self._samples if s["contest"] == contest and s["source"] == source]
