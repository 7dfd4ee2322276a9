"""multidc_core."""
