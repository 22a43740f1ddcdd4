"""The numpy array types the engine's modules annotate with (one home for the aliases)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]  # record indexes and word codes of the word tables (frequency)
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]

__all__ = ["BoolArray", "FloatArray", "Int8Array", "Int32Array", "IntArray"]
