"""The `saksi` command line: every command a user or script runs."""
