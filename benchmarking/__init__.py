"""Benchmarks of syne-dyhpo: replay learning-curve tables in Syne Tune's simulator."""
