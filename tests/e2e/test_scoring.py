"""Scoring datasets side by side changes nothing in the numbers: one BLAS thread per dataset everywhere."""
import pytest

from sentgrid.pipeline import run_cell


@pytest.mark.parametrize("solver", ["float32", "sklearn"])
def test_scores_are_the_same_whatever_jobs_and_warnings_reach_the_record(compose_cell, solver):
    slice_ = ("task=all", "task.max_items=40", "task.sts.datasets=[STSB]", "task.clustering.datasets=[Tweet]",
              "task.clustering.seeds=2", "task.classification.datasets=[MR,SST5,Banking77]",
              f"task.classification.senteval.solver={solver}")
    one, two = (run_cell(compose_cell(*slice_, f"jobs={jobs}")) for jobs in (1, 2))
    assert one["status"] == two["status"] == "ok"
    assert one["metrics"] == two["metrics"]
    if solver == "sklearn":
        # scikit-learn's warning about Banking77's 40-item slice (more classes than half the items), raised in
        # a worker process, is recorded with the cell as in one process
        assert len(one["warnings"]) == len(two["warnings"]) == 1 and "unique classes" in two["warnings"][0]


def test_blas_threads_is_part_of_a_cells_identity(compose_cell):
    from sentgrid.cells import cell_id

    assert cell_id(compose_cell("blas_threads=1"), with_data=False) != cell_id(compose_cell("blas_threads=2"), with_data=False)
    assert cell_id(compose_cell("jobs=1"), with_data=False) == cell_id(compose_cell("jobs=2"), with_data=False)
