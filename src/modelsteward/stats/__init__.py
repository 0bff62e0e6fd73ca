"""Pure numeric kernels on numpy arrays: KS, PSI, chi-square, Fisher z, multiple testing.

>>> import numpy as np
>>> from modelsteward.stats import ks_2samp_sorted
>>> stat, p = ks_2samp_sorted(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
>>> stat, p
(0.0, 1.0)
"""

from __future__ import annotations

from modelsteward.stats.chi2 import chi2_homogeneity
from modelsteward.stats.correlation import fisher_z_drop_pvalue
from modelsteward.stats.ks import ks_2samp_sorted, ks_from_sorted
from modelsteward.stats.multiple import benjamini_hochberg, bonferroni
from modelsteward.stats.psi import (
    categorical_psi,
    psi,
    psi_bin_counts,
    psi_edges,
    psi_from_counts,
)

__all__ = [
    "benjamini_hochberg",
    "bonferroni",
    "categorical_psi",
    "chi2_homogeneity",
    "fisher_z_drop_pvalue",
    "ks_2samp_sorted",
    "ks_from_sorted",
    "psi",
    "psi_bin_counts",
    "psi_edges",
    "psi_from_counts",
]
