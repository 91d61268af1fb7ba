"""Root conftest: doctests in the packages get the same precision-restoring fixture as tests/.

Hypothesis runs under the ``catapult`` settings profile (registered in :mod:`catapult.verify.strategies`: no
deadline, too_slow / filter_too_much health checks off); ``HYPOTHESIS_PROFILE=catapult-ci`` adds
derandomize=True and no example database.
"""

import os
import sys

import flint
import mpmath
import pytest
from hypothesis import settings



class _InstalledNamesOnly:
    """theory/, numerics/, verify/ are installed as catapult.*: a bare ``import theory`` from the checkout would
    load a second copy of the package (different classes, different caches), so it fails here."""

    def find_spec(self, name, path=None, target=None):
        if name in ("theory", "numerics", "verify"):
            raise ImportError(f"import catapult.{name}, not {name!r} (the installed name)")
        return None


sys.meta_path.insert(0, _InstalledNamesOnly())

import catapult.verify.strategies  # noqa: E402,F401  (registers the profiles)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "catapult"))


@pytest.fixture(autouse=True)
def _restore_precision():
    dps, prec = mpmath.mp.dps, flint.ctx.prec
    yield
    mpmath.mp.dps = dps
    flint.ctx.prec = prec
