"""PlatformIO platform class for tinyecg's project-local Cortex-M platform.

PlatformIO loads the class named ``<Name>Platform`` where Name is
platform.json's ``name`` capitalised.  We declare no packages: the toolchain is
Debian's ``arm-none-eabi-gcc`` on PATH and QEMU is Debian's
``qemu-system-arm``, both installed by ``make setup``, so nothing is fetched.
"""

from platformio.public import PlatformBase


class TinyecgarmPlatform(PlatformBase):
    def is_embedded(self):
        return True
