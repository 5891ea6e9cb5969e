"""What must not load torch: the finished-cell check, the task registry, the reports (`make tables`)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["sentgrid.tasks", "sentgrid.cells", "sentgrid.report.__main__", "sentgrid.spec"])
def test_module_imports_no_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_a_cells_main_process_imports_no_scikit_learn():
    """Datasets are scored in worker processes, which import scikit-learn; a cell's main process importing it
    too costs a cached task=all cell ~2 s on 2 cores (it competes with the workers)."""
    code = ("import sys, sentgrid.__main__, sentgrid.pipeline, sentgrid.summary; from sentgrid.spec import PostprocSpec; "
            "PostprocSpec(); print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
