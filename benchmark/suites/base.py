"""The suite contract: what a benchmark suite implements to plug into the shared runner, store and CLI.

A suite is one folder under ``benchmark/suites/`` holding everything that is its own (profiles, models,
training task, evaluation, plots, claims) and one object implementing :class:`Suite`, registered by name in
``benchmark/suites/__init__.py``. The shared machinery does the rest:

1. ``python -m benchmark run --suite NAME --profile P`` calls ``suite.plan(P, ...)`` for the list of
   :class:`~benchmark.jobs.Job` (each with its identity and the records it will write);
2. the runner skips jobs whose records are stored, and for each other job calls
   ``suite.compute(job, run_dir, device=..., progress=...)`` (in a worker process, or on a cluster) and hands
   the returned :class:`leaderboard.Record` list to the record sink; a job that raises is stored as ``failed``
   records of every planned metric;
3. at the end, the run's table shows ``suite.report_metrics()``, the verdicts of ``suite.claims(P)`` and the
   figures of ``suite.summary_plots(P, records, out)``.

A suite's outline (a complete one, least squares in about twenty lines, with its tests, is
``LinearSuite`` in ``tests/benchmark/test_suite_contract.py``; see also ``docs/architecture.md``)::

    class MySuite(Suite):
        name, protocol_version, default_profile = "my-suite", "1", "smoke"
        profiles = {"smoke": Profile("smoke", "under a minute on 2 CPU cores", datasets, models, seeds=3)}
        models = (...)
        headline_metrics = {"mse": "lower", "r2": "higher"}

        def plan(self, profile, *, datasets=(), models=(), seeds=None, precision="auto"):  # -> [Job]
        def compute(self, job, run_dir, *, device="auto", progress=True, on_progress=None):  # -> [Record]
        def claims(self, profile):  # -> [leaderboard.Claim]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Suite", "Profile"]


@dataclass(frozen=True)
class Profile:
    """What every suite's profile states; a suite subclasses it with its own fields (steps, batch size, ...)."""

    name: str
    description: str  # one line: budget and purpose
    datasets: tuple[str, ...]
    models: tuple[str, ...]
    seeds: int  # training seeds 0..seeds-1

    def summary(self) -> str:
        """One line of what the profile runs, for ``python -m benchmark list``."""
        return f"datasets: {', '.join(self.datasets)}; models: {', '.join(self.models)}; seeds: {self.seeds}"


class Suite(ABC):
    """A benchmark suite (see the module docstring for the flow).

    Attributes
    ----------
    name : str
        Registry name, the ``suite`` of every record.
    protocol_version : str
        Part of every record's identity; bump it when anything that changes a profile's numbers changes.
    profiles : Mapping[str, Profile]
        Every suite has ``smoke`` (under a minute on 2 CPU cores; what tests run).
    default_profile : str
    models : tuple of str
        Every model (method) name the suite can plan.
    headline_metrics : Mapping[str, str]
        The metrics shown at the end of a run, each with its direction, ``"higher"`` or ``"lower"`` (is better);
        registered with ``leaderboard.register_direction`` so that tables rank by it.
    reference_models : tuple of str
        Calibration rows the suite computes beside the models (what noise scores, say); plannable by name like a
        model, and stored with provenance ``reference``. Empty by default.
    """

    name: str
    protocol_version: str
    profiles: Mapping[str, Profile]
    default_profile: str
    models: tuple[str, ...]
    headline_metrics: Mapping[str, str]
    reference_models: tuple[str, ...] = ()

    def profile(self, name: str) -> Profile:
        """The profile called ``name``; a ValueError lists the suite's profiles."""
        if name not in self.profiles:
            raise ValueError(f"profile must be one of {', '.join(map(repr, self.profiles))}; got {name!r}.")
        return self.profiles[name]

    def select(self, profile: Profile, *, datasets=(), models=(), seeds: int | None = None, known_datasets=None):
        """The (datasets, models, seeds) of a run: the profile's, or the given subsets (each name once).

        Raises ValueError for a model the suite does not have, a dataset outside ``known_datasets`` (a suite whose
        datasets are settings of its own passes their names), or fewer than one seed."""
        dataset_names = tuple(dict.fromkeys(datasets or profile.datasets))
        if known_datasets is not None:
            unknown = [n for n in dataset_names if n not in known_datasets]
            if unknown:
                raise ValueError(f"datasets of the {self.name} suite are its settings: {', '.join(known_datasets)}; "
                                 f"got {', '.join(unknown)}.")
        model_names = tuple(dict.fromkeys(models or profile.models))
        known = (*self.models, *self.reference_models)
        unknown = [m for m in model_names if m not in known]
        if unknown:
            raise ValueError(f"models must be among {', '.join(known)}; got {', '.join(unknown)}.")
        n_seeds = profile.seeds if seeds is None else seeds
        if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
            raise ValueError(f"seeds must be an integer >= 1; got {n_seeds}.")
        return dataset_names, model_names, n_seeds

    @abstractmethod
    def plan(self, profile: str, *, datasets: tuple[str, ...] = (), models: tuple[str, ...] = (),
             seeds: int | None = None, precision: str = "auto") -> list:
        """The jobs of ``profile`` (optionally restricted to some datasets or models, or another seed count).

        Raises ValueError, with a message for the user, for anything that cannot be planned (an unknown
        profile, model or dataset; missing data files): before any job runs."""

    @abstractmethod
    def compute(self, job, run_dir: Path, *, device: str = "auto", progress: bool = True,
                on_progress: Callable[[int, int, float], None] | None = None) -> list:
        """Run ``job`` (train, evaluate) in ``run_dir`` and return one ``leaderboard.Record`` per planned metric.

        Build the records with ``job.record(metric, value=..., ...)`` so that their identities are the planned
        ones. Raise on failure: the runner stores ``failed`` records carrying the error. ``run_dir`` holds
        what the job keeps (checkpoints, plots); a rerun of an interrupted job finds it there.
        ``on_progress(done, total, steps_per_second)`` reports progress to another process."""

    @abstractmethod
    def claims(self, profile: str) -> list:
        """What the suite's papers claim that ``profile`` can check: ``leaderboard.Claim`` objects."""

    def warm_up(self, jobs: list) -> None:
        """Prepare, once in the process that starts the workers, what every job would otherwise prepare itself
        (compile the metric kernels into numba's cache, for example); nothing by default.

        The local executor calls it before the first job, with the thread counts the jobs will run with."""

    def model_note(self, model: str) -> str:
        """A few words on ``model`` for ``python -m benchmark list`` (empty by default)."""
        return ""

    def metric_versions(self) -> Mapping[str, str]:
        """Every metric the suite records, with its version, for ``python -m benchmark list``."""
        return {}

    def report_metrics(self) -> tuple[str, ...]:
        """The metrics of the end-of-run table (the headline metrics by default)."""
        return tuple(self.headline_metrics)

    def summary_plots(self, profile: str, records: list, out: Path) -> list[Path]:
        """Figures across the jobs of a run (its ``ok`` and failed records), saved under ``out``; the paths.

        The run command calls it after the table and the claims; none by default."""
        return []

    def run_note(self, profile: str, out: Path) -> str:
        """A line printed after a run's table (where its plots are, for example); empty by default."""
        return ""
