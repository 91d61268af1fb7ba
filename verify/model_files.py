"""The example user-model files shipped with catapult (``verify/models/*.toml``), by name.

>>> sorted(EXAMPLES)
['mup', 'quadratic', 'three_layer', 'two_outputs', 'uv_bias']
>>> from catapult.theory.model_file import load_model_file
>>> load_model_file(EXAMPLES["quadratic"]).model.ntk
uu/n
"""

import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")

#: name -> path of each shipped model file
EXAMPLES = {os.path.splitext(fn)[0]: os.path.join(HERE, fn) for fn in sorted(os.listdir(HERE)) if fn.endswith(".toml")}
