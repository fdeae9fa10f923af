"""The organisation's feedback settings: the anonymity threshold."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from workflows.vocabulary import MAX_ANONYMITY_THRESHOLD, MIN_ANONYMITY_THRESHOLD


def valid_threshold(value: int) -> int:
    """The anonymity threshold HR asks for, or InvalidArgument.

    Never below MIN_ANONYMITY_THRESHOLD: with two authors each one learns the other's words
    by elimination, so three is the smallest group in which an anonymous text hides its author.
    """
    if value < MIN_ANONYMITY_THRESHOLD:
        raise InvalidArgument(
            "threshold_below_minimum",
            f"the anonymity threshold is at least {MIN_ANONYMITY_THRESHOLD}",
        )
    if value > MAX_ANONYMITY_THRESHOLD:
        raise InvalidArgument(
            "threshold_too_large",
            f"the anonymity threshold is at most {MAX_ANONYMITY_THRESHOLD}",
        )
    return value
