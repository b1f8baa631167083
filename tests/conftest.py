"""The test suite's set-up: fixtures by theme (``tests/fixtures/``), markers, Hypothesis.

Fixtures: :mod:`fixtures.data` (the real data of ``../shared/data``, an empty
``PARCOURS_HOME``, French by default) and :mod:`fixtures.demo` (the cached demo world).

Hypothesis (and schemathesis, which runs on it) use the profile named by
``HYPOTHESIS_PROFILE``: ``repro`` by default, derandomized, so that ``make test`` and CI
draw the same examples on every run and a red run means a change broke something;
``fuzz`` (``make fuzz``) draws at random, many more examples, and keeps what fails in
``.hypothesis/`` to replay it. A case found by fuzzing is fixed and kept as an explicit
test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["fixtures.data", "fixtures.demo"]

settings.register_profile("repro", derandomize=True, database=None, print_blob=True)
settings.register_profile(
    "fuzz",
    max_examples=500,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repro"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with end-to-end (``slow``) tests first, the quick ones after.

    pytest-xdist (``--dist loadfile``) hands whole modules to the workers in this order:
    the long ones started first, the short ones fill the end, so both workers finish
    together instead of one waiting for the other's last long module.
    """
    heavy = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in heavy)
