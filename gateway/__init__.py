"""The MQTT federation gateway: a hub's stages on an MQTT broker, and the broker's messages in the hub.

Runs as its own process (`python -m gateway`); reaches the hub only through `client/` and the wire
protocol. See docs/federation.md.
"""

from .config import BrokerConfig, ConfigError, GatewayConfig
from .core import Gateway

__all__ = ["BrokerConfig", "ConfigError", "Gateway", "GatewayConfig"]
