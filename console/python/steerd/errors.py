# SPDX-License-Identifier: MIT
"""Error replies as exceptions (PROTOCOL.md, "Error codes").

Every error reply raises a SteerdError whose `code` is the protocol's code;
the known codes have a subclass each (steerd.OutOfRange for "out_of_range",
...), so `except steerd.OutOfRange:` catches just that case. A code this
package does not know (a newer daemon) raises SteerdError itself.
"""

__all__ = ["SteerdError", "error_for", "CODES"]


class SteerdError(Exception):
    """An error reply: nothing was changed. .code (e.g. "out_of_range"),
    .message (for people), .cmd (the request's command), .reply (the body)."""
    code = None

    def __init__(self, cmd, code, message, reply=None):
        Exception.__init__(self, "%s failed: %s (%s)" % (cmd, message, code))
        self.cmd, self.code, self.message, self.reply = cmd, code, message, reply


# code -> class name, in PROTOCOL.md's order.
CODES = {
    "bad_request": "BadRequest",
    "too_large": "TooLarge",
    "unknown_command": "UnknownCommand",
    "bad_argument": "BadArgument",
    "unknown_name": "UnknownName",
    "out_of_range": "OutOfRange",
    "fixed_knob": "FixedKnob",
    "refused": "Refused",
    "limit_reached": "LimitReached",
    "bad_state": "BadState",
    "shutting_down": "ShuttingDown",
    "forbidden": "Forbidden",
    "keys_unavailable": "KeysUnavailable",
    "internal": "Internal",
    "busy": "Busy",
}

_CLASSES = {}
for _code, _name in CODES.items():
    _CLASSES[_code] = type(_name, (SteerdError,), {
        "code": _code, "__doc__": "The error reply %r (PROTOCOL.md, Error codes)." % _code})
    globals()[_name] = _CLASSES[_code]
    __all__.append(_name)


def error_for(cmd, body):
    """The exception for an error reply's body."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        err = {}
    code = err.get("code") if isinstance(err.get("code"), str) else "?"
    message = err.get("message") if isinstance(err.get("message"), str) else "malformed reply"
    return _CLASSES.get(code, SteerdError)(cmd, code, message, body)
