"""The HTTP API: signed submissions, enrolment, public reads (docs/api.md)."""
