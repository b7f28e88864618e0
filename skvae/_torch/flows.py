"""A flow posterior: inverse autoregressive flow (IAF, Kingma et al., 2016)
steps after the Gaussian encoder.

Each step is z <- sigma * z + (1 - sigma) * m, with (m, logit sigma) the
outputs of a MADE (Germain et al., 2015) that reads z and the encoder's
hidden features h of the row: the Jacobian is triangular and its
log-determinant sum(log sigma), so log q(z | x) stays exact and the bound a
bound. The steps reverse the order of the dimensions between them, and a
positive gate bias starts each step near the identity.
"""

import torch
from torch import nn

from skvae._torch.layers import linear

# Added to the gate's pre-activation: sigma = sigmoid(s + GATE_BIAS) starts
# near 0.88, each step near the identity (Kingma et al., 2016, use 1 to 2).
GATE_BIAS = 2.0


class MaskedLinear(nn.Module):
    """``nn.Linear`` whose weight is multiplied by a fixed 0/1 ``mask``
    (n_out, n_in), with :func:`~skvae._torch.networks.linear`'s
    initialization from ``generator``."""

    def __init__(
        self, mask: torch.Tensor, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        n_out, n_in = mask.shape
        layer = linear(n_in, n_out, generator)
        self.weight, self.bias = layer.weight, layer.bias
        # A buffer: saved and moved with the weights, never trained.
        self.register_buffer("mask", mask.to(layer.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Autoregressive network: (m, s) of shape (..., n_components) from z
    and a context h, output i a function of z_1..z_{i-1} and h only
    (Germain et al., 2015), with one hidden layer of ``width`` units."""

    def __init__(
        self,
        n_components: int,
        n_context: int,
        width: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        degrees_in = torch.arange(1, n_components + 1)  # (d,)
        # Hidden units of degree 1..d-1, cyclically: unit j may read inputs
        # of degree <= its own, output i units of degree < i.
        degrees_hidden = torch.arange(width) % max(1, n_components - 1) + 1
        self.hidden = MaskedLinear(
            (degrees_hidden[:, None] >= degrees_in[None, :]).float(), generator
        )
        self.context = linear(n_context, width, generator)
        out_mask = (degrees_in[:, None] > degrees_hidden[None, :]).float()
        self.shift = MaskedLinear(out_mask, generator)
        self.gate = MaskedLinear(out_mask, generator)

    def forward(
        self, z: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a = nn.functional.silu(self.hidden(z) + self.context(h))  # (..., width)
        return self.shift(a), self.gate(a)  # (..., n_components) each


class InverseAutoregressiveFlow(nn.Module):
    """``n_flows`` IAF steps, conditioned on the encoder's hidden features.

    ``forward(z0, h)`` returns ``(z, log_det)``: z of the shape of z0
    (..., n_samples, n_components) and the summed log-determinant of the
    steps, (..., n_samples); h is (..., n_samples, n_context) or broadcasts
    to it.
    """

    def __init__(
        self,
        n_components: int,
        n_context: int,
        n_flows: int,
        width: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.steps = nn.ModuleList(
            MADE(n_components, n_context, width, generator) for _ in range(n_flows)
        )

    def forward(
        self, z: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = z.new_zeros(z.shape[:-1])  # (..., n_samples)
        for i, step in enumerate(self.steps):
            if i > 0:
                z = z.flip(-1)  # the next step's order is this one's reversed
            shift, gate = step(z, h)
            gate = gate + GATE_BIAS
            sigma = torch.sigmoid(gate)
            z = sigma * z + (1.0 - sigma) * shift  # (..., n_samples, d)
            log_det = log_det + nn.functional.logsigmoid(gate).sum(-1)
        return z, log_det
