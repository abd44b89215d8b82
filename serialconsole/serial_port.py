"""The RS-232 console: pyserial on the configured port, 19200 8N1 by default, no flow control.

`appliance console --serial /dev/ttyS0` (the image runs it in place of the
serial getty): boot menu for a few seconds, then login and the main menu,
again and again.
"""

from __future__ import annotations

import logging

import serial

from serialconsole.app import Console, serial_loop
from serialconsole.terminal import Terminal

log = logging.getLogger(__name__)

DEFAULT_BAUD = 19200


def open_port(device: str, baud: int = DEFAULT_BAUD) -> serial.Serial:
    return serial.Serial(device, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                         stopbits=serial.STOPBITS_ONE, xonxoff=False, rtscts=False, timeout=0.2)


def terminal_for(port: serial.Serial, idle_timeout: float) -> Terminal:
    def read(timeout: float) -> bytes:
        port.timeout = max(0.01, timeout)
        waiting = port.in_waiting
        return port.read(max(1, waiting))

    def write(data: bytes) -> None:
        port.write(data)
        port.flush()

    return Terminal(read, write, idle_timeout=idle_timeout)


def run(console: Console, device: str, baud: int = DEFAULT_BAUD, boot: bool = True) -> int:
    port = open_port(device, baud)
    log.info("serial console on %s at %d 8N1", device, baud)
    try:
        serial_loop(terminal_for(port, console.idle_timeout), console, device, boot=boot)
    finally:
        port.close()
    return 0
