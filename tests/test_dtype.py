"""Float32 in, float32 out: no layer, container or loss silently upcasts a float32 model."""
import numpy as np
from hypothesis import given, settings, strategies as st

from nn_scratch.layers import (BatchNorm, Conv2D, Dropout, Flatten, LeakyReLU, Linear, MaxPool2D, ReLU,
                               Sequential, Sigmoid, Softmax, Tanh)
from nn_scratch.losses import MSE, L2, Flooding, MulticlassSVM, SoftmaxCrossEntropy


def convnet(C, H, W, classes, seed):
    rng = np.random.default_rng(seed)
    flat = 4 * ((H + 2 - 3 + 1) // 2) * ((W + 2 - 3 + 1) // 2)
    return Sequential([
        Conv2D(C, 4, 3, padding=1, rng=rng), BatchNorm(4), ReLU(), MaxPool2D(2), Dropout(0.3, rng=rng),
        Conv2D(4, 4, 3, padding=1, rng=rng), LeakyReLU(0.1), Flatten(),
        Linear(flat, 8, rng=rng), BatchNorm(8), Tanh(), Linear(8, 8, rng=rng), Sigmoid(),
        Linear(8, classes, rng=rng), Softmax(), Linear(classes, classes, rng=rng)])


def assert_float32_everywhere(model, x, loss, y):
    """Walk the layers by hand so every intermediate activation and gradient is inspected."""
    h = x
    for layer in model.layers:
        h = layer.forward(h)
        assert h.dtype == np.float32, f"{layer!r} forward gave {h.dtype}"
    per_sample = loss.forward(h, y)
    assert per_sample.dtype == np.float32, f"{type(loss).__name__} forward gave {per_sample.dtype}"
    d = loss.backward()
    assert d.dtype == np.float32, f"{type(loss).__name__} backward gave {d.dtype}"
    for layer in reversed(model.layers):
        d = layer.backward(d)
        assert d.dtype == np.float32, f"{layer!r} backward gave {d.dtype}"
    L2(1e-3).backward(model.parameters())
    for name, p in model.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, name
    for m in model.modules():
        for b in m.buffer_names:
            assert getattr(m, b).dtype == np.float32, b


@settings(max_examples=15, deadline=None)
@given(N=st.integers(2, 5), C=st.integers(1, 3), H=st.integers(2, 7), W=st.integers(2, 7),
       loss_kind=st.sampled_from(["softmax", "svm", "mse", "flooding"]), seed=st.integers(0, 2**31))
def test_float32_model_stays_float32(N, C, H, W, loss_kind, seed):
    rng = np.random.default_rng(seed)
    classes = 3
    model = convnet(C, H, W, classes, seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    if loss_kind == "mse":
        loss, y = MSE(), rng.standard_normal((N, classes))       # float64 targets: must not upcast
    else:
        loss = {"softmax": SoftmaxCrossEntropy(), "svm": MulticlassSVM(),
                "flooding": Flooding(SoftmaxCrossEntropy(), level=5.0)}[loss_kind]   # level above: ascent
        y = rng.integers(0, classes, N)
    assert_float32_everywhere(model, x, loss, y)
    # a float64 batch fed to a float32 model is converted at the first parametrized layer, not upcast after it
    out = model.forward(rng.standard_normal((N, C, H, W)))
    assert out.dtype == np.float32


def test_sequential_forward_backward_and_eval_mode_keep_float32():
    rng = np.random.default_rng(0)
    model = convnet(1, 8, 8, 10, 0)
    x = rng.random((4, 1, 8, 8), dtype=np.float32)
    y = model.forward(x)
    assert y.dtype == np.float32 and model.backward(np.ones_like(y)).dtype == np.float32
    model.eval()
    assert model.forward(x).dtype == np.float32


def test_float64_copy_stays_float64():
    # the gradient checker's path: a float64 copy computes in float64 throughout
    model = convnet(2, 5, 5, 3, 1).astype(np.float64)
    x = np.random.default_rng(1).standard_normal((3, 2, 5, 5))
    y = model.forward(x)
    assert y.dtype == np.float64 and model.backward(np.ones_like(y)).dtype == np.float64
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
