"""The region tree and polling stations (TPS) with their DPT, as the record holds them."""
