"""Everything the Q.rad clients raise derives from QradError."""

from __future__ import annotations


class QradError(Exception):
    """Root of the Q.rad clients' errors."""


class QradConnectionError(QradError):
    """The Q.rad (or the cloud) cannot be reached, or the connection dropped."""


class QradTimeoutError(QradConnectionError):
    """The Q.rad did not answer in time."""


class QradAuthenticationError(QradError):
    """The token (or the cloud credentials) was refused: pair (or log in) again."""


class QradPairingError(QradError):
    """The Q.rad's pairing window is closed: its button has not been pressed."""


class QradInvalidResponseError(QradError):
    """The Q.rad sent something that does not fit the protocol."""


class QradUnsupportedError(QradInvalidResponseError):
    """The Q.rad speaks an API version or runs a firmware this client cannot speak."""


class QradBusyError(QradError):
    """The Q.rad asked to retry later (rate limit or busy), and retries ran out."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep how long the Q.rad asked to wait."""
        super().__init__(message)
        self.retry_after = retry_after


class QradRequestError(QradError):
    """The Q.rad refused a request the caller made (a bad value, a wrong state)."""

    def __init__(self, message: str, code: str, field: str | None = None) -> None:
        """Keep the protocol's error code and the offending field."""
        super().__init__(message)
        self.code = code
        self.field = field
