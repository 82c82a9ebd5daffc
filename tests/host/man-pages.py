#!/usr/bin/env python3
"""The man pages: they render without a warning, and each tool's --help and
its page's OPTIONS section list the same options with the same arguments.

Rendering is lintian's own check: `man --warnings -E UTF-8 -l -Tutf8 -Z`,
MANWIDTH=80; any message on stderr fails. Options are taken from the text a
user reads: the option lines of `TOOL --help` ("  -d, --interval=SEC  ...")
and the tags of the rendered OPTIONS section ("       -d, --interval=SEC").
The pages' footer names the release of mk/config.mk (VFMIG_VERSION).

  tests/host/man-pages.py [--bindir DIR] [--man DIR]
    --bindir DIR  where the tools are (default build/bin; the package test
                  passes /usr/sbin, mig-trace is then taken from /usr/bin)
    --man DIR     the pages: man/ of the repo (default) or an installed
                  MANDIR (man1/ man4/ man8/, gzipped or not)
"""
import argparse
import gzip
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = {"mig-top": 8, "migctl": 8, "mig-trace": 1, "vfmig": 4}
TOOLS = ("mig-top", "migctl", "mig-trace")
fails = 0


def check(ok, what, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1
        if detail:
            print("     " + detail.replace("\n", "\n     "))


def page_path(mandir, name):
    sec = PAGES[name]
    for p in (os.path.join(mandir, f"{name}.{sec}"), os.path.join(mandir, f"man{sec}", f"{name}.{sec}"),
              os.path.join(mandir, f"man{sec}", f"{name}.{sec}.gz")):
        if os.path.exists(p):
            return p
    return None


def render(path, width, warnings):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH=str(width))
    env.pop("MAN_KEEP_FORMATTING", None)
    argv = ["man"] + (["--warnings"] if warnings else []) + ["-E", "UTF-8", "-l", "-Tutf8", "-Z", path]
    if not warnings:
        argv = ["man", "-E", "UTF-8", "-l", path]
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr


def norm(s):
    # groff may print hyphens and minus signs as U+2010 / U+2212.
    return s.replace("\u2010", "-").replace("\u2212", "-").replace("\u2011", "-")


def parse_tag(tag):
    """'-d, --interval=SEC' -> {'-d': 'SEC', '--interval': 'SEC'}."""
    names, arg = [], None
    for part in tag.split(", "):
        m = re.fullmatch(r"(--?[A-Za-z?][A-Za-z0-9-]*)(?:[= ](\S+))?", part.strip())
        if not m:
            return None
        names.append(m.group(1))
        arg = m.group(2) or arg
    return {n: arg for n in names}


def help_options(text):
    opts = {}
    for line in norm(text).splitlines():
        m = re.match(r"^ {2,6}(-\S.*?)(?: {2,}.*)?$", line)
        if m:
            t = parse_tag(m.group(1))
            if t is None:
                return None, f"cannot parse help line {line!r}"
            opts.update(t)
    return opts, ""


def man_options(text):
    opts, in_opts = {}, False
    for line in norm(text).splitlines():
        if re.match(r"^[A-Z]", line):
            in_opts = line.strip() == "OPTIONS"
            continue
        m = re.match(r"^ {7}(-\S.*?)(?: {2,}.*)?$", line) if in_opts else None
        if m:
            t = parse_tag(m.group(1))
            if t is None:
                return None, f"cannot parse OPTIONS tag {line!r}"
            opts.update(t)
    return opts, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", default=os.path.join(REPO, "build/bin"))
    ap.add_argument("--man", default=os.path.join(REPO, "man"))
    a = ap.parse_args()
    version = re.search(r"^VFMIG_VERSION\s*:=\s*(\S+)", open(os.path.join(REPO, "mk/config.mk")).read(), re.M).group(1)

    for name in PAGES:
        path = page_path(a.man, name)
        check(path is not None, f"{name}({PAGES[name]}) exists in {a.man}")
        if path is None:
            continue
        rc, _, err = render(path, 80, True)
        check(rc == 0 and not err.strip(), f"{name}({PAGES[name]}): man --warnings renders it without a warning", err)
        src = gzip.open(path, "rt").read() if path.endswith(".gz") else open(path).read()
        th = re.search(r'^\.TH .*"vfmig ([^"]+)"', src, re.M)
        check(th is not None and th.group(1) == version,
              f"{name}({PAGES[name]}): footer names vfmig {version} (mk/config.mk)", th.group(0) if th else "no .TH")
        if name not in TOOLS:
            continue
        exe = os.path.join(a.bindir, name)
        if not os.access(exe, os.X_OK) and os.path.basename(a.bindir) == "sbin":
            exe = os.path.join(os.path.dirname(a.bindir), "bin", name)
        if name == "mig-top":
            v = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
            check(v == f"mig-top {version}", f"mig-top --version says {v!r}")
        r = subprocess.run([exe, "--help"], capture_output=True, text=True)
        hopts, herr = help_options(r.stdout)
        _, page, _ = render(path, 200, False)
        mopts, merr = man_options(page)
        check(r.returncode == 0 and hopts is not None and len(hopts) >= 3,
              f"{name} --help lists its options ({len(hopts or {})})", herr or r.stderr)
        check(mopts is not None and len(mopts) >= 3, f"{name}({PAGES[name]}) OPTIONS lists options ({len(mopts or {})})", merr)
        if hopts is None or mopts is None:
            continue
        only_help = {k: v for k, v in hopts.items() if k not in mopts}
        only_man = {k: v for k, v in mopts.items() if k not in hopts}
        args = {k: (hopts[k], mopts[k]) for k in hopts if k in mopts and hopts[k] != mopts[k]}
        check(not only_help and not only_man and not args,
              f"{name}: --help and {name}({PAGES[name]}) agree on all {len(hopts)} options and their arguments",
              f"only in --help: {only_help}\nonly in the man page: {only_man}\nargument differs (help, man): {args}")
    print(f"# {fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
