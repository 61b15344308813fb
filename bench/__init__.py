"""Load generators and benchmark scenarios; results are appended to bench/RESULTS.md."""
