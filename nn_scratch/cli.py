"""The ``nn-scratch`` command: ``nn-scratch demo`` runs the careful practitioner's recipe end to end.

    nn-scratch demo                       # digits, MLP 64-128-10, about 10 s, writes runs/<timestamp>/
    nn-scratch demo --dataset mnist --data-dir /path/to/data --limit 10000
    python -m nn_scratch                  # the same as ``nn-scratch demo``

The steps, one printed line each: gradient check of the model -> loss at chance -> overfit a tiny subset
-> learning-rate range test -> training with early stopping, weight averaging and checkpoints -> test
accuracy.  The run folder gets ``report.md`` (every number and figure), ``history.json`` /
``history.csv`` / ``history_steps.csv``, the best checkpoint and the final weights (``.npz``) and the
figures (PNG).  Bad options and missing data end with one line on stderr and a non-zero exit status.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import time

# The demo's mini-batches are small: a multi-threaded BLAS spends more on coordinating threads than it
# gains (on a busy two-core machine 4x slower than one thread).  Unless the user chose otherwise, the
# command runs BLAS on one thread -- which only takes effect when NumPy is not imported yet.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from .files import save_npz  # noqa: E402

__all__ = ["main", "build_parser", "run_demo"]

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
DEFAULT_LIMIT = {"mnist": 10000, "fashion-mnist": 10000, "cifar10": 10000}   # training images
MIN_LIMIT = 50           # the sanity step overfits 20 training images; the rest must still train something
VAL_FRACTION = 0.15      # of the images the training and validation splits are drawn from


class UsageError(Exception):
    """A bad option value: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):            # argparse prints usage + message; we want one line
        raise UsageError(message)


def _number(convert, low, what):
    """An argparse ``type``: ``convert(text)``, finite and >= ``low``, else a one-line error naming ``what``."""
    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= v < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


_positive_int = _number(int, 1, "a positive integer")
_seed = _number(int, 0, "an integer >= 0")
_nonnegative = _number(float, 0.0, "a finite number >= 0")


def _out_folder(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string (leave --out out for "
                                         "runs/<timestamp>)")
    return text


def _hidden(text):
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer widths like 128 or 256,128, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive layer widths like 128 or 256,128, got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog="nn-scratch", description="nn_scratch: a neural network from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"nn-scratch {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = sub.add_parser("demo", help="run the whole careful-practitioner recipe on a data set",
                          description="Gradient check, sanity checks, LR range test, training with early "
                                      "stopping / weight averaging / checkpoints, test accuracy; writes a run "
                                      "folder with report.md, history and figures.")
    demo.add_argument("--dataset", choices=DATASETS, default="digits",
                      help="digits is embedded; the others read their original files (default: digits)")
    demo.add_argument("--data-dir", default=None,
                      help="folder with the mnist/, fashion-mnist/ or cifar-10-batches-bin/ files "
                           "(default: $NN_SCRATCH_DATA, else ./datasets)")
    demo.add_argument("--hidden", type=_hidden, default=(128,), help="hidden widths, e.g. 128 or 256,128 (default 128)")
    demo.add_argument("--epochs", type=_positive_int, default=20, help="maximum epochs (default 20)")
    demo.add_argument("--batch-size", type=_positive_int, default=32, help="mini-batch size (default 32)")
    demo.add_argument("--reg", type=_nonnegative, default=3e-3,
                      help="L2 penalty strength in 0.5*reg*sum(W^2) (default 3e-3)")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of every random draw (default 0)")
    demo.add_argument("--limit", type=_positive_int, default=None,
                      help=f"train on N images (at least {MIN_LIMIT}); the validation split is drawn besides "
                           "them and the test split is always the whole test set (default 10000 for mnist, "
                           "fashion-mnist and cifar10; all 1168 for digits)")
    demo.add_argument("--out", type=_out_folder, default=None,
                      help="run folder, new or empty (default runs/<timestamp>, a fresh folder every run)")
    demo.add_argument("--overwrite", action="store_true",
                      help="--out may be a previous run folder: its contents are deleted first")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.add_argument("--no-figures", action="store_true", help="numbers only: skip the PNG figures (faster)")

    # nn-scratch exercise list | start NAME [--dir DIR] | check FILE  (nn_scratch.exercises does the work)
    exercise = sub.add_parser("exercise", help="exercises you write and the package grades",
                              description="Write the functions of a from-scratch course (affine_backward, "
                                          "softmax_loss, adam, ...) and have them graded: exit status 0 pass, "
                                          "1 fail, 2 a file that cannot be loaded.")
    actions = exercise.add_subparsers(dest="exercise_command", parser_class=_Parser)
    actions.add_parser("list", help="the exercises in course order, one line each")
    start = actions.add_parser("start", help="write NAME.py: the signature, the contract, a body to fill in")
    start.add_argument("name", help="the exercise (see: nn-scratch exercise list)")
    start.add_argument("--dir", default=".", help="folder to write NAME.py into (default: the current one)")
    start.add_argument("--force", action="store_true", help="replace an existing NAME.py")
    check = actions.add_parser("check", help="grade the exercise functions in FILE and name likely mistakes")
    check.add_argument("file", help="a Python file defining one of the exercise functions")
    check.add_argument("--timeout", type=_number(float, 0.1, "a number of seconds >= 0.1"), default=30.0,
                       help="seconds before a function that does not return is stopped (default 30)")
    return parser


def main(argv=None) -> int:
    """Entry point of ``nn-scratch`` and ``python -m nn_scratch``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")                      # plain ``nn-scratch`` / ``python -m nn_scratch``
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        print(f"nn-scratch: error: {err} (see nn-scratch {argv[0] if argv[0] == 'exercise' else 'demo'} --help)",
              file=sys.stderr)
        return 2
    if args.command == "exercise":
        from .exercises import command
        return command(args)
    if args.command != "demo":
        build_parser().print_help()
        return 2
    from .callbacks import TrainingDiverged
    from .data import DatasetError
    try:
        run_demo(args)
    except UsageError as err:
        print(f"nn-scratch: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"nn-scratch: error: {_diverged(err, args)}", file=sys.stderr)
        return 1
    except DatasetError as err:
        print(f"nn-scratch: error: {_one_line(err)} (on the command line: --data-dir DIR)", file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError) as err:
        print(f"nn-scratch: error: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nn-scratch: interrupted", file=sys.stderr)
        return 130
    return 0


def _one_line(err):
    return " ".join(str(err).split())


def _diverged(err, args):
    """One line: what diverged, where, and what to try (for the demo's own knobs)."""
    what = f"training diverged at step {err.step} (epoch {err.epoch:.2f}): the {err.what} became NaN/inf"
    if err.names:
        what += f" ({', '.join(err.names)})"
    lr = getattr(err, "demo_lr", None)
    if args.reg and lr and lr * args.reg > 1:
        return (f"{what}. With --reg {args.reg:g} and learning rate {lr:.3g}, the penalty alone moves the weights "
                f"by lr*reg = {lr * args.reg:.3g} of themselves per step (above 1, so they overshoot and grow): "
                f"try --reg below {1 / lr:.2g}, e.g. --reg 3e-3")
    return (f"{what}. Try a smaller --reg (now {args.reg:g}), a larger --batch-size (now {args.batch_size}), "
            "or fewer/narrower --hidden layers")


def _prepare_out(args):
    """The run folder, checked and created before any work: a new folder, or an empty one, or (with
    --overwrite) a previous run folder cleared first.  The default runs/<timestamp> is created with an
    exclusive mkdir, so two runs started in the same second get two folders (-2, -3, ... appended)."""
    if args.out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        os.makedirs("runs", exist_ok=True)
        for k in range(1, 1000):
            out = os.path.join("runs", stamp if k == 1 else f"{stamp}-{k}")
            try:
                os.mkdir(out)
                return out
            except FileExistsError:
                continue
        raise UsageError(f"could not create a fresh run folder under runs/ for {stamp}; pass --out")
    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a folder")
    if os.path.isdir(out) and os.listdir(out):
        looks_like_run = any(os.path.exists(os.path.join(out, f)) for f in ("report.md", "history.json"))
        if not args.overwrite:
            raise UsageError(f"--out {out} is not empty; choose a new folder, or add --overwrite to delete "
                             "its contents first" + ("" if looks_like_run else " (it does not look like a run "
                                                                                 "folder)"))
        if not looks_like_run or os.path.abspath(out) in (os.path.abspath("."), os.path.expanduser("~"), "/"):
            raise UsageError(f"--out {out} holds files that are not a demo run (no report.md or history.json); "
                             "--overwrite only clears a previous run folder")
        for name in os.listdir(out):
            path = os.path.join(out, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
    os.makedirs(out, exist_ok=True)
    return out


# -- the demo ------------------------------------------------------------------------------------------------
def _split_train_val(X, y, n_train, seed):
    """A seeded permutation: the first n_train rows train, the rest validate."""
    order = np.random.default_rng(seed).permutation(len(y))
    tr, va = order[:n_train], order[n_train:]
    return X[tr], y[tr], X[va], y[va]


def _load(args):
    """(X_train, y_train, X_val, y_val, X_test, y_test, image_shape, standardizer), all three splits scaled
    by the standardizer fitted on the training split.  ``--limit N`` is the number of *training* images;
    the validation split is drawn besides them, the test split is always whole."""
    from .data import (Standardizer, load_cifar10, load_digits, load_fashion_mnist, load_mnist,
                       train_val_test_split)
    limit = args.limit if args.limit is not None else DEFAULT_LIMIT.get(args.dataset)
    if limit is not None and limit < MIN_LIMIT:
        raise UsageError(f"--limit {limit} is too small: the demo needs at least {MIN_LIMIT} training images "
                         "(it overfits 20 of them as a sanity check)")
    if args.dataset == "digits":
        X, y = load_digits()
        Xtr, ytr, Xva, yva, Xte, yte = train_val_test_split(X, y, val=0.15, test=0.2, seed=args.seed)
        if limit is not None:
            if limit > len(ytr):
                raise UsageError(f"--limit {limit} is more than the {len(ytr)} training images of digits")
            Xtr, ytr = Xtr[:limit], ytr[:limit]
        shape = (8, 8)
    else:
        loader = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist,
                  "cifar10": lambda **kw: load_cifar10(flatten=True, **kw)}[args.dataset]
        n_val = int(np.ceil(limit * VAL_FRACTION / (1 - VAL_FRACTION)))
        X, y = loader(data_dir=args.data_dir, kind="train", limit=limit + n_val)
        if len(y) < limit + n_val:
            raise UsageError(f"--limit {limit} is too large: {args.dataset} has {len(y)} training images, and "
                             f"{n_val} more than the limit are needed for validation; use --limit "
                             f"{int(len(y) * (1 - VAL_FRACTION))} or less")
        Xte, yte = loader(data_dir=args.data_dir, kind="test")
        Xtr, ytr, Xva, yva = _split_train_val(X, y, limit, args.seed)
        shape = (3, 32, 32) if args.dataset == "cifar10" else (28, 28)
    # one mean and one std over all training pixels: per-pixel scaling would blow up the nearly
    # always-blank border pixels of MNIST into huge values on the rare image that touches them
    st = Standardizer().fit(Xtr.reshape(-1, 1))
    scale = lambda A: st.transform(A.reshape(-1, 1)).reshape(A.shape)   # noqa: E731
    return (scale(Xtr), ytr, scale(Xva), yva, scale(Xte), yte, shape, st)


def _model(D, hidden, C, seed):
    """ReLU MLP: He-initialized hidden layers and a *small* output layer, N(0, 0.01^2), so the first loss is
    ln C (``sanity.check_initial_loss``).  Not ``init="zeros"``: with a zero output layer every hidden
    layer's gradient is exactly zero at the start, and the gradient check of step 1 would compare zeros."""
    from .layers import Linear, ReLU, Sequential
    layers, width = [], D
    for i, h in enumerate(hidden):
        layers += [Linear(width, h, init="he", rng=seed + i), ReLU()]
        width = h
    layers.append(Linear(width, C, init="gaussian", weight_scale=0.01, rng=seed + len(hidden)))
    return Sequential(layers)


class _Step:
    """Prints ``[k/6] what ... result (seconds)`` for one step of the recipe."""

    def __init__(self, total=6):
        self.k, self.total = 0, total

    def __call__(self, text):
        self.k += 1
        self.t0 = time.perf_counter()
        print(f"[{self.k}/{self.total}] {text:<28s}", end=" ", flush=True)

    def done(self, text):
        print(f"{text} ({time.perf_counter() - self.t0:.1f} s)", flush=True)


def run_demo(args) -> dict:
    """Run the recipe with parsed ``args``; returns a dict of the numbers (also written to report.md)."""
    from . import analysis
    from .callbacks import Checkpoint, EarlyStopping, WeightAverage
    from .gradcheck import check_model, step_size_sweep
    from .losses import SoftmaxCrossEntropy
    from .lr_finder import lr_range_test
    from .monitors import ActivationStats, GradientStats, PerSampleLoss, WeightSnapshots
    from .optim import SGD
    from .sanity import check_initial_loss, overfit_small_subset
    from .schedules import cosine_decay
    from .trainer import Trainer, TrainingDiverged

    t_start = time.perf_counter()
    if args.out is not None and os.path.isdir(args.out) and os.listdir(args.out) and not args.overwrite:
        _prepare_out(args)                                          # refuses with one line, nothing made
    Xtr, ytr, Xva, yva, Xte, yte, image_shape, standardizer = _load(args)
    out = _prepare_out(args)
    D, C = Xtr.shape[1], int(max(ytr.max(), yva.max(), yte.max())) + 1
    arch = "-".join(str(n) for n in (D, *args.hidden, C))
    print(f"nn-scratch demo: {args.dataset} ({len(ytr)} train / {len(yva)} validation / {len(yte)} test), "
          f"MLP {arch}, seed {args.seed} -> {out}", flush=True)
    model = _model(D, args.hidden, C, args.seed)
    W1_initial = model.layers[0].W.value.copy()
    loss = SoftmaxCrossEntropy()
    nums = {"dataset": args.dataset, "architecture": arch, "seed": args.seed, "n_train": len(ytr),
            "n_val": len(yva), "n_test": len(yte), "out": out,
            "settings": f"batch size {args.batch_size}, at most {args.epochs} epochs, SGD with momentum 0.9 and "
                        f"cosine decay from the range test's rate, L2 reg {args.reg:g} (0.5 reg sum W^2), "
                        f"early stopping on validation loss (patience 6, best weights restored), "
                        f"weight average (EMA 0.95) for evaluation"}
    step = _Step()

    # 1. gradient check, in float64 on a copy, on a few samples
    step("gradient check")
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(ytr), size=8, replace=False)
    report = check_model(model, loss, Xtr[pick], ytr[pick], seed=args.seed)     # on a float64 copy
    h_sweep = step_size_sweep(model, Xtr[pick[:4]], loss, ytr[pick[:4]], hs=np.logspace(-10, -1, 10),
                              num_coords=3, seed=args.seed)
    nums["gradcheck_passed"] = bool(report.passed)
    nums["gradcheck"] = str(report)
    step.done(_first_line(report))

    # 2. loss at chance
    step("loss at chance")
    r = check_initial_loss(model, loss, Xtr, ytr)
    nums.update(initial_loss=r.measured, chance_loss=r.expected, initial_loss_passed=bool(r.passed))
    nums["initial_loss_tol"] = r.details["tolerance"]
    nums["initial_score_std"] = r.details["score_std"]
    step.done(f"{'PASS' if r.passed else 'FAIL'}: {r.measured:.4f} vs ln {C} = {r.expected:.4f} "
              f"(tolerance +-{r.details['tolerance']:.3g}; score spread {r.details['score_std']:.3g})")

    # 3. overfit a tiny subset
    step("overfit 20 examples")
    r = overfit_small_subset(model, loss, Xtr, ytr, n=20, steps=300, seed=args.seed)
    nums.update(overfit_passed=bool(r.passed), overfit_steps=r.details.get("steps_taken"),
                overfit_final_loss=r.measured)
    step.done(f"{'PASS' if r.passed else 'FAIL'}: loss {r.details.get('initial_loss', float('nan')):.3f} -> "
              f"{r.measured:.2g} in {r.details.get('steps_taken')} steps, training accuracy "
              f"{r.details.get('train_acc', float('nan')):.0%}")

    # 4. learning-rate range test -> the rate
    step("learning-rate range test")
    momentum = 0.9
    sweep = lr_range_test(model, loss, Xtr, ytr, optimizer=lambda p, lr: SGD(p, lr, momentum=momentum),
                          start_lr=1e-5, end_lr=10.0, num_steps=150, batch_size=args.batch_size, seed=args.seed)
    lr = float(sweep.suggested_lr)
    if not (np.isfinite(lr) and lr > 0):
        lr = float(sweep.min_loss_lr) / 10 if np.isfinite(sweep.min_loss_lr) else 0.01
    lr = float(np.clip(lr, 1e-4, 1.0))
    nums.update(lr=lr, lr_min_loss=float(sweep.min_loss_lr), lr_sweep_diverged=bool(sweep.diverged))
    step.done(f"suggested {sweep.suggested_lr:.3g} (loss minimum at {sweep.min_loss_lr:.3g}) -> lr {lr:.3g}, "
              f"SGD momentum {momentum}, cosine decay")

    # 5. training with validation, early stopping, weight averaging, checkpoints and the monitors
    step("training")
    print(flush=True)
    steps_per_epoch = -(-len(ytr) // args.batch_size)
    total = args.epochs * steps_per_epoch
    log_steps = analysis.log_spaced_steps(total, 24)
    few = np.unique([s for s in (0, steps_per_epoch // 4, steps_per_epoch, 4 * steps_per_epoch,
                                 12 * steps_per_epoch) if s <= total])     # histograms at these steps
    probe = rng.choice(len(yva), size=min(256, len(yva)), replace=False)    # fixed batch for the histograms
    sub = rng.choice(len(ytr), size=min(400, len(ytr)), replace=False)      # training samples to follow
    weights = WeightSnapshots(at_steps=log_steps)
    stopper = EarlyStopping("val_loss", mode="min", patience=6, restore_best=True)
    averager = WeightAverage(decay=0.95)
    ckpt_dir = os.path.join(out, "checkpoints")
    checkpoint = Checkpoint(ckpt_dir, monitor="val_loss", mode="min",
                            filename="best_epoch{epoch:03d}_val_loss{value:.4f}.npz")
    monitors = [PerSampleLoss(on="val", at_steps=log_steps),
                PerSampleLoss(X=Xtr[sub], y=ytr[sub], at_steps=log_steps, key="per_sample_loss_train"),
                PerSampleLoss(on="val", every=1, key="per_sample_loss_epochs"),
                ActivationStats(Xva[probe], at_steps=few), GradientStats(Xva[probe], yva[probe], at_steps=few),
                weights]
    optimizer = SGD(model.parameters(), lr=cosine_decay(lr, total, final_value=lr / 50), momentum=momentum)
    trainer = Trainer(model, loss, optimizer, reg=args.reg or None, callbacks=[stopper, averager, checkpoint],
                      monitors=monitors, progress=not args.no_progress)
    try:
        history = trainer.fit(Xtr, ytr, Xva, yva, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    except TrainingDiverged as err:
        err.demo_lr = lr
        raise
    es = history.meta.get("early_stopping", {})
    ran = len(history)
    best_epoch = es.get("best_epoch")
    nums.update(epochs_run=ran, best_epoch=best_epoch, best_val_loss=es.get("best"),
                stopped_early=es.get("stopped_epoch") is not None,
                final_val_acc=_last(history.epochs["val_acc"]), final_train_acc=_last(history.epochs["train_acc_eval"]))
    print(f"      {ran} epochs in {history.epochs['time'][-1]:.1f} s "
          f"({'stopped early' if nums['stopped_early'] else 'ran to the end'}); best "
          f"validation loss {es.get('best', float('nan')):.4f} at epoch {best_epoch}, restored (weight-averaged); "
          f"checkpoint {os.path.basename(checkpoint.best_path or '-')}", flush=True)

    # 6. test accuracy, once, with the restored best weights
    step("test accuracy")
    test = trainer.evaluate(Xte, yte)
    val = trainer.evaluate(Xva, yva)
    nums.update(test_acc=test["acc"], test_loss=test["loss"], val_acc=val["acc"], val_loss=val["loss"])
    step.done(f"test accuracy {test['acc']:.4f} (test loss {test['loss']:.4f}; validation accuracy {val['acc']:.4f})")

    # the run folder
    _save_weights(os.path.join(out, "model.npz"), model, standardizer)
    history.to_json(os.path.join(out, "history.json"))
    history.to_csv(os.path.join(out, "history.csv"), table="epochs")
    history.to_csv(os.path.join(out, "history_steps.csv"), table="steps")
    if not args.no_figures:
        nums["lr_sweep"] = _lr_sweep(loss, Xtr, ytr, lr, momentum, args, _model(D, args.hidden, C, args.seed))
    nums["best_h"] = h_sweep.best_h
    figures = _figures(out, history, model, sweep, h_sweep, nums, image_shape, weights, not args.no_figures,
                       W1_initial)
    nums["findings"] = analysis.diagnose(history, model=model)
    nums["checkpoint"] = os.path.relpath(checkpoint.best_path, out) if checkpoint.best_path else None
    nums["seconds"] = time.perf_counter() - t_start
    _write_report(out, nums, figures)
    print(f"wrote {out}/report.md, history.json, history.csv, model.npz, {nums['checkpoint']}, "
          f"{len(figures)} figures ({nums['seconds']:.1f} s in all)", flush=True)
    return nums


def _first_line(report):
    return str(report).strip().splitlines()[0] if str(report).strip() else repr(report)


def _last(values):
    return float(values[-1]) if len(values) else float("nan")


def _save_weights(path, model, standardizer):
    """The final (restored best, weight-averaged) model and the input scaling, as one .npz, atomically."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"standardizer/{k}": v for k, v in standardizer.state_dict().items()})
    save_npz(path, arrays)


def _lr_sweep(loss, X, y, lr, momentum, args, fresh):
    """Two epochs at lr/10, lr and 10 lr from the same start: batch losses per rate."""
    from .optim import SGD
    from .trainer import Trainer, TrainingDiverged
    start = fresh.state_dict()
    curves = {}
    n = min(len(y), 1500)
    for rate in (lr / 10, lr, lr * 10):
        fresh.load_state_dict(start)
        tr = Trainer(fresh, loss, SGD(fresh.parameters(), lr=rate, momentum=momentum), progress=False,
                     update_ratio_every=0)
        try:
            h = tr.fit(X[:n], y[:n], epochs=2, batch_size=args.batch_size, seed=args.seed, eval_train=False)
            curves[rate] = np.asarray(h.steps["loss"], dtype=float)
        except TrainingDiverged as err:
            curves[rate] = np.r_[np.asarray(err.history.steps["loss"], dtype=float), np.nan]
    return curves


FIGURE_FILES = {
    "loss_per_step.png": "Training (data) loss per step, linear and log axes, with the L2 penalty and the objective "
                         "as their own series",
    "epoch_curves.png": "Loss and accuracy per epoch: training loss (epoch average and end of epoch), validation, "
                        "L2 penalty and objective",
    "learning_rate.png": "Learning rate per step (cosine decay from the range test's rate)",
    "update_ratios.png": "Update / weight ratio per parameter, with the 1e-3 rule of thumb",
    "activations.png": "Activation histograms per layer at a few points of training",
    "gradients.png": "Gradient histograms per layer (dLoss/d output) at the same points",
    "first_layer_weights.png": "First-layer weights as images, and their change from the initial weights",
    "loss_heatmap.png": "Per-sample loss distributions at log-spaced iterations (log colour)",
    "outliers.png": "Validation samples that were Tukey outliers (fence on the raw loss), and for how many epochs",
    "weight_distributions.png": "Weight distributions per layer over training",
    "lr_range_test.png": "Learning-rate range test",
    "lr_sweep.png": "Learning-rate sweep: two epochs at lr/10, lr, 10 lr from the same start",
    "gradcheck_step_size.png": "Gradient check: relative error against the finite-difference step h",
}


def _figures(out, history, model, sweep, h_sweep, nums, image_shape, weights, draw=True, W1_initial=None):
    """Compute the distribution numbers into ``nums``; draw and save the figures unless ``draw`` is False."""
    from . import analysis, plots
    L_val, steps = analysis.history_loss_matrix(history)
    L_train, _ = analysis.history_loss_matrix(history, "per_sample_loss_train")
    L_epochs, _ = analysis.history_loss_matrix(history, "per_sample_loss_epochs")
    count, longest = analysis.outlier_epochs(L_epochs)                 # Tukey fence on the raw loss (paper 004)
    flagged_last = analysis.outlier_mask(L_epochs[:, -1:])[:, 0]
    count_log, _ = analysis.outlier_epochs(L_epochs, log=True)
    never = count == 0
    q = analysis.loss_quantiles(L_val, (0.5, 0.95))
    nums.update(outliers_ever=int(np.sum(count > 0)), outliers_half=int(np.sum(count >= L_epochs.shape[1] / 2)),
                outlier_longest=int(longest.max(initial=0)), outliers_last=int(flagged_last.sum()),
                outliers_last_min_loss=float(L_epochs[flagged_last, -1].min()) if flagged_last.any() else float("nan"),
                outliers_ever_log=int(np.sum(count_log > 0)),
                never_outlier_max_loss=float(L_epochs[never, -1].max()) if never.any() else float("nan"),
                val_median_start=q[0, 0], val_median_end=q[0, -1],
                val_p95_end=q[1, -1], val_max_end=float(L_val[:, -1].max()))
    e = history.epochs
    rising = analysis.rising_loss_holding_accuracy(e["val_loss"], e["val_acc"], epochs=e["epoch"],
                                                   train_acc=e["train_acc_eval"])
    nums["rising"] = str(rising) if rising else None
    nums.update(final_data_loss=_last(e["train_loss"]), final_penalty=_last(e["train_penalty"]),
                final_objective=_last(e["train_objective"]))
    try:
        series = analysis.update_ratio_series(history)
    except KeyError:                        # a run of fewer steps than the sampling may have none
        series = {}
    ratios = analysis.update_ratio_diagnosis({k: r for k, (_, r) in series.items()},
                                             weights=history.meta.get("regularized"))
    has_ratios = bool(series)
    nums["update_ratios"] = {k: f"{m:.1e} ({v})" for k, (v, m) in ratios.items()}
    W1 = model.layers[0].W.value
    make = {
        "loss_per_step.png": lambda: plots.plot_step_loss(history),
        "epoch_curves.png": lambda: plots.plot_epoch_curves(history),
        "learning_rate.png": lambda: plots.plot_learning_rate(history),
        "update_ratios.png": lambda: plots.plot_update_ratios(history),
        "activations.png": lambda: plots.plot_layer_histograms(history, title="Activations"),
        "gradients.png": lambda: plots.plot_layer_histograms(history, key="gradients", title="Gradients",
                                                             xlabel="dLoss / d output", log_counts=True),
        "first_layer_weights.png": lambda: plots.plot_first_layer_weights(W1, image_shape=image_shape,
                                                                          initial=W1_initial),
        "loss_heatmap.png": lambda: plots.plot_loss_heatmap(
            {f"training ({L_train.shape[0]} samples)": L_train, f"validation ({L_val.shape[0]} samples)": L_val},
            steps=steps),
        "outliers.png": lambda: plots.plot_outlier_epochs(L_epochs, unit="epochs"),
        "weight_distributions.png": lambda: plots.plot_weight_distributions(weights.values, steps=weights.steps),
        "lr_range_test.png": lambda: plots.plot_lr_range_test(sweep),
        "lr_sweep.png": lambda: plots.plot_lr_sweep(nums["lr_sweep"]),
        "gradcheck_step_size.png": lambda: plots.plot_step_size_sweep(h_sweep),
    }
    if not has_ratios:
        del make["update_ratios.png"]
    written = []
    for name, build in make.items() if draw else ():
        plots.save_figure(build(), os.path.join(out, name))
        written.append(name)
    return written


def _write_report(out, n, figures):
    from .files import atomic_write_text
    pct = lambda v: f"{100 * v:.2f} %"   # noqa: E731
    share = n["final_penalty"] / n["final_objective"] if n["final_objective"] > 0 else float("nan")
    penalty_share = f"{100 * share:.0f} %"
    lines = [
        f"# nn-scratch demo: {n['dataset']}, MLP {n['architecture']}", "",
        f"Seed {n['seed']}; {n['n_train']} training, {n['n_val']} validation, {n['n_test']} test samples; "
        f"{n['seconds']:.1f} s.", "", f"Settings: {n['settings']}.", "",
        "| step | result |", "|---|---|",
        f"| gradient check | {'PASS' if n['gradcheck_passed'] else 'FAIL'} |",
        f"| loss at chance | {n['initial_loss']:.4f} vs {n['chance_loss']:.4f}, tolerance +-{n['initial_loss_tol']:.3g} "
        f"(score spread {n['initial_score_std']:.3g}) ({'PASS' if n['initial_loss_passed'] else 'FAIL'}) |",
        f"| overfit 20 examples | {'PASS' if n['overfit_passed'] else 'FAIL'}: loss {n['overfit_final_loss']:.3g} "
        f"after {n['overfit_steps']} steps |",
        f"| learning rate | {n['lr']:.4g} (range test; loss minimum at {n['lr_min_loss']:.3g}) |",
        f"| training | {n['epochs_run']} epochs, best validation loss {n['best_val_loss']:.4f} at epoch "
        f"{n['best_epoch']}{', stopped early' if n['stopped_early'] else ''} |",
        f"| training loss (data loss, last epoch's average) | {n['final_data_loss']:.4g} |",
        f"| L2 penalty (last epoch's average) | {n['final_penalty']:.4g} = {penalty_share} of the objective "
        f"{n['final_objective']:.4g} |",
        f"| validation accuracy | {pct(n['val_acc'])} |",
        f"| **test accuracy** | **{pct(n['test_acc'])}** (test loss {n['test_loss']:.4f}) |",
        f"| best checkpoint | `{n['checkpoint']}` |", "",
        "", f"The training loss is the data loss (cross-entropy, no penalty). The objective the optimizer "
        f"minimizes adds the L2 penalty 0.5*reg*sum(W^2): at the end {n['final_penalty']:.4g}, "
        f"{penalty_share} of the objective {n['final_objective']:.4g}. The figures draw the two apart.", "",
        "## Gradient check", "", "```", n["gradcheck"].strip(), "```", "",
        "## Diagnosis", "", *[f"- {f}" for f in n["findings"]],
        "- update/weight ratio (median): " + (", ".join(f"{k} {v}" for k, v in n["update_ratios"].items())
                                               or "none recorded (the run took fewer steps than the sampling interval)"),
        f"- validation per-sample loss: median {n['val_median_start']:.3f} -> {n['val_median_end']:.4f}, "
        f"95th percentile at the end {n['val_p95_end']:.3f}, maximum {n['val_max_end']:.2f}",
        f"- Tukey outliers, fence Q3 + 1.5 IQR on the raw loss (as in Venter et al. 2021): at the last epoch "
        f"{n['outliers_last']} of {n['n_val']} validation samples ({100 * n['outliers_last'] / n['n_val']:.0f} %) "
        f"are flagged (smallest flagged loss {n['outliers_last_min_loss']:.2g}); {n['outliers_ever']} "
        f"({100 * n['outliers_ever'] / n['n_val']:.0f} %) were ever one, {n['outliers_half']} for at least half the "
        f"epochs (longest run {n['outlier_longest']} epochs); the samples never flagged end with a loss of at most "
        f"{n['never_outlier_max_loss']:.2g}. The raw fence sits just above the many near-zero losses, so it "
        f"flags samples whose loss is still small; the fence on log loss (`analysis.outlier_epochs(L, log=True)`) "
        f"flags {n['outliers_ever_log']} ever.",
        f"- validation loss rising while accuracy holds: {n['rising'] or 'not seen'}", "",
        "## Figures", "", *([] if figures else ["(skipped: --no-figures)", ""]),
    ]
    for name in figures:
        lines += [f"### {FIGURE_FILES[name]}", "", f"![{FIGURE_FILES[name]}]({name})", ""]
    lines += ["## Files", "", "- `history.json` (everything recorded), `history.csv` (per epoch), "
              "`history_steps.csv` (per step)",
              "- `model.npz`: the final weights (restored best, weight-averaged) and the input standardization",
              "- `checkpoints/`: the best epoch's full training state (`Trainer.fit(resume_from=...)`)", ""]
    atomic_write_text(os.path.join(out, "report.md"), "\n".join(lines))
