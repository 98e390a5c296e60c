"""``Module``: a layer or a model, owning parameters, buffers and sub-modules.

The design is PyTorch's, kept small: a module's parameters are found by walking its attributes in the
order they were set (``Parameter`` attributes, then sub-modules and lists of sub-modules, recursively),
so there is no registration to forget. Buffers are arrays that belong to the state but are not trained
(batch norm's running statistics); they are named once with ``register_buffer``.
"""

import numpy

from ..autograd import Tensor
from ..backend import array_module, to_numpy
from ..checks import state_array


class Parameter(Tensor):
    """A tensor that a module trains: ``requires_grad`` is always on.

    Optimisers update ``.data`` *in place* (they may even move it into one flat buffer), so code should
    write into a parameter (``p.data[...] = values``) rather than rebind ``p.data``.
    """

    def __init__(self, data):
        super().__init__(data, requires_grad=True)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"

    @property
    def grad(self):
        """The accumulated gradient, or None. Under an optimiser it is a view into the optimiser's flat
        gradient buffer, which ``step()`` reads."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # Rebinding the view to a new array would leave step() reading the old buffer, silently: so, under an
        # optimiser, an assigned gradient is copied into the view (None zeroes it), as PyTorch's step() uses
        # whatever .grad holds.
        current = getattr(self, "_grad", None)
        if getattr(self, "_optimizer", None) is None or current is None or value is current:
            self._grad = value
            return
        if value is None:
            current.fill(0)
            return
        if getattr(value, "shape", None) != current.shape or getattr(value, "dtype", None) != current.dtype:
            raise TypeError(f"Parameter.grad: the gradient assigned has shape {getattr(value, 'shape', None)} and dtype "
                            f"{getattr(value, 'dtype', None)}; expected the parameter's {current.shape} and {current.dtype}")
        current[...] = array_module(current).asarray(value)


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and write ``forward``."""

    training = True

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # ----- walking the tree -------------------------------------------------------------------
    def named_children(self):
        """(name, module) for each direct sub-module; list items are named ``name.0``, ``name.1`` …"""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def modules(self):
        """This module and every module below it, parents first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix=""):
        """(dotted name, parameter) for every parameter, each listed once."""
        seen = set()
        for name, parameter in self._named_parameters(prefix):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def _named_parameters(self, prefix):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_parameters(f"{prefix}{name}.")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def register_buffer(self, name, array):
        """Keep ``array`` as ``self.<name>``, saved in ``state_dict`` but not trained."""
        if "_buffer_names" not in vars(self):
            self._buffer_names = []
        self._buffer_names.append(name)
        setattr(self, name, array)

    def named_buffers(self, prefix=""):
        for name in vars(self).get("_buffer_names", []):
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{name}.")

    # ----- modes and gradients ----------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (batch statistics, dropout on) for this module and all below; returns self."""
        _check_flag(f"{type(self).__name__}.train", "mode", mode, " (for evaluation mode call .eval())")
        mode = bool(mode)
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Evaluation mode (running statistics, dropout off)."""
        return self.train(False)

    def zero_grad(self):
        """Reset every parameter's gradient to zero (in place, so no memory is reallocated)."""
        for parameter in self.parameters():
            if parameter.grad is not None:
                parameter.grad.fill(0)
            parameter.grad_tensor = None  # it held the gradient just cleared

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; a frozen module still passes gradients to its input."""
        _check_flag(f"{type(self).__name__}.requires_grad_", "requires_grad", requires_grad)
        requires_grad = bool(requires_grad)
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    # ----- saving and loading -----------------------------------------------------------------
    def state_dict(self):
        """{name: NumPy array} for every parameter and buffer: a copy, portable across backends."""
        state = {name: to_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update((name, to_numpy(b).copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state):
        """Copy values from ``state`` into the existing arrays (in place); returns self.

        Everything is checked before anything is copied, so a state that does not fit leaves the module
        as it was: the keys must be exactly those of ``state_dict()``, and each value an array of real
        numbers of its target's shape, finite once cast to its dtype (``checks.state_array``). Each
        layer may then check its own entries (``check_state``: batch norm's variance must be ≥ 0).
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: state must be a dict {{name: array}} such as state_dict() returns, got {type(state).__name__}")
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = sorted(set(targets) - set(state))
        unexpected = sorted(set(state) - set(targets))
        if missing or unexpected:
            raise KeyError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        values = {name: state_array(where, name, state[name], target.shape, target.dtype) for name, target in targets.items()}
        for prefix, module in self.named_modules():
            own = [name for name, value in vars(module).items() if isinstance(value, Parameter)] + vars(module).get("_buffer_names", [])
            module.check_state(where, prefix, {name: values[prefix + name] for name in own if prefix + name in values})
        for name, target in targets.items():
            target[...] = array_module(target).asarray(values[name])
        for parameter in self.parameters():
            parameter._version += 1  # changed in place: a graph recorded before may not be back-propagated
        return self

    def check_state(self, where, prefix, state):
        """Checks of this module's own entries ``state`` ({name: NumPy array}) before they are loaded.

        Shapes and finiteness are already checked; a layer with stricter rules overrides this and raises
        a ValueError naming ``where``, ``prefix + name`` and the value found. The default accepts all.
        """

    def named_modules(self, prefix=""):
        """(dotted prefix, module) for this module (prefix "") and every module below it, parents first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}{name}.")

    def __repr__(self):
        children = "".join(f"\n  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children())
        return f"{type(self).__name__}({self.extra_repr()}{children}{chr(10) if children else ''})"

    def extra_repr(self):
        return ""


def _check_flag(where, name, value, hint=""):
    """A bool (Python or NumPy): a string such as 'eval' is truthy and would silently mean True."""
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}{hint}")


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__} ({layer!r}), expected a Module"
                                + (" (pass the layers themselves, not a list: Sequential(*layers))" if isinstance(layer, (list, tuple)) else ""))
        self.layers = list(layers)

    def named_children(self):
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self):
        return len(self.layers)
