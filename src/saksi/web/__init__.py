"""The public results website: pages, assets and the map."""
