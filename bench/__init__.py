"""Fleet benchmark: `python -m bench` (or `scripts/bench`). See docs/benchmarks.md."""
