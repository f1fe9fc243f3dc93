"""Where the tests find the Zuo et al. (2020) benchmark data: ``../shared/datasets/zuo2020``
next to the project. A user's clone has none; the tests that need it skip with
:data:`ABSENT` as their reason, so that ``pytest -rs`` says where they looked."""

from pathlib import Path

ZUO = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "zuo2020"

ABSENT = f"needs the Zuo et al. data, not found at {ZUO} (../shared/datasets/zuo2020)"
