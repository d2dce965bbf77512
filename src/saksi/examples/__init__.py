"""Example elections: the real 2019 PPWP data and a seeded synthetic national election."""
