"""Warm kernels: the kernel client's start-up handshake and a real forked kernel."""

from __future__ import annotations

import asyncio
import os
from queue import Empty

import pytest

from territoria.pipeline import forkserver as F
from territoria.pipeline import kernels as K


class _Channel:
    """A channel that hands out scripted messages (``None`` = nothing arrives in time)."""

    def __init__(self):
        self.queue = []

    async def get_msg(self, timeout=None):
        if not self.queue or self.queue[0] is None:
            if self.queue:
                self.queue.pop(0)
            raise Empty
        return self.queue.pop(0)


def _status(state, parent):
    return {"msg_type": "status", "content": {"execution_state": state},
            "parent_header": {"msg_id": parent}}


def _reply(parent):
    return {"msg_type": "kernel_info_reply", "content": {"status": "ok"},
            "parent_header": {"msg_id": parent}}


class _Scripted(K.ReadyKernelClient):
    """ReadyKernelClient with scripted channels; ``kernel_info`` plays the kernel's part."""

    def __init__(self, script):
        super().__init__()
        self._shell, self._iopub = _Channel(), _Channel()
        self.script, self.sent = script, []

    shell_channel = property(lambda self: self._shell)
    iopub_channel = property(lambda self: self._iopub)

    def kernel_info(self):
        msg_id = f"k{len(self.sent)}"
        self.sent.append(msg_id)
        self.script(self, msg_id)
        return msg_id

    def _handle_kernel_info_reply(self, msg):
        self.answered = msg["parent_header"]["msg_id"]

    async def _async_is_alive(self):
        return True


def test_ready_as_soon_as_the_kernel_reports_idle():
    def kernel(c, mid):
        c._shell.queue.append(_reply(mid))
        c._iopub.queue += [_status("busy", mid), _status("idle", mid), _status("busy", "x")]

    c = _Scripted(kernel)
    asyncio.run(c.wait_for_ready(timeout=5))
    assert c.sent == ["k0"]
    assert c._iopub.queue == [_status("busy", "x")]  # nothing after idle was consumed


def test_late_subscription_asks_once_more_after_the_welcome():
    def kernel(c, mid):  # the first request's statuses went out before we subscribed
        c._shell.queue.append(_reply(mid))
        if mid == "k0":
            c._iopub.queue.append({"msg_type": "iopub_welcome", "content": {},
                                   "parent_header": {}})
        else:
            c._iopub.queue += [_status("busy", mid), _status("idle", mid)]

    c = _Scripted(kernel)
    asyncio.run(c.wait_for_ready(timeout=5))
    assert c.sent == ["k0", "k1"]
    assert c.answered == "k1"


def test_silent_iopub_starts_over_like_jupyter_client():
    def kernel(c, mid):  # an old kernel without the welcome message, not yet subscribed
        c._shell.queue.append(_reply(mid))
        c._iopub.queue.append(None if mid == "k0" else _status("idle", mid))

    c = _Scripted(kernel)
    asyncio.run(c.wait_for_ready(timeout=5))
    assert c.sent == ["k0", "k1"]


def test_a_kernel_that_never_answers_times_out():
    c = _Scripted(lambda c, mid: c._shell.queue.append(None))
    with pytest.raises(RuntimeError, match="didn't respond"):
        asyncio.run(c.wait_for_ready(timeout=0))


def test_stale_replies_on_shell_are_skipped():
    def kernel(c, mid):
        c._shell.queue += [_reply("old"), _reply(mid)]
        c._iopub.queue.append(_status("idle", mid))

    c = _Scripted(kernel)
    asyncio.run(c.wait_for_ready(timeout=5))
    assert c.answered == "k0"


@pytest.mark.skipif(not K.fork_supported(), reason="forked kernels need Linux")
def test_forked_kernel_uses_the_ready_client_and_runs_code(tmp_path, monkeypatch):
    srv = F.ForkServer(preload=("json",)).start()
    monkeypatch.setenv(F.ENV_ADDRESS, srv.address)

    async def session():
        km = K.ForkKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive("import os; print(os.getcwd())",
                                                 output_hook=out.append, timeout=30)
            return type(kc), reply["content"]["status"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    out: list = []
    try:
        kind, status = asyncio.run(session())
    finally:
        srv.close()
    assert kind is K.ReadyKernelClient
    assert status == "ok"
    streams = [m["content"]["text"] for m in out if m["msg_type"] == "stream"]
    assert os.path.realpath(streams[0].strip()) == os.path.realpath(tmp_path)


def test_warm_up_lets_a_preloaded_module_fill_its_caches():
    """The fork server reads the indicator catalogue once (``display.warm_cache``), so a
    notebook's first table of indicators does not read it again in every forked process."""
    import gc

    from territoria.pipeline.kernels import DEFAULT_PRELOAD, warm_up
    from territoria.report.catalogue import load_catalogue

    assert "territoria.steps.display" in DEFAULT_PRELOAD
    load_catalogue.cache_clear()
    try:
        loaded, _, _ = warm_up(["territoria.steps.display"])
    finally:
        gc.enable()  # warm_up leaves the collector off for the fork server's children
    assert loaded == ["territoria.steps.display"]
    assert load_catalogue.cache_info().currsize == 1
