"""The chapter's ``compute_psi``: PSI of two samples with quantile bins from the reference.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> ref = rng.normal(size=20_000)
>>> compute_psi(ref, rng.normal(size=20_000)) < 0.01
True
>>> compute_psi(np.array(["a", "b"] * 50), np.array(["a"] * 100)) > 0.2
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from modelsteward._params import validate_params
from modelsteward.baseline.columns import CATEGORICAL, category_counts, epoch_seconds, infer_kind
from modelsteward.baseline.profile import ColumnProfile
from modelsteward.drift._inputs import sorted_valid
from modelsteward.errors import EmptyDataError
from modelsteward.stats.psi import (
    EPS,
    N_BINS,
    categorical_psi,
    one_dim,
    psi_bin_counts,
    psi_edges,
    psi_from_counts,
)

__all__ = ["compute_psi"]


@validate_params({"n_bins": N_BINS, "eps": EPS})
def compute_psi(
    reference: ColumnProfile | ArrayLike, current: ArrayLike, n_bins: int = 10, eps: float = 1e-4
) -> float:
    """Population Stability Index of ``current`` against ``reference``.

    Numeric arrays: bins at the reference's quantiles (``n_bins``, outer edges at +/-inf,
    duplicate edges merged; see :mod:`modelsteward.stats.psi`), NaN dropped. String or
    object arrays: PSI over category proportions with one bucket for unseen categories.
    ``reference`` may also be a :class:`ColumnProfile`: an exact profile is binned afresh
    from its sorted values; a sketch profile (no values kept) uses the bins and reference
    counts fitted with it, so ``n_bins`` is the one it was fitted with.
    Bands: < 0.1 stable, 0.1-0.2 investigate, > 0.2 act.

    Arrays must be one-dimensional (a scalar or a 2-D array is a
    :class:`~modelsteward.errors.DataError`); ``n_bins`` is an integer in [1, 10000] and
    ``eps`` a positive finite number (else
    :class:`~modelsteward.errors.InvalidParameterError`). Datetime arrays are compared as
    epoch seconds (UTC), as :func:`~modelsteward.baseline.as_columns` reads them.
    """
    cur = epoch_seconds(one_dim("current", current))
    if isinstance(reference, ColumnProfile):
        kind = reference.kind
    else:
        reference = epoch_seconds(one_dim("reference", reference))
        kind = infer_kind(reference)
    if kind == CATEGORICAL:
        if isinstance(reference, ColumnProfile):
            ref_counts = reference.category_counts or {}
        else:
            ref_counts, _ = category_counts(reference)
        cur_counts, _ = category_counts(cur)
        return categorical_psi(ref_counts, cur_counts, eps)
    if isinstance(reference, ColumnProfile):
        if reference.sorted_values is None:
            return _psi_from_profile_bins(reference, cur, eps)
        ref_sorted = reference.sorted_values
    else:
        ref_sorted = sorted_valid("reference", reference)
    cur_sorted = sorted_valid("current", cur)
    if ref_sorted.size == 0 or cur_sorted.size == 0:
        side = "reference" if ref_sorted.size == 0 else "current"
        raise EmptyDataError(
            f"PSI needs at least one non-null value on each side; the {side} has none"
        )
    edges = psi_edges(ref_sorted, n_bins)
    return psi_from_counts(
        psi_bin_counts(ref_sorted, edges), psi_bin_counts(cur_sorted, edges), eps
    )


def _psi_from_profile_bins(profile: ColumnProfile, current: np.ndarray, eps: float) -> float:
    """PSI against the bins a profile stored at fit time (sketch mode keeps no values)."""
    if profile.psi_edges is None or profile.psi_reference_counts is None:
        raise EmptyDataError(
            f"profile {profile.name!r} holds neither reference values nor PSI bins; "
            "refit the baseline with non-null values in this column"
        )
    cur_sorted = sorted_valid("current", current)
    if cur_sorted.size == 0:
        raise EmptyDataError("PSI needs at least one non-null value on each side; "
                             "the current has none")
    edges = profile.psi_edges
    return psi_from_counts(profile.psi_reference_counts, psi_bin_counts(cur_sorted, edges), eps)
