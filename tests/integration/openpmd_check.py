# SPDX-License-Identifier: MIT
"""The openPMD 1.1.0 rules of the openPMD project's validator (check_h5.py of
openPMD-validator, not packaged in Debian), checked with h5py: the required
attributes are errors when missing or malformed, the recommended ones
warnings. Written from the standard (STANDARD.md 1.1.0) and the validator's
rules, for steerd's tests:

    errors, warnings = check_file(path)

Besides the validator's rules it checks that a fileBased iterationFormat
describes the file's own name (the validator does not look at file names).
"""
import os
import re

import h5py
import numpy as np

VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$")
NAME = re.compile(r"^\w+$", re.ASCII)
FLOATS = (np.float32, np.float64, np.longdouble)


class _Report:
    def __init__(self):
        self.errors, self.warnings = [], []

    def error(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    def warn(self, where, msg):
        self.warnings.append("%s: %s" % (where, msg))


def _is_string(v):
    # The validator wants fixed-length strings (numpy bytes), as HDF5 C writers make.
    return isinstance(v, np.bytes_)


def _attr(rep, obj, name, kind, required=True, pattern=None, dtypes=None):
    """Check attribute `name` of obj: kind is "string", "float", "float64",
    "uint32", "array" (an ndarray of dtypes) or "strings"; returns its value or None."""
    where = obj.name
    if name not in obj.attrs:
        (rep.error if required else rep.warn)(where, "attribute %s is missing" % name)
        return None
    v = obj.attrs[name]
    ok = {
        "string": lambda: _is_string(v),
        "float": lambda: isinstance(v, FLOATS),
        "float64": lambda: isinstance(v, np.float64),
        "uint32": lambda: isinstance(v, np.uint32),
        "array": lambda: isinstance(v, np.ndarray) and (dtypes is None or v.dtype.type in dtypes),
        "strings": lambda: isinstance(v, np.ndarray) and v.dtype.kind == "S",
    }[kind]()
    if not ok:
        rep.error(where, "attribute %s is not of type %s (%r)" % (name, kind, v))
        return None
    if pattern is not None and not pattern.match(v.decode()):
        rep.error(where, "attribute %s = %r does not match %s" % (name, v, pattern.pattern))
    return v


def _is_scalar_record(obj):
    return isinstance(obj, h5py.Dataset) or "value" in obj.attrs


def _component(rep, c):
    if isinstance(c, h5py.Group):  # a constant component
        if "value" not in c.attrs:
            rep.error(c.name, "constant component without value")
        _attr(rep, c, "shape", "array", dtypes=(np.uint64,))
    _attr(rep, c, "unitSI", "float64")


def _components(rep, record):
    if _is_scalar_record(record):
        return [record]
    for name in record:
        if not NAME.match(name):
            rep.error(record.name, "component %s is not named [A-Za-z0-9_]" % name)
    return [record[n] for n in record]


def _root(rep, f, path):
    _attr(rep, f, "openPMD", "string", pattern=VERSION)
    _attr(rep, f, "openPMDextension", "uint32")
    base = _attr(rep, f, "basePath", "string", pattern=re.compile(r"^/data/%T/$"))
    enc = _attr(rep, f, "iterationEncoding", "string",
                pattern=re.compile(r"^(groupBased|fileBased)$"))
    fmt = _attr(rep, f, "iterationFormat", "string")
    _attr(rep, f, "meshesPath", "string", required=False, pattern=re.compile(r"^.*/$"))
    _attr(rep, f, "particlesPath", "string", required=False, pattern=re.compile(r"^.*/$"))
    if enc is not None and fmt is not None:
        if enc == b"groupBased" and base is not None and fmt != base:
            rep.error("/", "groupBased: iterationFormat %r must equal basePath %r" % (fmt, base))
        if enc == b"fileBased":
            m = re.fullmatch(r"(.*)%(0[0-9]+)?T(.*)", fmt.decode())
            name = os.path.basename(path)
            iters = list(f["data"].keys()) if "data" in f else []
            want = None
            if m and len(iters) == 1:
                it = int(iters[0])
                digits = ("%" + (m.group(2) or "") + "d") % it
                want = m.group(1) + digits + m.group(3)
            if not m or "/" in fmt.decode() or want != name:
                rep.error("/", "fileBased iterationFormat %r does not describe the file %s"
                          % (fmt, name))
    for rec in ("author", "software", "softwareVersion"):
        _attr(rep, f, rec, "string", required=False)
    _attr(rep, f, "date", "string", required=False, pattern=DATE)


def _meshes(rep, f, it):
    if "meshesPath" not in f.attrs:
        return
    path = "/data/%s/%s" % (it, f.attrs["meshesPath"].decode())
    if path not in f:
        rep.error(path, "meshesPath is set but the group does not exist")
        return
    for name, m in f[path].items():
        if not NAME.match(name):
            rep.error(m.name, "record is not named [A-Za-z0-9_]")
        _attr(rep, m, "unitDimension", "array", dtypes=(np.float64,))
        _attr(rep, m, "timeOffset", "float")
        _attr(rep, m, "gridSpacing", "array", dtypes=FLOATS)
        _attr(rep, m, "gridGlobalOffset", "array", dtypes=FLOATS)
        _attr(rep, m, "gridUnitSI", "float64")
        _attr(rep, m, "dataOrder", "string")
        _attr(rep, m, "axisLabels", "strings")
        geo = _attr(rep, m, "geometry", "string")
        if geo == b"thetaMode":
            _attr(rep, m, "geometryParameters", "string")
        for c in _components(rep, m):
            _component(rep, c)
            _attr(rep, c, "position", "array", dtypes=FLOATS)


def _patches(rep, sp):
    if "particlePatches" not in sp:
        rep.warn(sp.name, "particlePatches (recommended) is missing")
        return
    pp = sp["particlePatches"]
    for key in ("numParticles", "numParticlesOffset", "offset", "extent"):
        if key not in pp:
            rep.error(pp.name, "%s is missing" % key)
            return
    for comp in (sp["position"].keys() if "position" in sp else []):
        for rec in ("offset", "extent"):
            if comp not in pp[rec]:
                rep.error(pp[rec].name, "component %s is missing" % comp)
            else:
                _component(rep, pp[rec][comp])


def _weighting(rep, w):
    if "unitSI" in w.attrs and not np.isclose(w.attrs["unitSI"], 1.0):
        rep.error(w.name, "unitSI of weighting must be 1.0")
    if not np.isclose(w.attrs.get("weightingPower", np.nan), 1.0):
        rep.error(w.name, "weightingPower of weighting must be 1.0")
    if w.attrs.get("macroWeighted", None) != 1:
        rep.error(w.name, "macroWeighted of weighting must be 1")
    ud = w.attrs.get("unitDimension", None)
    if ud is None or np.shape(ud) != (7,) or not np.allclose(ud, 0.0):
        rep.error(w.name, "unitDimension of weighting must be 0 (is %r)" % (ud,))


def _particles(rep, f, it):
    if "particlesPath" not in f.attrs:
        return
    path = "/data/%s/%s" % (it, f.attrs["particlesPath"].decode())
    if path not in f:
        rep.error(path, "particlesPath is set but the group does not exist")
        return
    for sp in f[path].values():
        for key in ("position", "positionOffset"):
            if key not in sp:
                rep.error(sp.name, "record %s (required) is missing" % key)
        if "position" in sp and "positionOffset" in sp and \
                len(sp["position"].keys()) != len(sp["positionOffset"].keys()):
            rep.error(sp.name, "position and positionOffset differ in dimensions")
        _patches(rep, sp)
        for name, rec in sp.items():
            if not NAME.match(name):
                rep.error(rec.name, "record is not named [A-Za-z0-9_]")
            if name == "particlePatches":
                continue
            _attr(rep, rec, "unitDimension", "array", dtypes=(np.float64,))
            _attr(rep, rec, "timeOffset", "float")
            for c in _components(rep, rec):
                _component(rep, c)
            if name == "weighting":
                _weighting(rep, rec)


def check_file(path):
    """(errors, warnings): lists of "where: what" strings."""
    rep = _Report()
    with h5py.File(path, "r") as f:
        _root(rep, f, path)
        if "data" not in f or not all(k.isdigit() for k in f["data"].keys()):
            rep.error("/data", "not of the form /data/%T/ with integer iterations")
            return rep.errors, rep.warnings
        for it in f["data"].keys():
            g = f["data"][it]
            _attr(rep, g, "time", "float")
            _attr(rep, g, "dt", "float")
            _attr(rep, g, "timeUnitSI", "float64")
            _meshes(rep, f, it)
            _particles(rep, f, it)
    return rep.errors, rep.warnings
