"""Stack images: the build stack (buildpacks compile in it) and the run stack (slugs run on it).

Made once per machine into a shared podman store; see `deis.stack.definition`.
"""

from deis.stack.definition import (
    STACK_STORE,
    STACKS,
    Stack,
    base_image,
    build_image,
    run_image,
)

__all__ = ["STACKS", "STACK_STORE", "Stack", "base_image", "build_image", "run_image"]
