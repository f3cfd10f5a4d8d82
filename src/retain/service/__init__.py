"""Use cases, working through the ports in ``retain.service.ports``."""
