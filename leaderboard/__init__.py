"""Project package `leaderboard` of the disentanglement benchmark suite (see DESIGN.md)."""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes
