"""Ed25519 keys: files on disk, signatures over entries, and who may sign what."""
