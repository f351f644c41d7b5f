# SPDX-License-Identifier: MIT
"""steerd — steer a running simulation from Python (PROTOCOL.md).

    import steerd
    with steerd.Client("run.json") as run:            # or "tcp://127.0.0.1:5555"
        run.set(injected_current="1.5 kA/m^2")        # units: PROTOCOL.md, Values as text
        run.ramp("anode_voltage", "1.2 kV", steps=500)
        print(run.get("j_transmitted", "virtual_cathode"))
        h = run.history("injected_current", "virtual_cathode")   # numpy / pandas
        for m in run.stream(scalars=["j_transmitted"], arrays=["phi"], count=10):
            print(m.topic, m.step, m.values, m.lost)  # array.phi: a numpy array

Errors are exceptions carrying the protocol's code: steerd.SteerdError
(.code, .message), with a subclass per code (steerd.OutOfRange, ...).
steerd.AsyncClient is the same for asyncio (`await steerd.AsyncClient.connect(...)`).
Pure Python on pyzmq and numpy; pandas is optional.
"""
from . import units
from .aio import AsyncClient
from .client import Client, connect
from .errors import *  # noqa: F401,F403 (SteerdError and one class per error code)
from .errors import CODES, SteerdError
from .protocol import PROTOCOL, History, Message, Topics

__version__ = "0.1.0"
__all__ = ["Client", "AsyncClient", "connect", "SteerdError", "History", "Message", "Topics",
           "units", "PROTOCOL", "CODES"] + list(CODES.values())
