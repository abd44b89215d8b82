"""A running stack with users and their registered test phones: the base of the dialplan's stack tests.

    with running_lab(Lab, data_dir, [("201", "Alice", "Martin"), ...], PASSWORD, configure=setup) as lab:
        since, call = lab.call("201", "700")
        lab.wait_ring("202", since)

`configure(lab)` runs after the users exist and before their phones
register (procedures, groups, sounds through the API). A phone "rings" when
it gets an INVITE (its "incoming" event); tests compare the order of events,
never their timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.stack import Stack


class StackLab:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.api = stack.admin_api()
        self.phones: dict = {}

    def request(self, method: str, path: str, body: dict | None = None, expect: int | None = None):
        """An admin API call that must succeed (status `expect`, or any 2xx); returns the JSON body."""
        status, data = self.api.request(method, path, body)
        ok = status == expect if expect is not None else 200 <= status < 300
        assert ok, f"{method} {path}: {status} {data}"
        return data

    def uri(self, number: str) -> str:
        return f"sip:{number}@127.0.0.1:{self.stack.settings.sip_port}"

    def call(self, caller: str, number: str) -> tuple[float, int]:
        """`caller`'s phone calls `number`; returns when (monotonic) and the caller's call id."""
        since = time.monotonic()
        return since, self.phones[caller].call(self.uri(number))

    def rang(self, extension: str, since: float) -> list[dict]:
        """The INVITEs `extension`'s phone got after `since`."""
        return [e for e in self.phones[extension].saw("incoming") if e["t"] > since]

    def wait_ring(self, extension: str, since: float, timeout: float = 15) -> dict:
        """The first INVITE `extension`'s phone got after `since` (AssertionError if none in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.rang(extension, since)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"{extension} did not ring")


@contextmanager
def running_lab(lab_class: type[StackLab], data_dir: Path, people: list[tuple[str, str, str]], password: str,
                configure: Callable[[StackLab], None] | None = None, **stack_options) -> Iterator[StackLab]:
    """Start a stack, create `people` (extension, first name, last name), configure, register their phones."""
    stack = Stack(data_dir, **stack_options).start()
    lab = lab_class(stack)
    try:
        for extension, first, last in people:
            lab.api.create_user(extension, first, last, password)
        if configure is not None:
            configure(lab)
        for extension, _, _ in people:
            lab.phones[extension] = stack.registered_phone(extension, password, f"phone-{extension}")
        yield lab
    finally:
        for phone in lab.phones.values():
            phone.close()
        stack.stop()
