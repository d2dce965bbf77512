"""The publication folder ELECTION_DIR/public: totals, flags, photos and open-data
exports, listed with their SHA-256 in an index that a publication entry commits."""
