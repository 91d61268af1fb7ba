"""Root conftest: doctests in the packages get the same precision-restoring fixture as tests/."""

import flint
import mpmath
import pytest


@pytest.fixture(autouse=True)
def _restore_precision():
    dps, prec = mpmath.mp.dps, flint.ctx.prec
    yield
    mpmath.mp.dps = dps
    flint.ctx.prec = prec
