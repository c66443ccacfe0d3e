"""Stack tests share the machine-wide stack fixture of the builder tests."""

from tests.builder.conftest import stack_images

__all__ = ["stack_images"]
