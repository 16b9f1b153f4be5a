import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public corpora beside the repo (CI has them); never copied into the repo."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real corpora not found at {SHARED_DATA} (set DOMAINFORGE_SHARED_DATA)")
    return SHARED_DATA
