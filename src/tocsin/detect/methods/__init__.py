"""Detection methods: one module per method family, each registering its methods with
:func:`tocsin.detect.registry.register` when imported.

The registry imports a method's module when the method is first asked for (its table
:data:`tocsin.detect.registry.METHOD_MODULES`), and every module of this package for a
listing, so a command that runs one method loads only that method's module.
"""
