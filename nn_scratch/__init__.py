"""nn_scratch: a neural-network package written from scratch in NumPy, to see and check every number.

Subpackages and modules, one idea each:

* ``nn_scratch.layers``     -- the Parameter / Layer protocol and the layers
* ``nn_scratch.losses``     -- per-sample losses, the L2 penalty, flooding
* ``nn_scratch.gradcheck``  -- numerical gradients, relative error, kink-aware checks and their verdict
* ``nn_scratch.optim`` / ``nn_scratch.schedules`` / ``nn_scratch.lr_finder`` -- update rules, learning-rate
  schedules that compose, the LR range test
* ``nn_scratch.trainer`` / ``nn_scratch.callbacks`` -- the training loop and its callbacks
* ``nn_scratch.sanity``, ``nn_scratch.monitors``, ``nn_scratch.analysis``, ``nn_scratch.plots``
* ``nn_scratch.search`` / ``nn_scratch.ensemble`` -- random / coarse-to-fine search, model averaging
* ``nn_scratch.data``       -- the embedded digits and Tiny Shakespeare, MNIST/Fashion-MNIST/CIFAR-10 loaders,
  synthetic sets
* ``nn_scratch.generate``   -- sample text from a character-level RNN, LSTM or transformer
* ``nn_scratch.files``      -- atomic writes for everything the package saves
* ``nn_scratch.exercises``  -- exercises a learner writes (affine_backward, adam, ...) and the package grades
* ``nn_scratch.cli``        -- ``nn-scratch demo``, the whole careful recipe on real data; ``nn-scratch exercise``
"""
__version__ = "0.1.0"
