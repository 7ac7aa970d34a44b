"""Metrics for open-set verification and identification (numpy only)."""

from ._identification import cmc_curve, rank_k_accuracy
from ._pairs import make_pairs, split_seen_unseen
from ._verification import (
    pair_scores,
    tar_at_far,
    verification_accuracy,
    verification_report,
)

__all__ = [
    "cmc_curve",
    "make_pairs",
    "pair_scores",
    "rank_k_accuracy",
    "split_seen_unseen",
    "tar_at_far",
    "verification_accuracy",
    "verification_report",
]
