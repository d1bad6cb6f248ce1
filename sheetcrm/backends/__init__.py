"""I/O backends. Each reads every tab into raw grids and applies a change set."""
