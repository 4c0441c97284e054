"""Benchmarks of dsgrid-sql (not tests): each prints medians and ratios against peers
measured in the same run. Run ``python -m bench --help``."""
