"""Detection methods; importing this package registers every method.

One module per method family, each registering its methods with
:func:`tocsin.detect.registry.register`. Every module of this package is imported, so a
new method family needs no edit here.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
