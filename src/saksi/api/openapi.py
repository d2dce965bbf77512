"""The OpenAPI 3.1 document of the API, written out by hand so that it states exactly
what the endpoints do (schemathesis checks the server against it)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        }
    },
}
_REGION = {
    "type": "object",
    "required": ["id", "name", "level"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "level": {"type": "string"},
    },
}
_COUNT = {"type": "integer", "minimum": 0}
_TOTALS = {
    "type": "object",
    "required": [
        "region",
        "contest",
        "source",
        "log_size",
        "choices",
        "valid",
        "invalid",
        "voters",
        "dpt",
        "turnout",
        "tps_reported",
        "flagged_tps",
        "missing",
        "fields",
        "tps_total",
        "dpt_total",
    ],
    "properties": {
        "region": _REGION,
        "contest": {"type": "string"},
        "source": {"type": "string"},
        "log_size": _COUNT,
        "choices": {"type": "object", "additionalProperties": _COUNT},
        "valid": {"type": ["integer", "null"]},
        "invalid": {"type": ["integer", "null"]},
        "voters": {"type": ["integer", "null"]},
        "dpt": _COUNT,
        "turnout": {"type": ["number", "null"]},
        "tps_reported": _COUNT,
        "flagged_tps": {"type": "object", "additionalProperties": _COUNT},
        "missing": {"type": "object", "additionalProperties": _COUNT},
        "fields": {"type": "object", "additionalProperties": _COUNT},
        "tps_total": _COUNT,
        "dpt_total": _COUNT,
    },
}
_RECEIPT = {
    "type": "object",
    "required": ["leaf_index", "entry_hash", "payload_hash", "duplicate", "status"],
    "properties": {
        "leaf_index": _COUNT,
        "entry_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "payload_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "duplicate": {"type": "boolean"},
        "status": {"enum": ["ok", "duplicate"]},
    },
}
_LADDER = {
    "type": "object",
    "required": [
        "contest",
        "log_size",
        "region",
        "official_source",
        "figures",
        "recap_form",
        "rows",
        "differences",
        "objections",
        "decisions",
    ],
    "properties": {
        "contest": {"type": "string"},
        "log_size": _COUNT,
        "region": _REGION,
        "official_source": {"type": ["string", "null"]},
        "figures": {
            "type": "object",
            "required": ["recap", "recap_region", "own_recap", "tps"],
            "properties": {
                "recap": {"type": ["object", "null"]},
                "recap_region": {"type": ["string", "null"]},
                "own_recap": {"type": ["object", "null"]},
                "tps": {"type": "object"},
            },
        },
        "recap_form": {"type": ["object", "null"]},
        "rows": {"type": "array"},
        "differences": {"type": "array"},
        "objections": {"type": "array"},
        "decisions": {"type": "array"},
    },
}
_TRAIL = {
    "type": "object",
    "required": ["contest", "tps", "choice", "source", "steps", "log_size"],
    "properties": {
        "contest": {"type": "string"},
        "tps": {"type": "string"},
        "choice": {"type": "string"},
        "source": {"type": ["string", "null"]},
        "log_size": _COUNT,
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "where", "value", "change"],
                "properties": {
                    "step": {"enum": ["tps", "tps_sum", "recap_row", "recap_total"]},
                    "where": {"type": "string"},
                    "value": {"type": ["integer", "null"]},
                    "change": {"type": ["integer", "null"]},
                },
            },
        },
    },
}
_B64_KEY = {"type": "string", "description": "base64 of a raw 32-byte Ed25519 public key"}
_B64_SIG = {"type": "string", "description": "base64 of a 64-byte Ed25519 signature"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ERROR, "refused; nothing was stored") for s in statuses}


_ADMIN_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
    for name in ("Saksi-Key", "Saksi-Nonce", "Saksi-Time", "Saksi-Signature")
]
_SELECTORS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": f"{name} id (default: the first contest, the official source)",
    }
    for name in ("contest", "source")
]


def _region(name: str = "region") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(election: str) -> dict[str, Any]:
    totals = {
        "parameters": _SELECTORS,
        "responses": {"200": _json(_TOTALS, "the tally --json document"), **_errors(400, 404)},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Saksi election results API",
            "version": "1",
            "description": f"Election {election}. Every accepted fact is an entry in a "
            "signed, append-only log served under /log/.",
        },
        "paths": {
            "/api/election.json": {
                "get": {
                    "summary": "The election id (what submitters sign) and the record size",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["election_id", "log_size"],
                                "properties": {
                                    "election_id": {"type": "string"},
                                    "log_size": _COUNT,
                                },
                            },
                            "the election",
                        )
                    },
                }
            },
            "/api/totals.json": {"get": {"summary": "National totals", **totals}},
            "/api/totals/{region}.json": {
                "get": {
                    "summary": "Totals of one region",
                    **totals,
                    "parameters": [_region(), *_SELECTORS],
                }
            },
            "/api/totals/{region}.csv": {
                "get": {
                    "summary": "Totals of one region as one CSV row",
                    "parameters": [_region(), *_SELECTORS],
                    "responses": {
                        "200": {
                            "description": "a header and one row",
                            "content": {"text/csv": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 404),
                    },
                }
            },
            "/api/regions/{region}/children.json": {
                "get": {
                    "summary": "A region's totals and each child's (TPS below a desa)",
                    "parameters": [_region(), *_SELECTORS],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["children"],
                                "properties": {"children": {"type": "array"}},
                            },
                            "the region and its children",
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/tps/{tps_id}.json": {
                "get": {
                    "summary": "Every source's versions of one TPS's forms, with proofs",
                    "parameters": [_region("tps_id")],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["tps_id", "regions", "forms", "log_size", "log"],
                            },
                            "the TPS",
                        ),
                        **_errors(404),
                    },
                }
            },
            "/api/flags.json": {
                "get": {
                    "summary": "Current forms that break a consistency rule",
                    "parameters": _SELECTORS,
                    "responses": {
                        "200": _json(
                            {"type": "object", "required": ["flags", "log_size"]}, "flags"
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/forensics.json": {
                "get": {
                    "summary": "Forensics: flags with likely corrections, region statistics",
                    "parameters": [_SELECTORS[0]],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["contest", "flags", "region_statistics"],
                                "properties": {"flags": {"type": "array"}},
                            },
                            "the saksi forensics --json report",
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/history.json": {
                "get": {
                    "summary": "National totals sampled at most every ten seconds",
                    "parameters": _SELECTORS,
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["contest", "source", "samples"],
                                "properties": {"samples": {"type": "array"}},
                            },
                            "the samples, oldest first",
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/results": {
                "post": {
                    "summary": "Submit a signed result form (or a correction)",
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["form", "key", "sig"],
                            "additionalProperties": False,
                            "properties": {
                                "form": {"type": "object"},
                                "key": _B64_KEY,
                                "sig": _B64_SIG,
                            },
                        }
                    ),
                    "responses": {
                        "201": _json(_RECEIPT, "recorded (durable)"),
                        "200": _json(_RECEIPT, "the same form was recorded before"),
                        **_errors(400, 413, 422, 429),
                    },
                }
            },
            "/api/ladder/{region_id}.json": {
                "get": {
                    "summary": "A region's ladder: the recap figure, the official TPS sum and "
                    "each other source's sum side by side, its recap form's rows against the "
                    "sums from below, the differences, objections and decisions",
                    "parameters": [_region("region_id"), _SELECTORS[0]],
                    "responses": {
                        "200": _json(_LADDER, "the region's ladder"),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/ladder/trail/{tps_id}.json": {
                "get": {
                    "summary": "One choice's votes from a TPS up to the national figure",
                    "parameters": [
                        _region("tps_id"),
                        {
                            "name": "choice",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "a choice id, or valid, invalid, voters (default: "
                            "the ballot's first choice)",
                        },
                        _SELECTORS[0],
                    ],
                    "responses": {
                        "200": _json(_TRAIL, "each step of the ladder"),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/entries": {
                "post": {
                    "summary": "Record a key registration or revocation, enrolment codes, a "
                    "device's enrolment, or a ladder entry: a recap form, a witness's "
                    "objection, a Bawaslu recommendation or a recap body's decision",
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["type", "payload", "key", "sig"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {
                                    "enum": [
                                        "keys_register",
                                        "keys_revoke",
                                        "enrolment_codes",
                                        "enrolment",
                                        "recap_form",
                                        "objection",
                                        "recommendation",
                                        "decision",
                                    ]
                                },
                                "payload": {"type": "object"},
                                "key": _B64_KEY,
                                "sig": _B64_SIG,
                            },
                        }
                    ),
                    "responses": {
                        "201": _json(_RECEIPT, "recorded (durable)"),
                        "200": _json(_RECEIPT, "the same ladder entry was recorded before"),
                        **_errors(400, 403, 413, 422, 429),
                    },
                }
            },
            "/api/admin/publish": {
                "post": {
                    "summary": "Publish now and sign a checkpoint (admin request)",
                    "parameters": _ADMIN_HEADERS,
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "properties": {"exports": {"type": "boolean"}},
                        },
                        required=False,
                    ),
                    "responses": {
                        "200": _json(
                            {"type": "object", "required": ["size", "root", "origin"]},
                            "the signed checkpoint",
                        ),
                        **_errors(400, 401, 403, 409, 413),
                    },
                }
            },
            "/api/admin/decisions": {
                "post": {
                    "summary": "Record an official decision (admin request)",
                    "parameters": _ADMIN_HEADERS,
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["payload", "sig"],
                            "properties": {"payload": {"type": "object"}, "sig": _B64_SIG},
                        }
                    ),
                    "responses": {
                        "201": _json(_RECEIPT, "recorded (durable)"),
                        **_errors(400, 401, 403, 409, 413, 422),
                    },
                }
            },
            "/api/photos": {
                "post": {
                    "summary": "Upload a form photo (JPEG or PNG, no GPS metadata)",
                    "parameters": [
                        {"name": "Saksi-Key", "in": "header", "required": True, "schema": _B64_KEY},
                        {
                            "name": "Saksi-Signature",
                            "in": "header",
                            "required": True,
                            "schema": _B64_SIG,
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "responses": {
                        "201": _json(
                            {"type": "object", "required": ["sha256", "size", "media_type"]},
                            "stored under its SHA-256",
                        ),
                        **_errors(400, 401, 403, 413, 415, 422, 429),
                    },
                }
            },
        },
    }
