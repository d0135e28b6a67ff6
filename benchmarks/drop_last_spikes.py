"""How much the short last batch shakes the validation curve: fit(drop_last=False) vs True (issue 8 §6).

1160 training digits with batch 64 leave an 8-row step at the full learning rate right before every
end-of-epoch evaluation.  "Spikiness" = the median absolute change of the validation loss from one epoch to
the next, late in training (epochs 21-60), averaged over seeds.  Run: python benchmarks/drop_last_spikes.py
"""
import numpy as np

from nn_scratch.data import Standardizer, load_digits
from nn_scratch.layers import Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import SGD
from nn_scratch.trainer import Trainer

X, y = load_digits()
order = np.random.default_rng(0).permutation(len(y))
tr, va = order[:1160], order[1160:]
scaler = Standardizer().fit(X[tr])
Xtr, Xva = scaler.transform(X[tr]), scaler.transform(X[va])

result = {}
for drop in (False, True):
    spikes = []
    for seed in range(3):
        model = Sequential([Linear(64, 256, rng=seed), ReLU(), Linear(256, 10, rng=seed + 1, init="zeros")])
        t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), progress=False,
                    update_ratio_every=0)
        h = t.fit(Xtr, y[tr], Xva, y[va], epochs=60, batch_size=64, seed=seed, drop_last=drop, eval_train=False)
        v = np.asarray(h.epochs["val_loss"])[20:]
        spikes.append(np.median(np.abs(np.diff(v))))
    result[drop] = float(np.mean(spikes))
    print(f"drop_last={drop!s:5s}: median |change of val loss| per epoch, epochs 21-60, mean of 3 seeds: "
          f"{result[drop]:.5f}")
print(f"ratio (keep the 8-row batch / drop it): {result[False] / result[True]:.2f}")
