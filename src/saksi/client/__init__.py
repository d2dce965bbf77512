"""A small client for the HTTP API: sign and submit forms, photos and key entries."""
