"""catapult.numerics -- the independent oracle: gradient descent on the actual parameters, at any precision.

Never imports :mod:`catapult.theory` or :mod:`catapult.verify`, so it can refute a derivation.  What users call:

>>> from catapult.numerics import UVModel, squared, agreed_phase
>>> agreed_phase(UVModel(64, seed=1), squared(), eta_lam0=3.0).phase.value
'catapult'
"""

from .backends import Backend, get_backend
from .bracket import Bracket, bisect, bisect_ladder
from .deep import DeepLinearModel
from .errors import NumericsInputError
from .gd import Trajectory, run_gd
from .gram_model import GramModel
from .losses import DataLoss, NumericLoss, squared
from .models import UVDataModel, UVModel
from .phase import Phase, agreed_phase
from .search import scan
from .stop import Stop, StopRule

__all__ = ["Backend", "get_backend", "Bracket", "bisect", "bisect_ladder", "DeepLinearModel", "NumericsInputError",
           "Trajectory", "run_gd", "GramModel", "DataLoss", "NumericLoss", "squared", "UVDataModel", "UVModel",
           "Phase", "agreed_phase", "scan", "Stop", "StopRule"]
