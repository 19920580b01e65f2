"""The Jupyter kernel client that runs notebooks: waits for messages in short polls.

Under load, pyzmq's asyncio poll can miss the wake-up for a message that has already arrived:
the client then sits idle until its timeout ends (a cell that "takes" its whole two minutes
while the kernel is idle), and only the check made when the poll gives up finds the message.
Waiting in polls of :data:`POLL` seconds makes that check every half second instead.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

#: Seconds of one poll.
POLL = 0.5


class PolledChannel(AsyncZMQSocketChannel):
    """A kernel channel whose ``get_msg`` polls at most :data:`POLL` seconds at a time."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic()))
            try:
                return await super().get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class PolledKernelClient(AsyncKernelClient):
    """An asynchronous kernel client whose message channels are :class:`PolledChannel`."""

    shell_channel_class = Type(PolledChannel)
    iopub_channel_class = Type(PolledChannel)
    stdin_channel_class = Type(PolledChannel)
    control_channel_class = Type(PolledChannel)
