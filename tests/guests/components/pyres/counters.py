"""pyres's resource counter (see app.py)."""

from wit_world.exports import counters  # type: ignore[import-not-found]


class Counter(counters.Counter):  # type: ignore[misc]
    def __init__(self, start: int) -> None:
        self.count = start

    def increment(self, by: int) -> None:
        self.count += by

    def value(self) -> int:
        return self.count

    @classmethod
    def zero(cls) -> "Counter":
        return cls(0)
