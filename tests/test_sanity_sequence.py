"""The sanity checks on a per-token language model: loss at chance ln V over counted tokens, token accuracy
against the commonest token, padding never diluting a mean."""
import math

import numpy as np

from nn_scratch import sanity
from nn_scratch.layers import LSTM, Embedding, Linear, Sequential
from nn_scratch.losses import SequenceCrossEntropy

V = 6


def _model(init="zeros"):
    return Sequential([Embedding(V, 8, rng=0), LSTM(8, 16, rng=1), Linear(16, V, rng=2, init=init)])


def _copy_task(N=80, T=5, seed=0):
    """The target is the current token: learnable, with a known structure."""
    x = np.random.default_rng(seed).integers(0, V, size=(N, T))
    return x, x.copy()


def test_initial_loss_is_ln_V_per_token_and_padding_does_not_dilute_it():
    x, y = _copy_task()
    y[:, -2:] = -1                                            # padding: two of five tokens never count
    r = sanity.check_initial_loss(_model(), SequenceCrossEntropy(ignore_index=-1), x, y)
    assert r.passed and abs(r.measured - math.log(V)) < 1e-6, r.message


def test_initial_loss_names_a_wide_output_layer_for_tokens_too():
    x, y = _copy_task()
    wide = lambda: Sequential([Embedding(V, 8, rng=0), LSTM(8, 16, rng=1),
                               Linear(16, V, init="gaussian", weight_scale=30.0, rng=2)])
    r = sanity.check_initial_loss(wide, SequenceCrossEntropy(), x, y)
    assert not r.passed and "init=\"zeros\"" in r.message.replace("'", '"')


def test_learns_signal_reports_token_accuracy_against_the_commonest_token():
    x, y = _copy_task(N=300)
    y[:, 0] = -1
    r = sanity.check_learns_signal(_model(), SequenceCrossEntropy(ignore_index=-1), x, y, n_train=150,
                                   n_test=150, steps=80)
    assert "tokens" in r.message and "MSE" not in r.message
    assert r.passed and r.measured > 0.9, r.message


def test_run_all_includes_the_initial_loss_check_for_sequences():
    x, y = _copy_task(N=300)
    report = sanity.run_all(_model(), SequenceCrossEntropy(), x, y, steps=150)
    names = [c.name for c in report.results]
    assert names[0] == "initial_loss" and report.passed, str(report)
