import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import engine_util  # noqa: E402


@pytest.fixture(scope="session")
def kernel_objs(tmp_path_factory):
    """tinynn compiled once for the host."""
    return engine_util.build_kernels(tmp_path_factory.mktemp("tinynn"))
