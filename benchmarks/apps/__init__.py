"""Apps the benchmarks serve in subprocesses (never imported by the suite itself)."""
