"""The command line (``linexplain``): option declarations, the request builder, thin commands."""

from .app import app

__all__ = ["app"]
