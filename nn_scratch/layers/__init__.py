"""Layers: the ``Parameter`` / ``Layer`` protocol and one file per family of layers."""
from .base import (Layer, Parameter, check_dy, check_input, find_generators, is_data, needs_input_grad, pass_on_data,
                   skip_input_grad)
from .linear import Linear, init_weights
from .activations import ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, GELU
from .dropout import Dropout
from .container import Sequential, Flatten
from .conv import Conv2D
from .pooling import MaxPool2D
from .normalization import BatchNorm, LayerNorm
from .embedding import Embedding
from .recurrent import RNN, LSTM
from .attention import MultiHeadAttention, TransformerBlock, TokenPositionEmbedding

__all__ = ["Layer", "Parameter", "check_input", "check_dy", "find_generators", "skip_input_grad", "needs_input_grad",
           "is_data", "pass_on_data", "Linear", "init_weights", "ReLU", "LeakyReLU", "Tanh",
           "Sigmoid", "Softmax", "Dropout", "Sequential", "Flatten",
           "Conv2D", "MaxPool2D", "BatchNorm", "GELU", "LayerNorm", "Embedding", "RNN", "LSTM",
           "MultiHeadAttention", "TransformerBlock", "TokenPositionEmbedding"]
