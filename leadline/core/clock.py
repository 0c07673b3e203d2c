"""The one clock every time-dependent rule reads (once per operation).

Production code calls `clock.now()`. Tests set it (`clock.set(...)`, `clock.advance(...)`) instead
of sleeping, and a worker run in tests sees the same moved time.
"""

from datetime import datetime, timedelta

from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else timezone.now()

    def set(self, moment: datetime) -> None:
        if timezone.is_naive(moment):
            raise ValueError("the clock needs an aware datetime")
        self._fixed = moment

    def advance(self, **delta: float) -> datetime:
        self.set(self.now() + timedelta(**delta))
        return self.now()

    def reset(self) -> None:
        self._fixed = None


clock = Clock()
