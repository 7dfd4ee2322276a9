"""Kubernetes API server emulator, one per cluster: store, patches, controllers, exec."""
