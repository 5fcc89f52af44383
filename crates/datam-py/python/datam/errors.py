"""The exception DataM raises."""


class DatamError(Exception):
    """A job failed. ``code`` is stable for matching (``open``, ``bad-input``,
    ``not-found``, ``arrow``, ``cancelled``); ``file`` and ``position`` say
    where, when known."""

    def __init__(self, message, code, file=None, position=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.file = file
        self.position = position
