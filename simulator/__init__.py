"""tasim's hardware model: accelerator specs, mapping, analytical and cycle-level engines."""

__version__ = "0.1.0"
