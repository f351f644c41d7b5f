# SPDX-License-Identifier: MIT
"""Values as text (PROTOCOL.md, "Values as text"): "1.5 kA/m^2" to 1500.0.

The same grammar as steer-console and the config loader (steerd/quantity.c),
tested against the same cases (tests/data/units.tsv):

    [spaces] NUMBER [spaces] [PREFIX] [UNIT] [spaces]

UNIT must be the knob's unit exactly; PREFIX is one SI prefix for the whole
unit, and may stand alone ("1.5k"). The unit wins over a prefix: for "m",
"1 m" is a metre and "5 mm" 0.005.
"""
import math
import re

__all__ = ["parse", "PREFIXES", "UnitError"]

# Longest first is not needed: every symbol is one character.
PREFIXES = {
    "y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9,
    "u": 1e-6, "\u00b5": 1e-6, "\u03bc": 1e-6, "m": 1e-3, "c": 1e-2, "d": 1e-1,
    "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}

# What C's strtod reads as a decimal number (no inf, nan or hex: refused first).
_NUMBER = re.compile(r"[ \t\n\r\f\v]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_SPACE = " \t\n\r\f\v"
_DBL_MIN = 2.2250738585072014e-308


class UnitError(ValueError):
    """A text the grammar refuses; the message says why."""


def _number(text):
    m = _NUMBER.match(text)
    if not m:
        raise UnitError('"%s" is not a number' % text)
    digits = m.group(1)
    v = float(digits)
    mantissa = re.split("[eE]", digits)[0]
    # strtod's ERANGE: overflow, or a non-zero number below DBL_MIN.
    if math.isinf(v) or (abs(v) < _DBL_MIN and re.search("[1-9]", mantissa)):
        raise UnitError('"%s" is not a number' % text)
    return v, text[m.end():]


def parse(text, unit=""):
    """The number `text` stands for, in `unit` (the knob's unit as hello
    spells it; "" or None: dimensionless). Raises UnitError."""
    if not isinstance(text, str):
        raise TypeError("parse() takes text, not %s" % type(text).__name__)
    unit = unit or ""
    v, rest = _number(text)
    rest = rest.strip(_SPACE)
    if not rest or (unit and rest == unit):
        return v
    p = PREFIXES.get(rest[:1])
    if p is not None and (rest[1:] == "" or (unit and rest[1:] == unit)):
        out = v * p
        if math.isinf(out):
            raise UnitError('"%s" is too large' % text)
        return out
    if unit:
        raise UnitError('"%s": unit "%s" is not %s (with an optional SI prefix)'
                        % (text, rest, unit))
    raise UnitError('"%s": unknown suffix "%s" (this value has no unit)' % (text, rest))


def knob_value(knob, value):
    """A value for `set`/`ramp` of a knob (its hello entry): text is parsed
    with the knob's unit (PROTOCOL.md, "Values as text"), a number or bool is
    sent as it is; an int knob gets an integer, an enum its choice name."""
    if not isinstance(value, str):
        return value
    kind = knob.get("type", "double")
    if kind == "enum":
        return value
    if kind == "bool":
        low = value.strip().lower()
        if low in ("true", "on", "yes", "1"):
            return True
        if low in ("false", "off", "no", "0"):
            return False
        raise UnitError('"%s" is not true or false' % value)
    v = parse(value, knob.get("unit", ""))
    if kind == "int":
        if v != math.floor(v) or abs(v) > 2 ** 53:
            raise UnitError('"%s" is not an integer' % value)
        return int(v)
    return v
