"""The layers every network here is built of, drawing from a given generator.

Every random number of a module (initial weights, dropout masks) comes from
the ``torch.Generator`` it is built with, never from torch's global
generator: that one is shared by every thread of the process, so a fit
drawing from it would not be reproducible while another fit runs.
"""

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def linear(n_in: int, n_out: int, generator: torch.Generator | None) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default initialization drawn from
    ``generator``: weights and biases uniform in +-1/sqrt(n_in) (what
    ``kaiming_uniform_(a=sqrt(5))`` amounts to)."""
    # Built without nn.Linear.__init__, whose initialization would draw from
    # the global generator (and without the meta device, whose first use
    # in a process imports torch's symbolic-shape machinery: about a
    # second).
    device = generator.device if generator else "cpu"
    layer = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(layer)
    layer.in_features, layer.out_features = n_in, n_out
    layer.weight = nn.Parameter(
        torch.empty(n_out, n_in, device=device, dtype=torch.float32)
    )
    layer.bias = nn.Parameter(torch.empty(n_out, device=device, dtype=torch.float32))
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


class Dropout(nn.Module):
    """``nn.Dropout`` whose masks are drawn from ``generator``."""

    def __init__(self, p: float, generator: torch.Generator | None) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


def make_mlp(
    n_in: int,
    hidden_layer_sizes: Sequence[int],
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """Linear -> SiLU (-> Dropout) for each hidden width."""
    layers: list[nn.Module] = []
    for width in hidden_layer_sizes:
        layers += [linear(n_in, width, generator), nn.SiLU()]
        if dropout > 0:
            layers.append(Dropout(dropout, generator))
        n_in = width
    return nn.Sequential(*layers)


class BlockMaps(nn.Module):
    """The index tables and shares of one block of columns, derived from the
    architecture: non-persistent buffers (not saved state) that follow the
    module's device and floating dtype, read as attributes."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        super().__init__()
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor, persistent=False)


class SpectralNorm(nn.Module):
    """``layer`` (an ``nn.Linear``) with its weight divided by its largest
    singular value (spectral normalization, Miyato et al., 2018), so that
    the layer is 1-Lipschitz.

    The singular value is estimated as ``torch.nn.utils.spectral_norm``
    does: one step of power iteration per forward pass in training, from a
    left singular vector kept between passes (a buffer, saved with the
    weights), with the gradient flowing through the weight only. The
    vector's start is drawn from ``generator``, not from torch's global
    generator (as every draw here).
    """

    def __init__(self, layer: nn.Linear, generator: torch.Generator | None) -> None:
        super().__init__()
        self.layer = layer
        weight = layer.weight
        u = torch.empty(weight.shape[0], device=weight.device, dtype=weight.dtype)
        self.register_buffer("u", F.normalize(u.normal_(generator=generator), dim=0))

    def weight(self) -> torch.Tensor:
        """The normalized weight, (out_features, in_features)."""
        w = self.layer.weight
        with torch.no_grad():
            u = self.u
            if self.training:
                v = F.normalize(w.T @ u, dim=0)
                self.u.copy_(F.normalize(w @ v, dim=0))
            # A copy: the buffer changes at the next training pass, which
            # may come before this pass's backward (a discriminator scores
            # real and generated rows in two passes).
            u = self.u.clone()
            v = F.normalize(w.T @ u, dim=0)
        return w / (u @ (w @ v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight(), self.layer.bias)


def spectral_normalized(module: nn.Module, generator: torch.Generator | None):
    """``module`` with every ``nn.Linear`` in it (itself included) wrapped
    in :class:`SpectralNorm`, in the order ``modules()`` lists them."""
    if isinstance(module, nn.Linear):
        return SpectralNorm(module, generator)
    for name, child in module.named_children():
        setattr(module, name, spectral_normalized(child, generator))
    return module
