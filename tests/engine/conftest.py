import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import engine_util  # noqa: E402


@pytest.fixture(scope="session")
def kernel_variants(tmp_path_factory):
    """tinynn compiled once per host variant: {"portable": objs, "dsp": objs}."""
    return {v: engine_util.build_kernels(tmp_path_factory.mktemp(f"tinynn_{v}"), v) for v in engine_util.VARIANTS}


@pytest.fixture(scope="session")
def kernel_objs(kernel_variants):
    """The portable kernels (the judge)."""
    return kernel_variants["portable"]
