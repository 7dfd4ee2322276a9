"""multidc."""
