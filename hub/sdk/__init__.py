"""The connector SDK: build an adapter between a province system and the hub."""

from hub.core.hub_signature import HubKeys, HubSignatureError
from hub.sdk.connector import Connector, Message, RequestTimeout
from hub.sdk.registrar import HttpRegistrar, RegistrationError

__all__ = ["Connector", "HttpRegistrar", "HubKeys", "HubSignatureError", "Message", "RegistrationError",
           "RequestTimeout"]
