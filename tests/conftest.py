"""Shared test settings."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _small_rows_disk_margin():
    """Keep the training rows whatever the host's free disk space: the product leaves
    2 GiB free, which a busy scratch disk may not have, and the tests' rows are tiny.
    Session-wide, so that the module-scoped fitted runs of the script tests have it too
    (with under 2 GiB free, a function-scoped patch came after them and their runs kept no
    rows). The margin logic itself is tested with a mocked ``disk_usage``."""
    from acefit import assembly

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assembly, "ROWS_DISK_MARGIN", 64 * 2 ** 20)
        yield
