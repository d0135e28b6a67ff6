"""The graded exercises: references and second solutions pass, every catalogued mistake is named, and a
learner's file that prints, loops forever, imports something missing or cannot be parsed gets a clear report."""
import os
import subprocess
import sys

import numpy as np
import pytest

from nn_scratch import exercises
from nn_scratch.cli import main
from nn_scratch.exercises import CATALOGUE, EXERCISES, check, check_file, mistakes_for, reference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------------------
# second, differently written correct solutions (loops, other formulas) -- the grader must accept them
# ----------------------------------------------------------------------------------------------------
def rel_error_2(a, b):
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    worst = 0.0
    for u, v in zip(a, b):
        if u != v:
            worst = max(worst, abs(u - v) / max(abs(u), abs(v)))
    return worst


def numerical_gradient_2(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        x_plus, x_minus = x.copy(), x.copy()           # copies instead of perturbing x in place
        x_plus[i] += h
        x_minus[i] -= h
        grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)
        it.iternext()
    return grad


def affine_forward_2(x, w, b):
    return np.einsum("nd,dm->nm", x.reshape(len(x), -1), w) + b[None, :]


def affine_backward_2(dout, x, w, b):
    N = x.shape[0]
    x2 = x.reshape(N, -1)
    dw = sum(np.outer(x2[n], dout[n]) for n in range(N))
    return np.einsum("nm,dm->nd", dout, w).reshape(x.shape), dw, dout.T @ np.ones(N)


def relu_backward_2(dout, x):
    return np.where(x > 0, dout, 0.0)


def softmax_loss_2(scores, y):
    N = len(y)
    log_p = scores - np.log(np.sum(np.exp(scores - scores.max(1, keepdims=True)), 1, keepdims=True)) \
        - scores.max(1, keepdims=True)
    p = np.exp(log_p)
    dscores = p.copy()
    for i in range(N):
        dscores[i, y[i]] -= 1
    return -log_p[np.arange(N), y].sum() / N, dscores / N


def svm_loss_2(scores, y):
    N, C = scores.shape
    loss, d = 0.0, np.zeros_like(scores)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[i, j] - scores[i, y[i]] + 1
            if margin > 0:
                loss += margin
                d[i, j] += 1
                d[i, y[i]] -= 1
    return loss / N, d / N


def sgd_momentum_2(w, dw, v, lr, mu):
    v_new = mu * v - lr * dw
    return w + v_new, v_new


def adam_2(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = m + (1 - beta1) * (dw - m)                    # the same running average, written as a step towards dw
    v = v + (1 - beta2) * (dw ** 2 - v)
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    eps_hat = eps * np.sqrt(1 - beta2 ** t)           # the paper's efficient form: same update exactly
    return w - alpha * m / (np.sqrt(v) + eps_hat), m, v


def dropout_forward_2(x, drop_prob, rng):
    keep = 1 - drop_prob
    mask = rng.binomial(1, keep, size=x.shape) / keep     # different draws from the reference: still right
    return x * mask, mask


def dropout_backward_2(dout, mask):
    return np.multiply(dout, mask)


def batchnorm_backward_2(dout, x, gamma, eps):
    N = x.shape[0]                                    # the staged computational graph, node by node
    mu = x.sum(0) / N
    xc = x - mu
    var = (xc ** 2).sum(0) / N
    std = np.sqrt(var + eps)
    xhat = xc / std
    dbeta, dgamma = dout.sum(0), (dout * xhat).sum(0)
    dxhat = dout * gamma
    dxc = dxhat / std
    dstd = -(dxhat * xc).sum(0) / std ** 2
    dvar = dstd / (2 * std)
    dxc += 2 * xc * dvar / N
    dx = dxc - dxc.sum(0) / N
    return dx, dgamma, dbeta


def conv_forward_naive_2(x, w, b, stride, pad):
    """Written differently from the reference: every window at once with a strided view, then one einsum."""
    HH, WW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncijhw,fchw->nfij", windows, w) + b[None, :, None, None]


def lstm_step_backward_2(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    W = np.vstack([Wx, Wh])                           # one stacked weight matrix on [x, h]
    xh = np.hstack([x, prev_h])
    a = xh @ W + b
    s = 0.5 * (1 + np.tanh(0.5 * a))                  # sigmoid via tanh, on every block
    i, f, o, g = s[:, :H], s[:, H:2 * H], s[:, 2 * H:3 * H], np.tanh(a[:, 3 * H:])
    c = f * prev_c + i * g
    dc = dnext_c + dnext_h * o / np.cosh(c) ** 2      # tanh'(c) = 1 / cosh(c)^2
    ds = np.hstack([dc * g, dc * prev_c, dnext_h * np.tanh(c)])
    da = np.hstack([ds * s[:, :3 * H] * (1 - s[:, :3 * H]), dc * i * (1 - g ** 2)])
    dxh = da @ W.T
    dW = xh.T @ da
    D = x.shape[1]
    return dxh[:, :D], dxh[:, D:], dc * f, dW[:D], dW[D:], da.sum(0)


SECOND = {name: globals()[f"{name}_2"] for name in exercises.names()}


@pytest.mark.parametrize("name", exercises.names())
def test_reference_and_a_second_solution_pass(name):
    ref = check(name, getattr(reference, name))
    assert ref.passed and ref.mistake is None, str(ref)
    second = check(name, SECOND[name])
    assert second.passed, str(second)
    text = str(second)
    assert text.startswith(f"{name}: PASS") and "well done" in text


@pytest.mark.parametrize("mistake", CATALOGUE, ids=[m.key for m in CATALOGUE])
def test_every_catalogued_mistake_is_named(mistake):
    result = check(mistake.exercise, mistake.function)
    assert not result.passed
    assert result.mistake is mistake, str(result)
    text = str(result)
    assert f"likely mistake: {mistake.title}" in text and f"look at: {mistake.look_at}" in text


def test_lstm_reference_is_the_packages_lstm_for_one_step():
    from nn_scratch.layers import LSTM
    rng = np.random.default_rng(0)
    N, D, H = 3, 4, 5
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    layer = LSTM(D, H, dtype=np.float64, rng=1)
    layer.forward(x[:, None], h0=h, c0=c)
    dh = rng.standard_normal((N, H))
    dx = layer.backward(dh[:, None])
    mine = reference.lstm_step_backward(dh, np.zeros((N, H)), x, h, c, layer.Wx.value, layer.Wh.value, layer.b.value)
    for got, want in zip(mine, (dx[:, 0], layer.dh0, layer.dc0, layer.Wx.grad, layer.Wh.grad, layer.b.grad)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_catalogue_covers_the_classic_mistakes_of_the_issue():
    keys = {m.key for m in CATALOGUE}
    assert {"transposed_dw", "softmax_missing_1_over_n", "softmax_wrong_sign", "softmax_jacobian_term_dropped",
            "hinge_counted_for_correct_class", "dropout_not_rescaled", "momentum_lr_in_wrong_place",
            "adam_no_bias_correction", "adam_eps_inside_sqrt"} <= keys
    assert len(keys) == len(CATALOGUE)                              # unique keys
    assert all(mistakes_for(ex.name) for ex in EXERCISES)          # every exercise has mistakes to name


def test_hand_worked_examples_in_the_docstrings_are_the_reference_numbers():
    # the numbers each exercise's docstring states, recomputed by the package's own implementation
    np.testing.assert_allclose(reference.affine_backward(np.array([[1.0, 0], [0, 2]]), np.array([[1.0, 2, 3], [0, -1, 1]]),
                                                         np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([0.5, -1]))[1],
                               [[1, 0], [2, -2], [3, 2]])
    dx, dgamma, dbeta = reference.batchnorm_backward(np.array([[1.0], [0], [0]]), np.array([[0.0], [1], [2]]),
                                                     np.array([1.0]), 1e-5)
    np.testing.assert_allclose(dx.ravel(), [0.2041, -0.4082, 0.2041], atol=1e-4)
    np.testing.assert_allclose([dgamma[0], dbeta[0]], [-1.2247, 1.0], atol=1e-4)
    assert "0.2041" in exercises.get("batchnorm_backward").example
    loss, _ = reference.softmax_loss(np.array([[1000.0, 1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(np.log(2))
    for ex in EXERCISES:                                            # the stated fixed cases are the reference's
        for case in ex.fixed_cases():
            if case.expected is not None and ex.compare is None:
                got = ex.reference(*case.make())
                want = case.expected if len(ex.returns) > 1 else case.expected[0]
                ok, msg, _ = exercises._grading.compare(got, want, ex.returns)
                assert ok, (ex.name, case.label, msg)


def test_generic_hints_when_no_catalogued_mistake_matches():
    r = check("affine_backward", lambda dout, x, w, b: (reference.affine_backward(dout, x, w, b)[0],
                                                        3 * x.reshape(len(x), -1).T @ dout, dout.sum(0)))
    assert r.mistake is None and "`dw` is 3 times the right one" in r.hint
    r = check("softmax_loss", lambda s, y: (reference.softmax_loss(s, y)[0], len(y) * reference.softmax_loss(s, y)[1]))
    assert r.mistake is None and "a 1/N missing" in r.hint and "N = 2" in r.hint
    r = check("relu_backward", lambda dout, x: dout * (x > 0), )
    assert r.passed
    r = check("relu_backward", lambda dout: dout)                  # wrong signature: said, not a traceback
    assert not r.passed and "expected the signature relu_backward(dout, x)" in str(r)
    r = check("relu_backward", lambda dout, x: undefined_name * dout)   # noqa: F821
    assert "raised NameError" in str(r)


def test_in_place_change_of_an_input_is_noted():
    def relu_backward(dout, x):
        dout[x <= 0] = 0                                            # right numbers, but the caller's dout changes
        return dout
    r = check("relu_backward", relu_backward)
    assert r.passed and any("changed its argument `dout` in place" in n for n in r.notes)


def test_dropout_drawn_outside_rng_is_reported():
    def dropout_forward(x, drop_prob, rng):
        mask = (np.random.default_rng(0).random(x.shape) >= drop_prob) / (1 - drop_prob)
        return x * mask, mask
    r = check("dropout_forward", dropout_forward)
    assert not r.passed and "not drawn from `rng`" in str(r)


def test_the_gradient_checker_catches_every_planted_backward_as_a_layer():
    from nn_scratch.exercises.adapters import AffineLayer, BatchNormLayer, DropoutLayer, LSTMStepLayer, ReLULayer
    from nn_scratch.gradcheck import check_layer
    x = np.random.default_rng(0).standard_normal((6, 5))
    layers = {"affine_backward": lambda f: AffineLayer(5, 5, rng=0, dtype=np.float64, backward_fn=f),
              "relu_backward": lambda f: ReLULayer(f),
              "dropout_backward": lambda f: DropoutLayer(0.4, rng=1, backward_fn=f),
              "batchnorm_backward": lambda f: BatchNormLayer(5, backward_fn=f, dtype=np.float64),
              "lstm_step_backward": lambda f: LSTMStepLayer(1, 2, rng=2, backward_fn=f)}
    for name, build in layers.items():
        assert check_layer(build(getattr(reference, name)), x, num_coords=None).passed
        for m in mistakes_for(name):
            if m.key == "dx_not_reshaped":                     # same numbers on a 2-D input: nothing to catch
                continue
            assert not check_layer(build(m.function), x, num_coords=None).passed, m.key


# ----------------------------------------------------------------------------------------------------
# files and the command line
# ----------------------------------------------------------------------------------------------------
def test_start_writes_a_template_that_fails_until_written(tmp_path, capsys):
    assert main(["exercise", "start", "svm_loss", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "svm_loss.py"
    text = path.read_text()
    assert "def svm_loss(scores, y):" in text and "raise NotImplementedError" in text
    assert "loss = (0.5 + 5) / 2 = 2.75" in text and "nn_scratch/losses.py" in text
    compile(text, str(path), "exec")
    assert main(["exercise", "start", "svm_loss", "--dir", str(tmp_path)]) == 2      # never overwrites silently
    assert "already exists" in capsys.readouterr().err
    assert main(["exercise", "start", "nope", "--dir", str(tmp_path)]) == 2
    assert "unknown exercise 'nope'" in capsys.readouterr().err
    status, report = check_file(path)
    assert status == 1 and "not written yet" in report


def test_list_prints_every_exercise_in_course_order(capsys):
    assert main(["exercise", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[:len(EXERCISES)]] == exercises.names()


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body)
    return path


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "nn_scratch", "exercise", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_command_exit_codes_and_reports(tmp_path):
    good = _write(tmp_path, "relu_backward.py",
                  "import numpy as np\n\ndef relu_backward(dout, x):\n    print('debug', x.shape)\n"
                  "    return dout * (x > 0)\n")
    bad = _write(tmp_path, "mine.py", "def relu_backward(dout, x):\n    return dout\n")
    proc = _cli("check", good, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("relu_backward: PASS")
    assert "your code printed" in proc.stdout and "'debug" in proc.stdout and proc.stderr == ""
    proc = _cli("check", bad, cwd=tmp_path)
    assert proc.returncode == 1 and "likely mistake: dout passed through without the mask" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("body, words", [
    ("import numpy as np\nfrom my_helpers import clip\n\ndef adam(w, dw, m, v, t, lr, beta1, beta2, eps):\n"
     "    pass\n", "line 2: ModuleNotFoundError: No module named 'my_helpers'"),
    ("def adam(w, dw m):\n    pass\n", "SyntaxError"),
    ("x = 1\n", "defines none of the exercise functions"),
    ("while True:\n    pass\n", "did not finish within 3 s"),
])
def test_files_that_cannot_be_loaded_get_one_line(tmp_path, body, words):
    path = _write(tmp_path, "adam.py", body)
    status, text = check_file(path, timeout=3)
    assert status == 2 and words in text and "\n" not in text, text


def test_a_function_that_loops_forever_is_stopped(tmp_path):
    path = _write(tmp_path, "dropout_backward.py", "def dropout_backward(dout, mask):\n    while True:\n        pass\n")
    proc = _cli("check", path, "--timeout", "3", cwd=tmp_path)
    assert proc.returncode == 1 and "stopped after 3 s: dropout_backward did not return" in proc.stdout


def test_missing_file_and_bad_options_are_one_line(tmp_path, capsys):
    assert main(["exercise", "check", str(tmp_path / "nothing.py")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and len(err.strip().splitlines()) == 1
    assert main(["exercise", "check", str(tmp_path / "x.py"), "--timeout", "-1"]) == 2
    assert "--timeout" in capsys.readouterr().err
    with pytest.raises(ValueError, match="'timeout' must be a positive number"):
        check_file(tmp_path / "x.py", timeout=0)
    with pytest.raises(KeyError, match="unknown exercise 'nope'"):
        check("nope", print)
