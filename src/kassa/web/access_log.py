"""The access log names the path a request asked for, never its query string.

A query string can carry a secret: the SMS gateways call the webhooks with the
organization's token in ``?token=``. uvicorn logs every request as
``client - "METHOD /path?query HTTP/1.1" status`` on the ``uvicorn.access`` logger; this
filter cuts the query off each record before any handler formats it, whatever handlers
(uvicorn's own, a JSON formatter, a log shipper) the process has.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
# uvicorn's access record: (client address, method, path with query, HTTP version, status).
_PATH_ARGUMENT = 2


class WithoutQueryString(logging.Filter):
    """Rewrites an access record's path to the part before ``?``; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = record.args
        if isinstance(arguments, tuple) and len(arguments) > _PATH_ARGUMENT:
            path = arguments[_PATH_ARGUMENT]
            if isinstance(path, str) and "?" in path:
                record.args = (
                    *arguments[:_PATH_ARGUMENT],
                    path.partition("?")[0],
                    *arguments[_PATH_ARGUMENT + 1 :],
                )
        return True


def install_access_log_filter() -> None:
    """Put the filter on uvicorn's access logger once (logging configuration done later,
    e.g. uvicorn's own ``dictConfig``, keeps a logger's filters)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, WithoutQueryString) for existing in logger.filters):
        logger.addFilter(WithoutQueryString())
