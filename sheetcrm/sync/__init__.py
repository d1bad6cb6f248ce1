"""The pure sync pipeline steps (no I/O)."""
