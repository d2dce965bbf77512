"""Where the published files come from: a folder (an election's public/ or a mirror of
it) or the URL of a server that serves that folder. With a mirror folder, files are
copied there as they are fetched, in parallel; immutable files already present (full
tiles and bundles, photos, listed files whose hash matches) are not fetched again, so
an interrupted mirror resumes and a second run fetches only what is new."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from saksi.errors import SaksiError

__all__ = ["FetchError", "Source"]

Progress = Callable[[str, int, int], None]  # (what, done, total)


class FetchError(SaksiError):
    """A file could not be read from the source (not a verification failure)."""


class Source:
    def __init__(
        self,
        location: str,
        mirror: Path | None = None,
        *,
        workers: int = 8,
        progress: Progress | None = None,
    ) -> None:
        self.location = location
        self.remote = urlsplit(location).scheme in ("http", "https")
        self.workers = workers
        self.progress = progress
        self.origin: Path | None = None  # the folder read from, for a folder source
        if self.remote:
            self.local = mirror or Path(".saksi-mirror") / (urlsplit(location).netloc or "server")
            self._client: httpx.Client | None = httpx.Client(
                timeout=30.0, limits=httpx.Limits(max_connections=workers)
            )
        else:
            folder = Path(location)
            if not folder.is_dir():
                raise FetchError(f"{location} is not a folder or an http(s) URL")
            if (folder / "public" / "log" / "checkpoint").exists():
                folder = folder / "public"  # an election folder: read its public/
            self.origin = folder
            self.local = mirror or folder
            self._client = None
        self.local.mkdir(parents=True, exist_ok=True)
        self.in_place = self.local == self.origin  # read where the files are; nothing copied

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def path(self, name: str) -> Path:
        return self.local / name

    def _read_origin(self, name: str) -> bytes | None:
        if self.origin is not None:
            try:
                return (self.origin / name).read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise FetchError(f"cannot read {self.origin / name}: {exc}") from exc
        assert self._client is not None
        url = self.location.rstrip("/") + "/" + name
        try:
            reply = self._client.get(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {exc}") from exc
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise FetchError(f"cannot fetch {url}: HTTP {reply.status_code}")
        return reply.content

    def fetch(self, name: str, *, fresh: bool = True) -> bytes | None:
        """The file's bytes, read from the source (``fresh``) or the mirror if it has it."""
        local = self.path(name)
        if self.in_place:
            try:
                return local.read_bytes()
            except FileNotFoundError:
                return None
        if not fresh and local.exists():
            return local.read_bytes()
        data = self._read_origin(name)
        if data is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.part")
            tmp.write_bytes(data)
            os.replace(tmp, local)
        return data

    def ensure(
        self, names: Iterable[tuple[str, str | None]], what: str, *, fresh: bool = False
    ) -> list[str]:
        """Make each (name, expected sha256 or None) present in the mirror, fetching in
        parallel what is missing or differs; returns the names the source lacks."""
        if self.in_place:
            # Read in place: nothing to fetch; hashes are checked where the files are used.
            return [n for n, _ in names if not self.path(n).exists()]
        todo = [(n, h) for n, h in names if fresh or not _present(self.path(n), h)]
        if not todo:
            return []
        missing: list[str] = []
        done = 0
        with ThreadPoolExecutor(self.workers) as pool:
            for name, data in zip(
                (n for n, _ in todo),
                pool.map(lambda item: self.fetch(item[0]), todo),
                strict=True,
            ):
                if data is None:
                    missing.append(name)
                done += 1
                if self.progress is not None and (done % 256 == 0 or done == len(todo)):
                    self.progress(what, done, len(todo))
        return missing


def _present(path: Path, sha256: str | None) -> bool:
    if not path.exists():
        return False
    if sha256 is None:
        return True
    return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
