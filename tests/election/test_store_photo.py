"""Photos are stored whole under their hash, also when the same photo arrives twice at
once (the HTTP server stores them from several threads)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import pemilu2019_election


def test_the_same_photo_stored_from_many_threads_at_once(tmp_path: Path) -> None:
    election = pemilu2019_election(tmp_path / "election")
    photo = b"\x89PNG page 1 " * 200_000  # large enough for the writes to overlap
    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(lambda _: election.store_photo(photo), range(16)))
    expected = hashlib.sha256(photo).hexdigest()
    assert set(digests) == {expected}
    stored = election.folder.photo_path(expected)
    assert stored.read_bytes() == photo
    assert [p.name for p in stored.parent.iterdir()] == [expected]  # no temporary left
    election.close()
