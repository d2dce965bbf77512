"""An election in a folder: its record, its projection store and the state that links them."""
