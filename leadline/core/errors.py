class DomainError(Exception):
    """A refused operation, with messages keyed by the field at fault ("" for the whole thing)."""

    status = 422

    def __init__(self, errors: dict[str, str] | str, status: int | None = None):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        if status is not None:
            self.status = status
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))

    def as_list(self) -> list[dict]:
        return [{"field": k or None, "message": v} for k, v in self.errors.items()]


class NotFound(DomainError):
    status = 404
