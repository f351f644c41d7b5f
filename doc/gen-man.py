#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Makes a man page from doc/NAME.SECTION.in, filling in what the programs
know about themselves, so the pages cannot drift from the code:

  @VERSION@                 the version
  .\\" @STEERD_COMMANDS@    `steerd --dump-commands` (the control commands)
  .\\" @CONSOLE_COMMANDS@   `steer-console --dump-commands`
  .\\" @CONFIG_KEYS@        `steerd --dump-config` (the settings table), each key
                            with the text for it in doc/steerd.yaml.keys

A key without text there gets UNDOCUMENTED_MARK and a warning on stderr
(tests/integration/test_man_pages.py fails on it).

usage: gen-man.py --steerd BIN --console BIN --version V [--keys FILE] IN OUT
"""
import argparse
import json
import os
import subprocess
import sys

UNDOCUMENTED_MARK = "(not documented yet)"


def esc(text):
    """Plain text as roff: backslashes escaped, no line starting a request."""
    text = str(text).replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l if l[:1] in (".", "'") else l) for l in text.split("\n"))


def dump(binary, option):
    out = subprocess.run([binary, option], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def command_items(commands):
    lines = []
    for c in commands:
        usage = c.get("usage", "")
        head = "\\fB%s\\fR" % esc(c["name"])
        if usage and usage != "{}":
            head += " \\fI%s\\fR" % esc(usage)
        lines += [".TP", head, esc(c.get("summary", "")) + "."]
        if c.get("changes"):
            lines.append("Changes the run: with security, operators only.")
    return lines


def read_key_docs(path):
    """doc/steerd.yaml.keys: a line naming a key, then its text (roff)
    indented by a tab; '#' lines are comments."""
    docs, current = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith("\t"):
                if current is None:
                    sys.exit("%s: text before any key: %r" % (path, line))
                docs[current].append(line[1:])
            else:
                current = line.strip()
                docs[current] = []
    return docs


def describe_type(s):
    t = s["type"]
    if t == "integer":
        kind = "integer in [%d, %d]" % (s["min"], s["max"])
    elif t == "enum":
        kind = "one of: " + ", ".join(s["choices"])
    elif t == "endpoint":
        kind = "ZeroMQ endpoint"
    elif t in ("custom", "section"):
        kind = ""  # its shape is in the text
    else:
        kind = t
    if t == "boolean" and s["default"] is not None:
        kind += "; default " + ("true" if s["default"] else "false")
    elif s["default"] is not None:
        kind += "; default " + str(s["default"])
    elif t in ("integer", "endpoint", "path"):
        kind += "; default: absent"
    kind += "; reloaded on SIGHUP" if s["reload"] else "; read at start only"
    return kind.lstrip("; ")


def config_items(settings, docs):
    lines = []
    for s in settings:
        name = s["name"]
        text = docs.get(name)
        if s["type"] == "section":
            lines += [".SS %s" % esc(name)]
            lines += text or []
            continue
        if text is None:
            print("gen-man.py: config key %s has no text in the keys file" % name, file=sys.stderr)
            text = [UNDOCUMENTED_MARK]
        if "." not in name:  # a top-level key: a section of its own
            lines += [".SS %s" % esc(name), "\\fI%s\\fR" % esc(describe_type(s)), ".PP"]
        else:
            lines += [".TP", "\\fB%s\\fR" % esc(name), "\\fI%s\\fR" % esc(describe_type(s)), ".br"]
        lines += text
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steerd", required=True)
    p.add_argument("--console", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--keys", default="doc/steerd.yaml.keys")
    p.add_argument("input")
    p.add_argument("output")
    a = p.parse_args()
    out = []
    with open(a.input, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            marker = line.strip()
            if marker == '.\\" @STEERD_COMMANDS@':
                out += command_items(dump(a.steerd, "--dump-commands"))
            elif marker == '.\\" @CONSOLE_COMMANDS@':
                out += command_items(dump(a.console, "--dump-commands"))
            elif marker == '.\\" @CONFIG_KEYS@':
                out += config_items(dump(a.steerd, "--dump-config"), read_key_docs(a.keys))
            else:
                out.append(line.replace("@VERSION@", a.version))
    with open(a.output + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    os.replace(a.output + ".tmp", a.output)


if __name__ == "__main__":
    main()
