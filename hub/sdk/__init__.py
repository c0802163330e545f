"""The connector SDK: build an adapter between a province system and the hub."""

from hub.sdk.connector import Connector, Message, RequestTimeout
from hub.sdk.registrar import HttpRegistrar, RegistrationError

__all__ = ["Connector", "HttpRegistrar", "Message", "RegistrationError", "RequestTimeout"]
