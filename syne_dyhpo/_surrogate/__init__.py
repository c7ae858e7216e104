"""Deep-kernel GP surrogate of DyHPO (private: the numerics may change)."""

from syne_dyhpo._surrogate.surrogate import DeepKernelSurrogate, SurrogateUnavailableError

__all__ = ["DeepKernelSurrogate", "SurrogateUnavailableError"]
