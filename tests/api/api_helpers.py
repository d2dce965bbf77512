"""A small election served by `saksi serve` on loopback, and what tests sign with."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from saksi.cli.readonly import open_store_readonly
from saksi.keys.ed25519 import SigningKey
from support import pemilu2019_election, run_saksi, serving_election, tps_csv

CONTEST, SOURCE = "PPWP", "kpps"


def build_election(root: Path, *, cadence: int | None = None) -> Path:
    """The 2019 manifest over 20 desas of 2 TPS each, its log published once; with
    ``cadence``, the server publishes in the background every that many entries."""
    folder = root / "election"
    election = pemilu2019_election(folder, tps_csv(root / "tps.csv", 20, 2))
    election.publish_log()
    election.close()
    if cadence is not None:
        config = folder / "saksi.toml"
        config.write_text(config.read_text() + f"\n[log]\ncheckpoint_every_entries = {cadence}\n")
    return folder


def verify_served(url: str, folder: Path, mirror: Path) -> tuple[int, dict[str, Any]]:
    """`saksi verify URL --json` as a user runs it, pinning the election's log key, with
    the mirror in ``mirror``: its exit code and its report."""
    vkey = run_saksi("log", "vkey", folder).stdout.strip()
    result = subprocess.run(
        [
            *(sys.executable, "-m", "saksi", "verify", url, "--vkey", vkey),
            *("--json", "--no-state", "--mirror", str(mirror)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


def publish(url: str, folder: Path) -> dict[str, Any]:
    """Ask the server to publish now, as the admin."""
    from saksi.client.submitter import Client

    with Client(url, SigningKey.load(folder / "keys" / "admin.key"), timeout=120) as admin:
        return admin.publish()


def manager(folder: Path, source: str = SOURCE) -> SigningKey:
    """The source's key manager (read from its key file: the server holds the folder)."""
    return SigningKey.load(folder / "keys" / f"manager-{source}.key")


@contextmanager
def running(folder: Path, *extra: str) -> Iterator[str]:
    with serving_election(folder, *extra) as url:
        yield url


def form(tps: str, a: int = 10, b: int = 20, source: str = SOURCE) -> dict[str, Any]:
    valid = a + b
    return {
        "tps": tps,
        "contest": CONTEST,
        "source": source,
        "votes": {"01": a, "02": b},
        "fields": {"suara_sah": valid, "suara_tidak_sah": 1, "pengguna_hak_pilih": valid + 1},
    }


def png(text: str = "C.Hasil", *, gps: bool = False, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("L", size, 255)
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0)}  # GPSLatitudeRef, GPSLatitude
    exif[0x010E] = text  # ImageDescription: makes each photo distinct
    out = io.BytesIO()
    image.save(out, "PNG", exif=exif)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 32), (200, 200, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def state_of(folder: Path) -> tuple[str, str, dict[str, str]]:
    """The record's hash, the projection dump's and every published file's: what a
    refused request must leave exactly as it was."""
    record = hashlib.sha256((folder / "record" / "entries").read_bytes()).hexdigest()
    with open_store_readonly(folder) as store:
        dump = hashlib.sha256("\n".join(store.dump()).encode()).hexdigest()
    public = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "public").rglob("*"))
        if p.is_file()
    }
    return record, dump, public
