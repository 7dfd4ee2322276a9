"""Azure Resource Manager emulator: the real azure-mgmt-* clients run against it over loopback HTTPS."""

from sandbox.arm.emulator import ArmEmulator
from sandbox.arm.faults import Faults
from sandbox.arm.hooks import ArmHooks, DefaultHooks
from sandbox.arm.server import arm_in_thread, start_arm

__all__ = ["ArmEmulator", "ArmHooks", "DefaultHooks", "Faults", "arm_in_thread", "start_arm"]
