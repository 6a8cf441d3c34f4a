"""costsd --config (TOML), --print-config and --version of both binaries: the same keys as the
flags, precedence flag > environment > file > default, secrets redacted, precise errors (file,
line, key; exit 2 as other usage errors)."""

import os
import re
import subprocess

import harness
from harness import ApiTestCase

TIMEOUT = 30
VERSION_LINE = r"^%s \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n$"


def run(name, *args, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COSTS_")}
    full_env.update(env or {})
    return subprocess.run([harness.binary(name)] + list(args), capture_output=True, text=True, timeout=TIMEOUT,
                          env=full_env)


class ConfigTest(ApiTestCase):

    def write(self, ws, name, text):
        path = os.path.join(ws.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_version(self):
        for name in ("costsd", "costsctl"):
            p = run(name, "--version")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, VERSION_LINE % name)

    def test_print_config_shows_each_value_and_where_it_came_from(self):
        ws = self.make_test_workspace("config-print")
        path = self.write(ws, "costsd.toml", "# comment\nlisten = \"127.0.0.1:9\"\nrate-limit = 20\n"
                          "threads = 3\nfailed-login-rate = 0.25\n"
                          "rate-limit-redis = \"redis://:redis-sekret@127.0.0.1:6379/0\"\n"
                          "db = \"postgresql://costs:pg-sekret@127.0.0.1:1/x\"\n")
        p = run("costsd", "--config", path, "--threads", "5", "--print-config", env={"COSTS_RATE_LIMIT": "30"})
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        for expected in ('listen = "127.0.0.1:9"  # %s:2' % path,
                         "rate-limit = 30  # environment COSTS_RATE_LIMIT",
                         "threads = 5  # flag --threads",
                         "failed-login-rate = 0.25  # %s:5" % path,
                         'rate-limit-redis = "redis://:***@127.0.0.1:6379/0"  # %s:6' % path,
                         'db = "postgresql://costs:***@127.0.0.1:1/x"  # %s:7' % path,
                         "# body-cache-mib: not set, default 64",
                         "# config file: %s  (flag --config)" % path):
            self.assertIn(expected, lines, p.stdout)
        self.assertNotIn("sekret", p.stdout + p.stderr)

    def test_config_from_the_environment_serves(self):
        ws = self.make_test_workspace("config-serve")
        path = self.write(ws, "costsd.toml", 'db = "%s"\nlisten = "127.0.0.1:0"\nlog-level = "warn"\n' % ws.db_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSTS_")}
        env["COSTS_CONFIG"] = path
        proc = subprocess.Popen([harness.binary("costsd")], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            self.assertRegex(line, r"^costsd listening on http://127\.0\.0\.1:\d+\n$")
        finally:
            proc.terminate()
            proc.wait(timeout=TIMEOUT)

    def test_bad_files_are_usage_errors_naming_file_line_and_key(self):
        ws = self.make_test_workspace("config-bad")
        cases = (
            ('listen = "127.0.0.1:0"\nlistn = "x"\n', ":2: unknown key 'listn'"),
            ("\nrate-limit = \"fast\"\n", ":2: key 'rate-limit' must be a number"),
            ("threads = 1.5\n", ":1: key 'threads' must be an integer"),
            ("listen = 8080\n", ":1: key 'listen' must be a string"),
            ("[server]\nlisten = \"x\"\n", ":1: unknown key 'server'"),
            ("listen = \n", ":1:"),
            ("\n\nmax-range-days = 0\n", "--max-range-days (%s:3) must be an integer"),
        )
        for i, (text, needle) in enumerate(cases):
            with self.subTest(text=text):
                path = self.write(ws, "bad-%d.toml" % i, text)
                p = run("costsd", "--db", ws.db_url, "--config", path)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(path + needle if needle.startswith(":") else needle % path, p.stderr)
        p = run("costsd", "--config", os.path.join(ws.dir, "missing.toml"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("cannot read the configuration file", p.stderr)
