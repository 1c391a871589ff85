"""Test-session set-up: make numba's on-disk kernel cache consistent with the sources first."""

from __future__ import annotations

from simulator.jitcache import refresh_kernel_cache


def pytest_sessionstart(session: object) -> None:
    refresh_kernel_cache()
