"""The embedded schema registry (Apicurio Registry from Maven Central, kafkasql on our broker)."""

from ecommerce_streams.harness.registry.errors import RegistryError
from ecommerce_streams.harness.registry.service import EmbeddedRegistry

__all__ = ["EmbeddedRegistry", "RegistryError"]
