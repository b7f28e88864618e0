"""A fitted estimator as plain data: what pickle, joblib and skops store.

A fitted estimator persists NumPy arrays and Python values only: the
trained net's weights and optimizer state (``skvae._training.net_state``:
Adam's moments too, so that training continues after loading exactly as
without the round trip), the resolved architecture and the table schema as
plain data (so that loading rebuilds the fitted network whatever the
estimator's parameters say now). No torch object is pickled: a model
trained on a GPU loads on a CPU-only machine, and skops needs to trust no
torch type.

A trained model is the user's data, and a damaged file must not load as a
silently different model: the state carries a SHA-256 checksum of its
numeric arrays, verified on load (pickle itself checks nothing, and a few
flipped bytes inside a weight matrix still unpickle).
"""

import hashlib

import numpy as np

from skvae import __version__ as skvae_version
from skvae._architecture import Architecture
from skvae._tables import TableSchema
from skvae._training import net_state

# Version of the persisted layout; bump it when it changes incompatibly.
STATE_FORMAT = 3

_FORMAT_KEY = "_skvae_state_format"
_CHECKSUM_KEY = "_skvae_checksum"
_NET_KEY = "_net_state"


def to_plain(state):
    """The ``__getstate__`` dict of a fitted estimator as plain data."""
    state = dict(state)
    if state.get("schema_") is not None:
        state["schema_"] = state["schema_"].to_state()
        # The schema's own levels, which can be pandas objects (intervals):
        # stored once, as plain data, in the schema's state.
        state.pop("categories_", None)
    if "architecture_" in state:
        state["architecture_"] = state["architecture_"].to_state()
    net = state.pop("net_", None)
    if net is not None:
        state[_NET_KEY] = net_state(net)
    state[_FORMAT_KEY] = STATE_FORMAT
    state[_CHECKSUM_KEY] = _checksum(state)
    return state


def from_plain(state, name):
    """``(state, net_state)``: the estimator's attributes as
    :func:`to_plain` stored them, rebuilt, and its net's state (None for an
    unfitted estimator), after checking the format and the checksum."""
    state = dict(state)
    state_format = state.pop(_FORMAT_KEY, None)
    if state_format != STATE_FORMAT:
        raise ValueError(
            f"Cannot load this {name}: it was saved in state "
            f"format {state_format!r} by an incompatible skvae version, and "
            f"skvae {skvae_version} reads format {STATE_FORMAT}. Load it "
            "with the skvae version that saved it, or refit it."
        )
    checksum = state.pop(_CHECKSUM_KEY, None)
    if checksum != _checksum({**state, _FORMAT_KEY: state_format}):
        raise ValueError(
            f"Cannot load this {name}: its stored arrays do not match their "
            "checksum, so the file was damaged or altered after it was "
            "saved. Load an intact copy, or refit the model."
        )
    if state.get("schema_") is not None:
        state["schema_"] = TableSchema.from_state(state["schema_"])
        state["categories_"] = state["schema_"].categories
    if "architecture_" in state:
        state["architecture_"] = Architecture.from_state(state["architecture_"])
    return state, state.pop(_NET_KEY, None)


def _checksum(state):
    """SHA-256 of every numeric array in ``state`` (recursively through
    dicts, lists and tuples, in a fixed order), with its path, dtype and
    shape."""
    digest = hashlib.sha256()

    def visit(path, value):
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biufc":
                header = f"{path}|{value.dtype.str}|{value.shape}"
                digest.update(header.encode())
                digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                visit(f"{path}/{key}", value[key])
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(f"{path}/{i}", item)

    visit("", state)
    return digest.hexdigest()
