"""What a run is made of: runner contexts, materials and their file formats."""
