"""Write one publication: totals, flags, the ladder, photos and (on request) exports,
then the index.

Files change only when their content does; the index, written last and atomically,
lists every file outside log/ with its SHA-256. Its hash goes into a publication entry
(see Election.publish_log), so a published total cannot change later unnoticed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from saksi.log.publish import write_atomically
from saksi.publication.files import PublicFiles
from saksi.publication.flags import write_flags
from saksi.publication.index import INDEX_NAME, PublicationIndex
from saksi.publication.ladder import write_ladder
from saksi.publication.photos import PhotoPublisher
from saksi.publication.totals import TotalsWriter, safe_name
from saksi.store.base import Store
from saksi.tally.export import export_regions, export_tps

__all__ = ["PublicationSummary", "Publisher"]


@dataclass(frozen=True, slots=True)
class PublicationSummary:
    index: PublicationIndex
    digest: str  # SHA-256 of the index bytes, as the publication entry records it
    written: int  # files written by this publication


class Publisher:
    def __init__(self, public_dir: Path, photos_dir: Path, election_id: str) -> None:
        self.root = public_dir
        self.election_id = election_id
        previous = PublicationIndex.load(public_dir / INDEX_NAME)
        self.files = PublicFiles(public_dir, previous.files if previous is not None else {})
        self.totals = TotalsWriter()
        self.photos = PhotoPublisher(photos_dir, self.files)

    def exports_at(self, log_size: int) -> bool:
        """Whether the listed exports reflect ``log_size``."""
        sizes = {f.log_size for p, f in self.files.listed.items() if p.startswith("exports/")}
        return sizes == {log_size}

    def publish(self, store: Store, log_size: int, *, exports: bool) -> PublicationSummary:
        files = self.files
        written = self.totals.write(store, files, log_size)
        written += write_flags(store, files, log_size)
        written += write_ladder(store, files, log_size)
        written += self.photos.write(files)
        if exports:
            written += self._exports(store, log_size)
        files.sync()
        index = PublicationIndex(self.election_id, log_size, dict(files.listed))
        data = index.to_bytes()
        write_atomically(self.root / INDEX_NAME, data)
        return PublicationSummary(index, hashlib.sha256(data).hexdigest(), written)

    def _exports(self, store: Store, log_size: int) -> int:
        count = 0
        contests = [str(r[0]) for r in store.query("SELECT id FROM contests ORDER BY position")]
        sources = [str(r[0]) for r in store.query("SELECT id FROM sources ORDER BY id")]
        for contest in contests:
            for source in sources:
                base = f"exports/{safe_name(contest)}/{safe_name(source)}"
                json_tmp = self.root / base / ".regions.json.build"
                self.files.put_from(
                    f"{base}/tps.csv", partial(export_tps, store, contest, source), log_size
                )
                self.files.put_from(
                    f"{base}/regions.csv",
                    partial(_export_regions, store, contest, source, json_tmp),
                    log_size,
                )
                self.files.put_from(f"{base}/regions.json", json_tmp.replace, log_size)
                count += 3
        return count


def _export_regions(store: Store, contest: str, source: str, json_path: Path, csv: Path) -> None:
    export_regions(store, contest, source, csv, json_path)
