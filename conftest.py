"""Root conftest: doctests in the packages get the same precision-restoring fixture as tests/.

Hypothesis runs under the ``catapult`` settings profile (registered in :mod:`catapult.verify.strategies`: no
deadline, too_slow / filter_too_much health checks off); ``HYPOTHESIS_PROFILE=catapult-ci`` adds
derandomize=True and no example database.
"""

import os

import flint
import mpmath
import pytest
from hypothesis import settings

import catapult.verify.strategies  # noqa: F401  (registers the profiles)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "catapult"))


@pytest.fixture(autouse=True)
def _restore_precision():
    dps, prec = mpmath.mp.dps, flint.ctx.prec
    yield
    mpmath.mp.dps = dps
    flint.ctx.prec = prec
