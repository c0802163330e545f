"""The connector SDK: build an adapter between a province system and the hub."""

from hub.core.hub_signature import HubKeys, HubSignatureError
from hub.sdk.attachments import AttachmentError
from hub.sdk.connector import Connector, Message, RequestTimeout
from hub.sdk.registrar import HttpRegistrar, RegistrationError

__all__ = ["AttachmentError", "Connector", "HttpRegistrar", "HubKeys", "HubSignatureError", "Message", "RegistrationError",
           "RequestTimeout"]
