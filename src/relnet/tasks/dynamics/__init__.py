"""Mass-spring dynamics (RN paper §5.5): simulator, format, connection and counting tasks, state and frame models."""

from relnet.tasks.dynamics.task import Dynamics

__all__ = ["Dynamics"]
