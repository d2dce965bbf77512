"""`saksi submit` and `saksi enrol`: the client library from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from saksi.cli.progress import console
from saksi.client.submitter import Client
from saksi.errors import SaksiError
from saksi.keys.ed25519 import SigningKey

__all__ = ["enrol", "submit"]

KEY_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def _json_file(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SaksiError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise SaksiError(f"{path} must hold one form, a JSON object")
    return value


@click.command()
@click.argument("url")
@click.option("--key", "key_file", type=KEY_FILE, required=True, help="The device's key file.")
@click.option(
    "--form", "form_file", type=KEY_FILE, required=True, help="The form as JSON (no photos)."
)
@click.option(
    "--photo",
    "photos",
    type=KEY_FILE,
    multiple=True,
    help="A page of the form, JPEG or PNG (repeatable); its metadata is stripped first.",
)
@click.option("--replaces", default=None, help="Payload hash of the version this corrects.")
def submit(
    url: str, key_file: Path, form_file: Path, photos: tuple[Path, ...], replaces: str | None
) -> None:
    """Sign a result form with KEY and submit it, with its photos, to the server at URL;
    print the receipt as JSON."""
    form = _json_file(form_file)
    with Client(url, SigningKey.load(key_file)) as client:
        receipt = client.submit_form(form, [p.read_bytes() for p in photos], replaces)
    click.echo(json.dumps(receipt, indent=1))


@click.group()
def enrol() -> None:
    """Issue one-time enrolment codes, and enrol a device with one."""


@enrol.command("codes")
@click.argument("url")
@click.option("--key", "key_file", type=KEY_FILE, required=True, help="The key manager's key.")
@click.option("--source", required=True, help="The source whose devices will enrol.")
@click.option(
    "--tps-file",
    type=KEY_FILE,
    required=True,
    help="TPS ids, one a line (or the first column of a CSV with a header tps_id).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the codes (CSV: tps_id,code). Keep it secret until handed out.",
)
def enrol_codes(url: str, key_file: Path, source: str, tps_file: Path, out: Path) -> None:
    """Issue a new code for each TPS in TPS_FILE; the log records only their digests."""
    lines = [line.split(",")[0].strip() for line in tps_file.read_text().splitlines()]
    tps_ids = [t for t in lines if t and t != "tps_id"]
    if not tps_ids:
        raise SaksiError(f"{tps_file} lists no TPS")
    if out.exists():
        raise SaksiError(f"{out} exists; codes are never overwritten")
    with Client(url, SigningKey.load(key_file)) as client:
        codes = client.issue_codes(source, tps_ids)
    with out.open("x", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["tps_id", "code"])
        writer.writerows(codes.items())
    out.chmod(0o600)
    console.print(f"issued {len(codes):,} enrolment codes for source {source} into {out}")


@enrol.command("device")
@click.argument("url")
@click.option("--source", required=True, help="The source the device submits for.")
@click.option("--tps", "tps_id", required=True, help="The device's TPS.")
@click.option("--code", required=True, help="The TPS's enrolment code.")
@click.option(
    "--key-out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to keep the device's new private key.",
)
def enrol_device(url: str, source: str, tps_id: str, code: str, key_out: Path) -> None:
    """Make a new key for this device and register it for its TPS with the code."""
    if key_out.exists():
        raise SaksiError(f"{key_out} exists; a device key is never overwritten")
    key = SigningKey.generate()
    key.save(key_out)  # kept before the log registers it
    try:
        with Client(url, key) as client:
            receipt = client.enrol(source, tps_id, code)
    except BaseException:
        key_out.unlink()
        raise
    console.print(
        f"enrolled key {key.public_b64} for TPS {tps_id}, source {source} "
        f"(leaf {receipt['leaf_index']}); its private key is in {key_out}"
    )
