"""The exercises: their contracts (the docstring a learner starts from), cases and gradient checks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gradcheck import check_layer, check_loss
from . import reference as ref
from ._grading import Case, LearnerError, _raised, compare
from .adapters import (AffineLayer, BatchNormLayer, DropoutLayer, FunctionLoss, LSTMStepLayer, ReLULayer,
                       ShapeMismatch)


@dataclass
class Exercise:
    name: str
    tutorial: str            # the tutorial whose topic it practises
    summary: str             # one line for ``nn-scratch exercise list``
    params: tuple
    returns: tuple
    doc: str                 # the contract, CS231n style: inputs, outputs, every shape
    example: str             # the hand-worked case, stated in the docstring
    see: str                 # where the package's own solution lives
    against: str             # what the random cases are compared with
    reference: object
    fixed_cases: object      # () -> [Case]
    random_cases: object     # (rng) -> [Case]
    gradcheck: object = None  # (fn) -> (ok, detail)
    compare: object = None   # (got, want, case) -> (ok, message, err); None: elementwise
    inplace_ok: bool = False
    defaults: str = ""       # default values in the signature, e.g. ", h=1e-5"

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)}{self.defaults})"

    def batch_size(self, case):
        first = case.make()[0]
        return first.shape[0] if isinstance(first, np.ndarray) and first.ndim >= 1 else None


def _fixed(*arrays):
    """A ``make`` returning fresh float copies of the given inputs (ints stay ints)."""
    def make():
        return tuple(np.array(a, dtype=np.float64) if isinstance(a, (list, np.ndarray)) and
                     not (isinstance(a, np.ndarray) and a.dtype.kind in "iu") else
                     (a.copy() if isinstance(a, np.ndarray) else a) for a in arrays)
    return make


def _frozen(*values):
    return lambda: tuple(v.copy() if isinstance(v, np.ndarray) else v for v in values)


def _away_from_zero(rng, shape, low=0.05):
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < low, np.sign(x + 1e-12) * low, x)


# -- gradient checks of the learner's function, through the package's checker ------------------------------
_ROW_NAMES = {"x (input)": "dx", "W": "dw", "b": "db", "gamma": "dgamma", "beta": "dbeta", "scores": "dscores",
              "Wx": "dWx", "Wh": "dWh"}


def _verdict(report, how):
    wrong = [] if report.passed else [_ROW_NAMES.get(r.name, r.name) for r in report.rows
                                      if r.note or not r.max_rel_error <= 1e-4]
    kinks = f", {report.kinks} kinks set aside" if report.kinks else ""
    where = f"; off: {', '.join(wrong)}" if wrong else ""
    return report.passed, f"{how}: {report.verdict} (max rel error {report.max_rel_error:.1e}{kinks}{where})"


def _gradcheck(build):
    def run(fn):
        try:
            return build(fn)
        except (LearnerError, ShapeMismatch) as err:
            return False, str(err)
        except Exception as err:          # raised inside the learner's function, called by the checker
            return False, _raised(err, fn)
    return run


_rng = np.random.default_rng


def _gc_affine(fn):
    x = _rng(1).standard_normal((6, 5))
    return _verdict(check_layer(AffineLayer(5, 4, rng=2, dtype=np.float64, backward_fn=fn), x, num_coords=None),
                    "check_layer on a Linear running your backward")


def _gc_relu(fn):
    x = _away_from_zero(_rng(3), (4, 6))
    return _verdict(check_layer(ReLULayer(fn), x, num_coords=None), "check_layer on a ReLU running your backward")


def _gc_loss(kind):
    def run(fn):
        rng = _rng(4)
        scores, y = 2 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
        return _verdict(check_loss(FunctionLoss(fn, kind), scores, y, num_coords=None),
                        "check_loss: your dscores against your loss")
    return run


def _gc_dropout(fn):
    x = _rng(5).standard_normal((4, 6))
    return _verdict(check_layer(DropoutLayer(0.4, rng=6, backward_fn=fn), x, num_coords=None),
                    "check_layer on a Dropout running your backward")


def _gc_batchnorm(fn):
    x = 1.5 * _rng(7).standard_normal((6, 4)) + 0.5
    layer = BatchNormLayer(4, backward_fn=fn, dtype=np.float64)
    layer.gamma.value[...] = _rng(8).uniform(0.5, 2.0, 4)
    return _verdict(check_layer(layer, x, num_coords=None), "check_layer on a BatchNorm running your backward")


def _gc_lstm(fn):
    z = _rng(11).standard_normal((3, 4 + 2 * 5))
    report = check_layer(LSTMStepLayer(4, 5, rng=12, backward_fn=fn), z, num_coords=None)
    passed, text = _verdict(report, "check_layer on one LSTM step running your backward")
    return passed, text.replace("off: dx", "off: dx, dprev_h or dprev_c")


def _gc_numerical(fn):
    """The learner's numerical gradient against an analytic one, and the forward-difference comparison."""
    W = _rng(9).standard_normal((4, 3))
    x = _rng(10).standard_normal((2, 4))
    analytic = (1 - np.tanh(x @ W) ** 2) @ W.T
    numeric = np.asarray(fn(lambda v: float(np.sum(np.tanh(v @ W))), x.copy(), 1e-5), dtype=np.float64)
    err = ref.rel_error(analytic, numeric) if numeric.shape == analytic.shape else np.inf
    return err < 1e-7, f"against the analytic gradient of sum(tanh(x W)): max rel error {err:.1e}"


# -- the cases ---------------------------------------------------------------------------------------------
def _rel_error_random(rng):
    cases = []
    for k in range(5):
        a = rng.standard_normal((3, 4)) * 10.0 ** rng.uniform(-3, 3)
        b = a * (1 + rng.standard_normal(a.shape) * 10.0 ** rng.uniform(-8, -1))
        if k % 2:
            a[0, 0] = b[0, 0] = 0.0
        if k == 4:
            b[1, 2] = -a[1, 2]
        cases.append(Case(f"random case {k + 1}", _frozen(a, b)))
    return cases


def _x_restored(original):
    def post(args):
        x = args[1]
        if not np.array_equal(x, original):
            return "x was not restored: after the call it differs from the x passed in"
        return None
    return post


def _numgrad_fixed():
    x = np.array([0.5, -1.2, 2.0])
    f = lambda v: float(np.sum(v ** 3))           # noqa: E731
    return [Case("f(x) = sum(x^3) at x = [0.5, -1.2, 2.0]", _frozen(f, x, 1e-5), (np.array([0.75, 4.32, 12.0]),),
                 post=_x_restored(x))]


def _numgrad_random(rng):
    cases = []
    for k in range(3):
        W = rng.standard_normal((4, 3))
        x = rng.standard_normal((2, 4))
        f = lambda v, W=W: float(np.sum(np.tanh(v @ W)) + np.sum(v[0] * v[1]) ** 2)   # noqa: E731
        cases.append(Case(f"random case {k + 1}", _frozen(f, x, 1e-5), post=_x_restored(x)))
    return cases


_AFF_X = [[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]]
_AFF_W = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
_AFF_B = [0.5, -1.0]


def _affine_random(rng, backward):
    cases = []
    for k, xshape in enumerate([(4, 5), (3, 2, 3), (2, 6), (5, 2, 2, 2)]):
        D = int(np.prod(xshape[1:]))
        M = 3 + k
        x, w, b = rng.standard_normal(xshape), rng.standard_normal((D, M)), rng.standard_normal(M)
        args = (rng.standard_normal((xshape[0], M)), x, w, b) if backward else (x, w, b)
        cases.append(Case(f"random case {k + 1}, x of shape {xshape}", _frozen(*args)))
    return cases


def _relu_random(rng):
    return [Case(f"random case {k + 1}", _frozen(rng.standard_normal((3, 5)), _away_from_zero(rng, (3, 5))))
            for k in range(4)]


def _loss_random(rng):
    cases = []
    for k, (N, C) in enumerate([(5, 3), (8, 10), (1, 4), (6, 5)]):
        scores = rng.standard_normal((N, C)) * 3
        if k == 3:
            scores += 500.0                         # large scores: exp must not overflow
        cases.append(Case(f"random case {k + 1}, N={N}, C={C}" + (", scores near 500" if k == 3 else ""),
                          _frozen(scores, rng.integers(0, C, N))))
    return cases


# dropout_forward's draws depend on how the mask is drawn, so it is graded on what any correct draw shares
def _dropout_summary(x, out, mask):
    consistent = bool(np.allclose(out, x * mask, rtol=1e-6, atol=1e-12))
    nz = mask[mask != 0]
    scale = float(np.median(nz)) if nz.size else 0.0
    uniform = bool(np.allclose(nz, scale, rtol=1e-6)) if nz.size else True
    return consistent, scale, uniform, float(np.mean(mask == 0))


def _dropout_compare(got, want, case):
    x = case.make()[0]
    try:
        out, mask = got
        out, mask = np.asarray(out, dtype=np.float64), np.asarray(mask, dtype=np.float64)
    except (TypeError, ValueError):
        return False, "must return a tuple (out, mask) of two arrays", np.inf
    for name, a in (("out", out), ("mask", mask)):
        if a.shape != x.shape:
            return False, f"`{name}` has shape {a.shape}, expected x's shape {x.shape}", np.inf
    w_out, w_mask = (np.asarray(v, dtype=np.float64) for v in want)
    g, w = _dropout_summary(x, out, mask), _dropout_summary(x, w_out, w_mask)
    if g[0] != w[0]:
        return False, "`out` is not x * mask (return the mask out was multiplied by, scale included)", np.inf
    if not g[2]:
        return False, "the kept entries of `mask` are not all equal (one scale for every kept unit)", np.inf
    if abs(g[1] - w[1]) > 1e-6 * max(w[1], 1):
        return False, f"kept units are scaled by {g[1]:.4g}, expected {w[1]:.4g}", np.inf
    if abs(g[3] - w[3]) > 0.03:
        return False, f"a fraction {g[3]:.3f} of the mask is 0, expected about {w[3]:.3f}", np.inf
    return True, "", 0.0


def _rng_used(seed):
    def post(args):
        if args[2].bit_generator.state == np.random.default_rng(seed).bit_generator.state:
            return "the mask was not drawn from `rng`: draw it with rng.random(x.shape) so a seed replays it"
        return None
    return post


def _dropout_case(label, x, p, seed):
    return Case(label, lambda: (x.copy(), p, np.random.default_rng(seed)), post=_rng_used(seed) if p > 0 else None)


def _dropout_fixed():
    return [_dropout_case("x = 3 everywhere (50x40), drop_prob 0.25", np.full((50, 40), 3.0), 0.25, 0),
            _dropout_case("drop_prob 0: out is x", np.arange(12.0).reshape(3, 4) + 1, 0.0, 1)]


def _dropout_random(rng):
    return [_dropout_case(f"random case {k + 1}, drop_prob {p}", rng.standard_normal((100, 100)) + 3, p, 10 + k)
            for k, p in enumerate((0.1, 0.6, 0.35))]


def _dropout_backward_random(rng):
    cases = []
    for k, p in enumerate((0.2, 0.5, 0.7)):
        mask = (rng.random((4, 6)) >= p) / (1 - p)
        cases.append(Case(f"random case {k + 1}, drop_prob {p}", _frozen(rng.standard_normal((4, 6)), mask)))
    return cases


def _sgd_random(rng):
    return [Case(f"random case {k + 1}, lr {lr}, mu {mu}",
                 _frozen(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 0.1 * rng.standard_normal((3, 4)),
                         lr, mu))
            for k, (lr, mu) in enumerate([(0.01, 0.9), (0.1, 0.5), (0.003, 0.99)])]


def _adam_random(rng):
    cases = []
    for k, t in enumerate((1, 2, 10, 100)):
        g = np.sign(rng.standard_normal((3, 5))) * 10.0 ** rng.uniform(-6, 0, (3, 5))   # tiny to large gradients
        m = 0 if t == 1 else 0.1 * g * rng.uniform(0.5, 1.5, g.shape)
        v = 0 if t == 1 else 1e-3 * g * g * rng.uniform(0.5, 1.5, g.shape)
        m, v = np.zeros_like(g) + m, np.zeros_like(g) + v
        cases.append(Case(f"random case {k + 1}, t = {t}", _frozen(rng.standard_normal((3, 5)), g, m, v, t, 1e-3,
                                                                   0.9, 0.999, 1e-8)))
    return cases


def _bn_random(rng):
    return [Case(f"random case {k + 1}, N={N}, D={D}",
                 _frozen(rng.standard_normal((N, D)), 2 * rng.standard_normal((N, D)) + 1, rng.uniform(0.5, 2, D),
                         1e-5))
            for k, (N, D) in enumerate([(6, 4), (10, 3), (3, 5)])]


def _conv_random(rng):
    cases = []
    for k, (shape, F, HH, stride, pad) in enumerate([((2, 3, 5, 5), 4, 3, 1, 1), ((1, 2, 6, 7), 3, 2, 2, 0),
                                                    ((2, 1, 4, 4), 2, 3, 1, 2)]):
        x, w, b = rng.standard_normal(shape), rng.standard_normal((F, shape[1], HH, HH)), rng.standard_normal(F)
        cases.append(Case(f"random case {k + 1}, x {shape}, w {w.shape}, stride {stride}, pad {pad}",
                          _frozen(x, w, b, stride, pad)))
    return cases


def _lstm_case(label, rng, N, D, H, dnext_c=True):
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = 0.5 * rng.standard_normal((D, 4 * H)), 0.5 * rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    dh = rng.standard_normal((N, H))
    dc = rng.standard_normal((N, H)) if dnext_c else np.zeros((N, H))
    return Case(label, _frozen(dh, dc, x, h, c, Wx, Wh, b))


def _lstm_fixed():
    # N = D = H = 1, all weights 0: every gate is sigmoid(0) = 0.5, the candidate tanh(0) = 0
    z = np.zeros((1, 1))
    return [Case("the hand-worked case (weights 0, prev_c = 1)",
                 _frozen(np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), z, np.ones((1, 1)),
                         np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(4)))]


def _lstm_random(rng):
    return [_lstm_case("random case 1, no gradient on the next cell", rng, 3, 4, 5, dnext_c=False),
            _lstm_case("random case 2", rng, 2, 3, 4), _lstm_case("random case 3", rng, 4, 2, 3)]


# -- the list, in course order -----------------------------------------------------------------------------
EXERCISES = [
    Exercise(
        "rel_error", "01", "the relative error that judges a gradient check",
        ("a", "b"), ("error",),
        """Largest relative error between two arrays of the same shape.

    Elementwise the error is |a - b| / max(|a|, |b|): symmetric, scale-free, and 0 where both numbers are 0
    (they agree). Return the largest over all elements as a float, so one wrong coordinate among many shows.

    Inputs:
    - a, b: numpy arrays of the same shape (any shape)

    Returns:
    - error: a float, the maximum over elements""",
        "rel_error(np.array([1.0, 4.0]), np.array([3.0, 4.0])) == 2/3 (elementwise 2/3 and 0);  "
        "rel_error(np.array([1.0, -3.0, 0.0]), np.array([1.1, 3.0, 0.0])) == 2.0 (elementwise 0.0909, 2.0, 0.0)",
        "nn_scratch/gradcheck.py, rel_error (elementwise; the exercise returns its max)",
        "nn_scratch.gradcheck.rel_error",
        ref.rel_error,
        lambda: [Case("a = [1, 4], b = [3, 4]", _fixed([1.0, 4.0], [3.0, 4.0]), (2 / 3,)),
                 Case("a = [1, -3, 0], b = [1.1, 3, 0]", _fixed([1.0, -3.0, 0.0], [1.1, 3.0, 0.0]), (2.0,)),
                 Case("a == b", _fixed([[2.0, 0.0], [-1.0, 5.0]], [[2.0, 0.0], [-1.0, 5.0]]), (0.0,))],
        _rel_error_random),
    Exercise(
        "numerical_gradient", "01", "the centered difference every gradient check rests on",
        ("f", "x", "h"), ("grad",),
        """Numerical gradient of a scalar function f at x by centered differences.

    For each coordinate i: move x[i] to x[i] + h, evaluate f(x); move it to x[i] - h, evaluate f(x);
    put x[i] back exactly as it was; grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h).
    f reads the array you pass it, so perturbing x in place (and restoring it) is the usual way.

    Inputs:
    - f: a function taking an array shaped like x and returning a float
    - x: a float numpy array of any shape; it must be unchanged when you return
    - h: the step

    Returns:
    - grad: an array of x's shape""",
        "f(x) = sum(x**3) at x = [0.5, -1.2, 2.0] gives [0.75, 4.32, 12.0] (= 3 x^2) to about 1e-10",
        "nn_scratch/gradcheck.py, numerical_gradient",
        "nn_scratch.gradcheck.numerical_gradient",
        ref.numerical_gradient, _numgrad_fixed, _numgrad_random, _gradcheck(_gc_numerical), inplace_ok=True,
        defaults="=1e-5"),
    Exercise(
        "affine_forward", "01", "a fully connected layer's forward pass",
        ("x", "w", "b"), ("out",),
        """Forward pass of an affine (fully connected) layer: out = x2 @ w + b.

    The input x has shape (N, d_1, ..., d_k): N samples, each reshaped into a row of D = d_1 * ... * d_k
    numbers (x2 has shape (N, D)).

    Inputs:
    - x: array of shape (N, d_1, ..., d_k)
    - w: weights, shape (D, M)
    - b: biases, shape (M,)

    Returns:
    - out: shape (N, M)""",
        "x = [[1, 2, 3], [0, -1, 1]], w = [[1, 0], [0, 1], [1, 1]], b = [0.5, -1]  ->  out = [[4.5, 4.0], [1.5, -1.0]]",
        "nn_scratch/layers/linear.py, Linear.forward",
        "nn_scratch.layers.Linear",
        ref.affine_forward,
        lambda: [Case("the hand-worked case", _fixed(_AFF_X, _AFF_W, _AFF_B), (np.array([[4.5, 4.0], [1.5, -1.0]]),))],
        lambda rng: _affine_random(rng, False)),
    Exercise(
        "affine_backward", "01", "the gradients of a fully connected layer",
        ("dout", "x", "w", "b"), ("dx", "dw", "db"),
        """Backward pass of out = x2 @ w + b (x2 = x reshaped to (N, D)).

    Inputs:
    - dout: upstream gradient d(loss)/d(out), shape (N, M)
    - x: the forward input, shape (N, d_1, ..., d_k)
    - w: weights, shape (D, M)
    - b: biases, shape (M,)

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k) -- x's own shape
    - dw: gradient with respect to w, shape (D, M)
    - db: gradient with respect to b, shape (M,)""",
        "dout = [[1, 0], [0, 2]] with the x, w, b of affine_forward's example  ->  dx = [[1, 0, 1], [0, 2, 2]], "
        "dw = [[1, 0], [2, -2], [3, 2]], db = [1, 2]",
        "nn_scratch/layers/linear.py, Linear.backward",
        "nn_scratch.layers.Linear",
        ref.affine_backward,
        lambda: [Case("the hand-worked case", _fixed([[1.0, 0.0], [0.0, 2.0]], _AFF_X, _AFF_W, _AFF_B),
                      (np.array([[1.0, 0, 1], [0, 2, 2]]), np.array([[1.0, 0], [2, -2], [3, 2]]), np.array([1.0, 2])))],
        lambda rng: _affine_random(rng, True), _gradcheck(_gc_affine)),
    Exercise(
        "relu_backward", "01", "the gradient through max(0, x)",
        ("dout", "x"), ("dx",),
        """Backward pass of a ReLU, out = max(0, x), elementwise.

    Inputs:
    - dout: upstream gradient, any shape
    - x: the forward input, same shape

    Returns:
    - dx: gradient with respect to x, same shape (at x == 0 exactly take the gradient 0)""",
        "x = [[-1, 2], [0.5, -3]], dout = [[10, 20], [30, 40]]  ->  dx = [[0, 20], [30, 0]]",
        "nn_scratch/layers/activations.py, ReLU.backward",
        "nn_scratch.layers.ReLU",
        ref.relu_backward,
        lambda: [Case("the hand-worked case", _fixed([[10.0, 20.0], [30.0, 40.0]], [[-1.0, 2.0], [0.5, -3.0]]),
                      (np.array([[0.0, 20.0], [30.0, 0.0]]),))],
        _relu_random, _gradcheck(_gc_relu)),
    Exercise(
        "softmax_loss", "02", "softmax cross-entropy: its value at chance is ln C",
        ("scores", "y"), ("loss", "dscores"),
        """Softmax cross-entropy loss, averaged over the N samples, and its gradient.

    p = softmax(scores) row by row; loss = mean over i of -log p[i, y[i]].

    Inputs:
    - scores: shape (N, C), one row of class scores per sample
    - y: integer labels, shape (N,), 0 <= y[i] < C

    Returns a tuple of:
    - loss: a float, the mean loss
    - dscores: gradient of the mean loss with respect to scores, shape (N, C)""",
        "scores = zeros((2, 3)), y = [0, 2]  ->  loss = ln 3 = 1.0986, dscores = [[-1/3, 1/6, 1/6], "
        "[1/6, 1/6, -1/3]];  scores = [[1000, 1000, 0]], y = [1]  ->  loss = ln 2, dscores = [[0.5, -0.5, 0]]",
        "nn_scratch/losses.py, SoftmaxCrossEntropy",
        "nn_scratch.losses.SoftmaxCrossEntropy",
        ref.softmax_loss,
        lambda: [Case("scores all 0 (N=2, C=3)", _fixed(np.zeros((2, 3)), np.array([0, 2])),
                      (np.log(3), np.array([[-1 / 3, 1 / 6, 1 / 6], [1 / 6, 1 / 6, -1 / 3]]))),
                 Case("scores [[1000, 1000, 0]], y = [1]", _fixed([[1000.0, 1000.0, 0.0]], np.array([1])),
                      (np.log(2), np.array([[0.5, -0.5, 0.0]])))],
        _loss_random, _gradcheck(_gc_loss("softmax"))),
    Exercise(
        "svm_loss", "02", "the multiclass hinge (Weston-Watkins): its value at chance is C - 1",
        ("scores", "y"), ("loss", "dscores"),
        """Multiclass SVM loss with margin 1, averaged over the N samples, and its gradient.

    L_i = sum over j != y_i of max(0, scores[i, j] - scores[i, y_i] + 1); loss = mean over i of L_i.

    Inputs:
    - scores: shape (N, C)
    - y: integer labels, shape (N,)

    Returns a tuple of:
    - loss: a float
    - dscores: gradient of the mean loss with respect to scores, shape (N, C)""",
        "scores = [[3, 1, 2.5], [1, 2, 0]], y = [0, 2]  ->  loss = (0.5 + 5) / 2 = 2.75, "
        "dscores = [[-0.5, 0, 0.5], [0.5, 0.5, -1]]",
        "nn_scratch/losses.py, MulticlassSVM",
        "nn_scratch.losses.MulticlassSVM",
        ref.svm_loss,
        lambda: [Case("the hand-worked case", _fixed([[3.0, 1.0, 2.5], [1.0, 2.0, 0.0]], np.array([0, 2])),
                      (2.75, np.array([[-0.5, 0.0, 0.5], [0.5, 0.5, -1.0]])))],
        _loss_random, _gradcheck(_gc_loss("svm"))),
    Exercise(
        "sgd_momentum", "03", "one step of SGD with momentum, the notes' form",
        ("w", "dw", "v", "lr", "mu"), ("w", "v"),
        """One update of SGD with momentum in the form of the CS231n notes:

        v = mu * v - lr * dw
        w = w + v

    Inputs:
    - w: parameters, any shape;  dw: their gradient, same shape
    - v: the velocity from the previous step (zeros at the start), same shape
    - lr: learning rate (float);  mu: momentum (float, e.g. 0.9)

    Returns a tuple of:
    - w: the updated parameters
    - v: the updated velocity""",
        "w = [1, 2], dw = [0.5, -1], v = [0.1, 0], lr = 0.1, mu = 0.9  ->  v = [0.04, 0.1], w = [1.04, 2.1]",
        "nn_scratch/optim.py, SGD (the Momentum link)",
        "nn_scratch.optim.SGD",
        ref.sgd_momentum,
        lambda: [Case("the hand-worked case", _fixed([1.0, 2.0], [0.5, -1.0], [0.1, 0.0], 0.1, 0.9),
                      (np.array([1.04, 2.1]), np.array([0.04, 0.1])))],
        _sgd_random, inplace_ok=True),
    Exercise(
        "adam", "03", "one step of Adam with bias correction",
        ("w", "dw", "m", "v", "t", "lr", "beta1", "beta2", "eps"), ("w", "m", "v"),
        """One Adam update (Kingma & Ba 2015) with bias correction; t is this step's number, 1 for the first:

        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        m_hat = m / (1 - beta1**t);   v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    Inputs:
    - w, dw, m, v: arrays of one shape (m and v start as zeros)
    - t: int >= 1;  lr, beta1, beta2, eps: floats

    Returns a tuple of:
    - w: updated parameters;  m, v: the updated running averages (not the bias-corrected ones)""",
        "w = [1, -1], dw = [0.2, -0.5], m = v = 0, t = 1, lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8  ->  "
        "w = [0.99, -0.99] (each moves by lr: m_hat = dw, v_hat = dw^2), m = [0.02, -0.05], v = [4e-05, 2.5e-04]",
        "nn_scratch/optim.py, Adam (the ScaleByAdam link)",
        "nn_scratch.optim.Adam",
        ref.adam,
        lambda: [Case("the hand-worked case, t = 1",
                      _fixed([1.0, -1.0], [0.2, -0.5], [0.0, 0.0], [0.0, 0.0], 1, 0.01, 0.9, 0.999, 1e-8),
                      (np.array([1 - 0.01 * 0.2 / (0.2 + 1e-8), -1 + 0.01 * 0.5 / (0.5 + 1e-8)]),
                       np.array([0.02, -0.05]), np.array([4e-5, 2.5e-4])))],
        _adam_random, inplace_ok=True),
    Exercise(
        "dropout_forward", "07", "inverted dropout at training time",
        ("x", "drop_prob", "rng"), ("out", "mask"),
        """Inverted dropout, training mode: drop each unit with probability drop_prob, scale the kept ones.

    Keep each entry with probability 1 - drop_prob (draw from rng, e.g. rng.random(x.shape)), and scale the
    kept entries by 1 / (1 - drop_prob) so that the expected output equals x: evaluation then needs nothing.

    Inputs:
    - x: input, any shape
    - drop_prob: probability of dropping a unit, 0 <= drop_prob < 1
    - rng: a numpy.random.Generator; draw the mask from it, so a seed replays it

    Returns a tuple of:
    - out: x * mask, x's shape
    - mask: the array x was multiplied by, scale included (0 or 1 / (1 - drop_prob)), x's shape""",
        "x = 3 everywhere, drop_prob = 0.25  ->  about 25 % of mask is 0, the rest is 1/0.75 = 1.3333, out = x * mask "
        "(kept units become 4.0)",
        "nn_scratch/layers/dropout.py, Dropout.forward",
        "nn_scratch.layers.Dropout (same scale, same drop rate)",
        ref.dropout_forward, _dropout_fixed, _dropout_random, compare=_dropout_compare),
    Exercise(
        "dropout_backward", "07", "the gradient through inverted dropout",
        ("dout", "mask"), ("dx",),
        """Backward pass of inverted dropout: out = x * mask, where mask already carries the 1/(1 - drop_prob).

    Inputs:
    - dout: upstream gradient, any shape
    - mask: the mask dropout_forward returned, same shape

    Returns:
    - dx: gradient with respect to x, same shape""",
        "dout = [[1, 2], [3, 4]], mask = [[2, 0], [0, 2]]  ->  dx = [[2, 0], [0, 8]]",
        "nn_scratch/layers/dropout.py, Dropout.backward",
        "nn_scratch.layers.Dropout",
        ref.dropout_backward,
        lambda: [Case("the hand-worked case", _fixed([[1.0, 2.0], [3.0, 4.0]], [[2.0, 0.0], [0.0, 2.0]]),
                      (np.array([[2.0, 0.0], [0.0, 8.0]]),))],
        _dropout_backward_random, _gradcheck(_gc_dropout)),
    Exercise(
        "batchnorm_backward", "08", "the gradients of batch normalization in training mode",
        ("dout", "x", "gamma", "eps"), ("dx", "dgamma", "dbeta"),
        """Backward pass of batch normalization in training mode, for x of shape (N, D).

    Forward (recompute it from x): mean and var over the batch (axis 0, the biased variance, divide by N),
    xhat = (x - mean) / sqrt(var + eps), out = gamma * xhat + beta.  mean and var depend on every x[i], so
    dx has more than one term.

    Inputs:
    - dout: upstream gradient, shape (N, D)
    - x: the forward input, shape (N, D)
    - gamma: scale, shape (D,)
    - eps: float

    Returns a tuple of:
    - dx: shape (N, D);  dgamma: shape (D,);  dbeta: shape (D,)""",
        "x = [[0], [1], [2]], gamma = [1], eps = 1e-5, dout = [[1], [0], [0]]  ->  dbeta = [1], "
        "dgamma = [-1.2247] (= xhat[0]), dx = [[0.2041], [-0.4082], [0.2041]] (they sum to 0)",
        "nn_scratch/layers/normalization.py, BatchNorm.backward",
        "nn_scratch.layers.BatchNorm",
        ref.batchnorm_backward,
        lambda: [Case("the hand-worked case", _fixed([[1.0], [0.0], [0.0]], [[0.0], [1.0], [2.0]], [1.0], 1e-5))],
        _bn_random, _gradcheck(_gc_batchnorm)),
    Exercise(
        "conv_forward_naive", "08", "a convolutional layer's forward pass, with loops",
        ("x", "w", "b", "stride", "pad"), ("out",),
        """Forward pass of a convolutional layer (cross-correlation, as in every deep-learning library).

    Pad x with `pad` zeros on both sides of H and W; then for every sample n, filter f and output pixel
    (i, j): out[n, f, i, j] = b[f] + sum over c, a, e of xpad[n, c, i*stride + a, j*stride + e] * w[f, c, a, e].
    Loops are fine here: this is the slow version that shows the sum.

    Inputs:
    - x: shape (N, C, H, W)
    - w: filters, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - stride, pad: ints

    Returns:
    - out: shape (N, F, H', W'), H' = (H + 2 pad - HH) // stride + 1, W' = (W + 2 pad - WW) // stride + 1""",
        "x = [[[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]], w = [[[[1, 0], [0, -1]]]], b = [1], stride 1, pad 0  ->  "
        "out = [[[[-3, -3], [-3, -3]]]] (x[i, j] - x[i+1, j+1] + 1)",
        "nn_scratch/layers/conv.py, Conv2D.forward (im2col: the same sum as one matrix product)",
        "nn_scratch.layers.Conv2D",
        ref.conv_forward_naive,
        lambda: [Case("the hand-worked case", _fixed(np.arange(9.0).reshape(1, 1, 3, 3),
                                                      [[[[1.0, 0.0], [0.0, -1.0]]]], [1.0], 1, 0),
                      (np.full((1, 1, 2, 2), -3.0),))],
        _conv_random),
    Exercise(
        "lstm_step_backward", "10", "one step of an LSTM's backward pass (gates i, f, o, g)",
        ("dnext_h", "dnext_c", "x", "prev_h", "prev_c", "Wx", "Wh", "b"),
        ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
        """Backward pass of one LSTM step. Recompute the forward from the inputs:

        a = x @ Wx + prev_h @ Wh + b, split into four blocks of H columns in the order i, f, o, g
        i, f, o = sigmoid of their blocks;  g = tanh of its block
        next_c = f * prev_c + i * g;   next_h = o * tanh(next_c)

    Gradients arrive on both outputs: dnext_h from the layer above and the next step, dnext_c from the next
    step's cell.

    Inputs:
    - dnext_h, dnext_c: shape (N, H)
    - x: shape (N, D);  prev_h, prev_c: shape (N, H)
    - Wx: shape (D, 4H);  Wh: shape (H, 4H);  b: shape (4H,)

    Returns a tuple of:
    - dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)""",
        "N = D = H = 1, Wx = Wh = b = 0, x = 1, prev_h = 0, prev_c = 1, dnext_h = 1, dnext_c = 0: i = f = o = 0.5, "
        "g = 0, next_c = 0.5, dc = 0.5 (1 - tanh(0.5)^2) = 0.3932, dprev_c = 0.1966, db = [0, 0.0983, 0.1155, "
        "0.1966], dWx = db (x = 1), dWh = 0 (prev_h = 0), dx = dprev_h = 0 (the weights are 0)",
        "nn_scratch/layers/recurrent.py, LSTM.backward (one pass of its loop)",
        "nn_scratch.layers.LSTM (one step)",
        ref.lstm_step_backward, _lstm_fixed, _lstm_random, _gradcheck(_gc_lstm)),
]
