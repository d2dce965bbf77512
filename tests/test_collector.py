"""saksi.collector: the cyclic collector is paused inside the block and restored after."""

from __future__ import annotations

import gc

import pytest

from saksi.collector import collector_paused


def _fail_inside() -> None:
    with collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("stop")


def test_the_collector_is_paused_inside_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="stop"):
        _fail_inside()
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
