"""One name per quantity: every layer's backward takes ``dy`` (dL/d(output))."""
import inspect

import minigan.nn as nn
from minigan.nn.module import Module


def _layer_classes():
    seen = set()
    for value in vars(nn).values():
        if inspect.isclass(value) and issubclass(value, Module):
            for cls in value.__mro__:
                if issubclass(cls, Module) and cls not in seen:
                    seen.add(cls)
    return sorted(seen, key=lambda c: c.__name__)


def test_every_backward_takes_dy():
    classes = _layer_classes()
    assert len(classes) >= 15, [c.__name__ for c in classes]
    for cls in classes:
        if "backward" not in vars(cls):
            continue
        parameters = list(inspect.signature(vars(cls)["backward"]).parameters)
        assert parameters[:2] == ["self", "dy"], (cls.__name__, parameters)
