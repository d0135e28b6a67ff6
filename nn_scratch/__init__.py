"""nn_scratch: a neural-network package written from scratch in NumPy, to see and check every number.

Subpackages and modules, one idea each:

* ``nn_scratch.layers``     -- the Parameter / Layer protocol and the layers
* ``nn_scratch.losses``     -- per-sample losses, the L2 penalty, flooding
* ``nn_scratch.gradcheck``  -- numerical gradients, relative error, kink-aware checks and their verdict
* ``nn_scratch.optim`` / ``nn_scratch.schedules`` -- update rules and learning-rate schedules
* ``nn_scratch.trainer`` / ``nn_scratch.callbacks`` -- the training loop and its callbacks
* ``nn_scratch.sanity``, ``nn_scratch.monitors``, ``nn_scratch.analysis``, ``nn_scratch.plots``
* ``nn_scratch.data``       -- the embedded digits, MNIST/Fashion-MNIST/CIFAR-10 loaders, synthetic sets
"""
__version__ = "0.1.0"
