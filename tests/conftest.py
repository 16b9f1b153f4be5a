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


def pytest_collection_modifyitems(items):
    """Tiers: a test that reads the real corpora (through `shared_data`) is `integration`;
    end-to-end tests (Kedro sessions, training chains, servers) carry `slow` themselves. The rest
    is the hermetic unit tier (`make test-fast`)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
