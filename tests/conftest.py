"""Shared test settings."""

import pytest


@pytest.fixture(autouse=True)
def _small_rows_disk_margin(monkeypatch):
    """Keep the training rows whatever the host's free disk space: the product leaves
    2 GiB free, which a busy scratch disk may not have, and the tests' rows are tiny.
    The margin logic itself is tested with a mocked ``disk_usage``."""
    from acefit import assembly

    monkeypatch.setattr(assembly, "ROWS_DISK_MARGIN", 64 * 2 ** 20)
