"""Speed and memory benchmarks: `python -m benchmarks.run` (`make benchmark`); `--quick` for the 1× smoke run."""
