#!/usr/bin/env python3
"""make package's Debian package (scripts/build-deb), built from this build's binaries and
installed with dpkg into a scratch root (dpkg --root: the machine's own packages are untouched):
both binaries' --version run from there, the file list, the conffile, the shipped configuration
read by the installed costsd, and the systemd unit's hardening keys (systemd-analyze verify when
it is installed)."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXPECTED_FILES = {
    "/usr/bin/costsd", "/usr/bin/costsctl", "/lib/systemd/system/costsd.service", "/etc/costs/costsd.toml",
    "/usr/share/man/man1/costsd.1.gz", "/usr/share/man/man1/costsctl.1.gz", "/usr/share/doc/costs/deploy.md.gz",
    "/usr/share/doc/costs/README.md.gz"
}
# The unit's keys the operator relies on (issue #16), with the values they must have.
HARDENING = {
    "DynamicUser": "yes", "StateDirectory": "costs", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
    "Restart": "on-failure", "PrivateTmp": "yes", "ProtectHome": "yes", "PrivateDevices": "yes",
    "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes",
    "ExecStart": "/usr/bin/costsd --config /etc/costs/costsd.toml"
}
VERSION_LINE = re.compile(r"^(costsd|costsctl) (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n$")


def run(*args, **kwargs):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kwargs)
    if p.returncode != 0:
        sys.exit("FAILED: %s exited %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def check(condition, message):
    if not condition:
        sys.exit("FAILED: " + message)


def unit_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                key, value = line.split("=", 1)
                keys.setdefault(key, []).append(value)
    return keys


def install(deb, root):
    """Installs `deb` into the scratch root `root` with a dpkg database of its own."""
    admin = os.path.join(root, "var/lib/dpkg")
    for sub in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, sub), exist_ok=True)
    for name in ("status", "available"):
        open(os.path.join(admin, name), "w").close()
    # Its shared libraries are the build machine's (the scratch root has no libc6): --force-depends.
    run("dpkg", "--root=" + root, "--force-not-root", "--force-depends", "--log=/dev/null", "-i", deb)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--costsd", required=True)
    parser.add_argument("--costsctl", required=True)
    parser.add_argument("--source-dir", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="costs-package-")
    try:
        deb = run(os.path.join(args.source_dir, "scripts/build-deb"), "--costsd", args.costsd, "--costsctl",
                  args.costsctl, "--out", work).strip()
        version = VERSION_LINE.match(run(args.costsd, "--version")).group(2)
        check(os.path.basename(deb) == "costs_%s_%s.deb" % (version, run("dpkg", "--print-architecture").strip()),
              "package name " + deb)
        root = os.path.join(work, "root")
        install(deb, root)
        for program in ("costsd", "costsctl"):
            line = run(os.path.join(root, "usr/bin", program), "--version")
            m = VERSION_LINE.match(line)
            check(m is not None and m.group(1) == program and m.group(2) == version,
                  "%s --version from the package printed %r" % (program, line))
        files = set(run("dpkg", "--root=" + root, "-L", "costs").split("\n"))
        check(EXPECTED_FILES <= files, "files missing from the package: %s" % sorted(EXPECTED_FILES - files))
        conffiles = run("dpkg-query", "--root=" + root, "-W", "-f=${Conffiles}", "costs")
        check("/etc/costs/costsd.toml" in conffiles, "the config file is not a conffile: %r" % conffiles)
        depends = run("dpkg-query", "--root=" + root, "-W", "-f=${Depends}", "costs")
        check("libc6" in depends and "libsqlite3" in depends, "Depends lacks the shared libraries: %r" % depends)
        check("procps" in depends, "Depends lacks procps (/bin/kill of the unit's ExecReload): %r" % depends)
        # The shipped configuration is one the installed costsd reads.
        shown = run(os.path.join(root, "usr/bin/costsd"), "--config", os.path.join(root, "etc/costs/costsd.toml"),
                    "--print-config")
        check('db = "sqlite:/var/lib/costs/costs.db"' in shown, "--print-config of the shipped file:\n" + shown)
        unit = os.path.join(root, "lib/systemd/system/costsd.service")
        keys = unit_keys(unit)
        for key, value in HARDENING.items():
            check(keys.get(key) == [value], "costsd.service: %s=%r expected, got %r" % (key, value, keys.get(key)))
        if shutil.which("systemd-analyze"):
            # The unit's own errors (the scratch root has no system units for its dependencies,
            # nor procps's /bin/kill, which ExecReload runs: a copy of the machine's stands in).
            os.makedirs(os.path.join(root, "bin"), exist_ok=True)
            shutil.copy2("/bin/kill", os.path.join(root, "bin", "kill"))
            p = subprocess.run(["systemd-analyze", "verify", "--root=" + root, "--man=no", "--recursive-errors=no",
                                "costsd.service"], capture_output=True, text=True, timeout=120)
            check(p.returncode == 0, "systemd-analyze verify: %s%s" % (p.stdout, p.stderr))
            # systemd's own hardening score: 0 (locked down) .. 10 (exposed); 1.5 as written.
            p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--root=" + root, "costsd.service"],
                               capture_output=True, text=True, timeout=120)
            m = re.search(r"Overall exposure level for costsd.service: (\d+\.\d+)", p.stdout)
            check(m is not None and float(m.group(1)) <= 2.0, "systemd-analyze security: %s%s" % (p.stdout, p.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
