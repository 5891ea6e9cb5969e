"""What must not load torch: the finished-cell check, the task registry, the reports (`make tables`)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["sentgrid.tasks", "sentgrid.cells", "sentgrid.report.__main__", "sentgrid.spec"])
def test_module_imports_no_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
