"""Batch structure screening on Dask with a resumable HDF5 store.

    spec = load_spec("screen.toml")
    ranking = run_screen(spec, "results.h5", workers=2)        # LocalCluster
    run_screen(spec, "results.h5", scheduler="tcp://host:8786")  # an existing scheduler
    run_screen(spec, "results.h5", jobqueue="slurm", jobqueue_options={...})
    summary("results.h5"); rank("results.h5"); read_results("results.h5")
"""

from .run import rank, run_screen, summary, write_outputs
from .spec import SpecError, count_tasks, iter_batches, iter_tasks, load_spec, validate
from .store import read_results, structure_of

__all__ = ["rank", "run_screen", "summary", "write_outputs", "SpecError", "count_tasks", "iter_batches",
           "iter_tasks", "load_spec", "validate", "read_results", "structure_of"]
