"""Layers: the ``Parameter`` / ``Layer`` protocol and one file per family of layers."""
from .base import Layer, Parameter, check_input
from .linear import Linear, init_weights
from .activations import ReLU, LeakyReLU, Tanh, Sigmoid, Softmax
from .dropout import Dropout
from .container import Sequential, Flatten

__all__ = ["Layer", "Parameter", "check_input", "Linear", "init_weights", "ReLU", "LeakyReLU", "Tanh",
           "Sigmoid", "Softmax", "Dropout", "Sequential", "Flatten"]
