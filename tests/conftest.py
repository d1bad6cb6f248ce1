"""Test-wide settings."""

import os

from hypothesis import HealthCheck, settings

# CI explores the same examples on every run, so a red build always reproduces; a developer's
# run keeps drawing new ones.
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
