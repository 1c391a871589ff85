"""tasim's workloads: operator IR, model zoo, builders, compression passes and tracers.

This package knows nothing of hardware.
"""
