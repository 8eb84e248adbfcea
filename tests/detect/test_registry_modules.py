"""The registry's table of method modules is what the method modules register, and
running one method imports only its module."""

from __future__ import annotations

import json
import subprocess
import sys

from tocsin.detect import registry


def test_the_table_names_the_module_that_registers_each_method():
    registered = {
        name: method.function.__module__.rsplit(".", 1)[1]
        for name, method in registry.available_methods().items()
    }
    assert registered == registry.METHOD_MODULES


def test_getting_one_method_imports_only_its_module():
    probe = (
        "import json, sys\n"
        "from tocsin.detect import registry\n"
        "registry.get('ears_c1')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('tocsin.detect.',"
        " 'scipy.stats')))))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )
    methods = [m for m in loaded if m.startswith("tocsin.detect.methods.")]
    assert methods == ["tocsin.detect.methods.ears"]
    assert not [m for m in loaded if m.startswith("scipy.stats")]
