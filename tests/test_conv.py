"""Conv2D: forward against a direct loop, gradients against centered differences, im2col/col2im, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_layer_gradients
from nn_scratch.layers import Conv2D
from nn_scratch.layers.conv import col2im, conv_output_size, im2col

SETTINGS = settings(max_examples=20, deadline=None)


def loop_conv(x, W, b, stride, pad):
    """The definition, one output number at a time (slow but obvious)."""
    N, C, H, Wd = x.shape
    F, _, HH, WW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (Wd + 2 * pad - WW) // stride + 1
    y = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for h in range(Ho):
                for w in range(Wo):
                    window = xp[n, :, h * stride:h * stride + HH, w * stride:w * stride + WW]
                    y[n, f, h, w] = np.sum(window * W[f]) + b[f]
    return y


conv_cases = st.fixed_dictionaries(dict(
    N=st.integers(1, 2), C=st.integers(1, 3), F=st.integers(1, 3), H=st.integers(1, 7), W=st.integers(1, 7),
    HH=st.integers(1, 3), WW=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
    seed=st.integers(0, 2**31)))


def _valid(c):
    return c["H"] + 2 * c["pad"] >= c["HH"] and c["W"] + 2 * c["pad"] >= c["WW"]


@SETTINGS
@given(conv_cases.filter(_valid))
def test_forward_matches_direct_loop(c):
    rng = np.random.default_rng(c["seed"])
    layer = Conv2D(c["C"], c["F"], (c["HH"], c["WW"]), stride=c["stride"], padding=c["pad"], rng=rng,
                   dtype=np.float64)
    layer.b.value[:] = rng.standard_normal(c["F"])
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    expected = loop_conv(x, layer.W.value, layer.b.value, c["stride"], c["pad"])
    y = layer.forward(x)
    assert y.shape == expected.shape
    assert y.shape[2] == conv_output_size(c["H"], c["HH"], c["stride"], c["pad"])
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(conv_cases.filter(_valid))
def test_gradients_match_centered_differences(c):
    rng = np.random.default_rng(c["seed"])
    layer = Conv2D(c["C"], c["F"], (c["HH"], c["WW"]), stride=c["stride"], padding=c["pad"], rng=rng)
    layer.b.value[:] = rng.standard_normal(c["F"])
    assert_layer_gradients(layer, rng.standard_normal((c["N"], c["C"], c["H"], c["W"])), rng)


@SETTINGS
@given(conv_cases.filter(_valid))
def test_col2im_is_the_adjoint_of_im2col(c):
    # <im2col(x), v> == <x, col2im(v)> for all x, v: col2im is the transpose of the linear map im2col
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    cols = im2col(x, c["HH"], c["WW"], c["stride"], c["pad"])
    v = rng.standard_normal(cols.shape)
    back = col2im(v, x.shape, c["HH"], c["WW"], c["stride"], c["pad"])
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * v), np.sum(x * back), rtol=1e-10)


def test_im2col_columns_are_the_windows():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols = im2col(x, 2, 2, stride=2)
    assert cols.shape == (1, 4, 4)
    np.testing.assert_array_equal(cols[0, :, 0], [0, 1, 4, 5])      # top-left window, row-major
    np.testing.assert_array_equal(cols[0, :, 3], [10, 11, 14, 15])  # bottom-right window


def test_output_size_formula():
    assert conv_output_size(7, 3, 2, 1) == 4
    assert Conv2D(1, 2, 3, stride=2, padding=1, rng=0).forward(np.zeros((1, 1, 7, 9))).shape == (1, 2, 4, 5)


def test_float32_by_default_and_input_grad_flag():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))                 # float64 data: converted, not upcast
    full = Conv2D(3, 4, 3, padding=1, rng=1)
    first = Conv2D(3, 4, 3, padding=1, rng=1, input_grad=False)
    y = full.forward(x)
    assert y.dtype == np.float32 and full.W.value.dtype == np.float32
    dy = rng.standard_normal(y.shape).astype(np.float32)
    assert full.backward(dy).dtype == np.float32
    first.forward(x)
    assert first.backward(dy) is None                      # no input gradient computed ...
    np.testing.assert_array_equal(first.W.grad, full.W.grad)   # ... but the same parameter gradients
    np.testing.assert_array_equal(first.b.grad, full.b.grad)


def test_linear_input_grad_flag_skips_only_dx():
    from nn_scratch.layers import Linear
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3)).astype(np.float32)
    full, first = Linear(4, 3, rng=0), Linear(4, 3, rng=0, input_grad=False)
    full.forward(x)
    first.forward(x)
    assert full.backward(dy).shape == (5, 4) and first.backward(dy) is None
    np.testing.assert_array_equal(first.W.grad, full.W.grad)
    np.testing.assert_array_equal(first.b.grad, full.b.grad)


def test_he_initialization_scale():
    layer = Conv2D(8, 64, 3, rng=0, dtype=np.float64)
    assert abs(layer.W.value.std() - np.sqrt(2 / (8 * 9))) < 0.02


def test_bad_inputs_raise_clear_errors():
    layer = Conv2D(3, 4, 3, rng=0)
    with pytest.raises(ValueError, match="3 channels"):
        layer.forward(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="4 dimensions"):
        layer.forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        layer.forward(np.zeros((2, 3, 2, 5)))
    with pytest.raises(ValueError, match="'stride'"):
        Conv2D(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="'padding'"):
        Conv2D(3, 4, 3, padding=-1)


def test_tutorial_08_trains_a_convnet(run_tutorial, monkeypatch):
    import re
    from conftest import SHARED_DATA
    has_mnist = (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists()
    if has_mnist:
        monkeypatch.setenv("NN_SCRATCH_DATA", str(SHARED_DATA))
    else:
        monkeypatch.delenv("NN_SCRATCH_DATA", raising=False)
    out, figdir = run_tutorial("08_convnets.py")
    number = lambda pattern: float(re.search(pattern, out).group(1))
    assert number(r"convnet test accuracy: ([\d.]+)") >= 0.95
    assert number(r"convnet \+ batchnorm test accuracy: ([\d.]+)") >= 0.95
    rough = re.search(r"roughness: initial ([\d.]+), trained ([\d.]+), trained with weight decay ([\d.]+)", out)
    initial, trained, decayed = map(float, rough.groups())
    assert 0.9 < initial < 1.1 and decayed < trained < initial        # training smooths, weight decay more
    assert "layers.1.running_mean" in out                               # BN buffers are in the state_dict
    for name in ("initial", "trained", "weight_decay"):
        assert (figdir / f"08_filters_{name}.png").stat().st_size > 0
    if has_mnist:
        assert number(r"MNIST convnet test accuracy: ([\d.]+)") >= 0.85
        assert (figdir / "08_filters_mnist.png").exists()
    else:
        assert "MNIST section skipped" in out
