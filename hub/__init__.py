"""UpStage Hub: the real-time core for live online performance.

`create_app(settings)` builds the aiohttp application; `python -m hub` is the command line.
"""

from .app import create_app
from .config import Settings

__all__ = ["Settings", "create_app"]
