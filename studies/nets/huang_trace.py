"""Loss trace of the linear-net noise10 runs (seed 0) at c = 4, 12, 32: oscillation at the end?"""
import numpy as np
from catapult.numerics import nets as N
from catapult.verify.net_data import load_task
ds = load_task("digits", "even-odd", m=256, label_noise=0.1)
net = N.Net(2, 256, "linear", loss="logistic")
p = N.init(net, 64, 0); lam0 = N.ntk_top(net, p, ds.X)
cs = np.array([4.0, 12.0, 32.0])
r = N.run_gd(net, N.stack([p] * 3), ds.X, ds.y, cs / lam0, steps=4000)
for i, c in enumerate(cs):
    L = r.loss[i, :r.steps[i] + 1] / r.loss[i, 0]
    d = np.diff(L[-41:])
    print(f"c={c:g} steps={r.steps[i]} code={r.code[i]} L/L0 last 6: {np.array2string(L[-6:], precision=7)}")
    print(f"   min L/L0 over run {L.min():.7f}; last 40 steps: sign changes of dL {int(np.sum(np.diff(np.sign(d)) != 0))}/39, "
          f"max |dL|/L0 {np.abs(d).max():.2e}; argmax L {int(L.argmax())}; L/L0 at steps 100,500,1000,2000: "
          f"{[round(float(L[k]), 5) for k in (100, 500, 1000, 2000)]}")
    g = N.grad_norms(net, N.stack([N.unstack(r.params, i)]), ds.X, ds.y)[0]
    print(f"   |grad|/|grad0| at end {g / r.grad0[i]:.3e}")
