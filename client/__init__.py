"""The Python client of UpStage Hub, used by tests, bench scripts, bots and the gateway."""

from .hub_client import HubClient, HubError, login

__all__ = ["HubClient", "HubError", "login"]
