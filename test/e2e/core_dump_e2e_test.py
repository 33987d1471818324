#!/usr/bin/env python3
"""End-to-end: a running `secretsync` process cannot write a core dump unless asked to.

A core dump would copy Vault tokens and secret values to disk, so main() sets RLIMIT_CORE to 0
(soft and hard) before any subcommand runs. The test starts `secretsync csi-provider` with a
generous inherited core limit, waits for its socket, and reads the limit the kernel reports in
/proc/<pid>/limits; with SECRETSYNC_ALLOW_CORE_DUMPS=1 the inherited limit must be kept.

Usage: core_dump_e2e_test.py SECRETSYNC
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
import unittest

SECRETSYNC = None
# What the test process hands down: large enough to tell "kept" from "cleared".
INHERITED = 1 << 20


def inherit_core_limit():
    """preexec_fn: give the child a non-zero core limit, as a shell with `ulimit -c` would."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    soft = INHERITED if hard == resource.RLIM_INFINITY else min(INHERITED, hard)
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def core_limit(pid):
    """(soft, hard) of "Max core file size" in /proc/<pid>/limits, as strings."""
    with open(f"/proc/{pid}/limits") as handle:
        for line in handle:
            if line.startswith("Max core file size"):
                fields = line[len("Max core file size"):].split()
                return fields[0], fields[1]
    raise AssertionError(f"/proc/{pid}/limits has no core file size line")


class CoreDumpTest(unittest.TestCase):

    def run_provider(self, allow):
        """Starts the provider, waits for its socket, returns its (soft, hard) core limit."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("SECRETSYNC_ALLOW_CORE_DUMPS", "KUBECONFIG",
                            "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
        if allow is not None:
            env["SECRETSYNC_ALLOW_CORE_DUMPS"] = allow
        # AddressSanitizer and ThreadSanitizer clear the core limit themselves by default; stop
        # them, so the limit seen is the one secretsync set (ignored by a build without them).
        for name in ("ASAN_OPTIONS", "TSAN_OPTIONS"):
            env[name] = ":".join(filter(None, [env.get(name, ""), "disable_coredump=0"]))
        with tempfile.TemporaryDirectory() as work:
            socket = os.path.join(work, "secretsync.sock")
            process = subprocess.Popen(
                [SECRETSYNC, "csi-provider", "--socket", socket, "--log-format", "text"],
                env=env, preexec_fn=inherit_core_limit, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 30
                while not os.path.exists(socket):
                    if process.poll() is not None:
                        self.fail(f"csi-provider exited {process.returncode}: "
                                  f"{process.stderr.read().decode(errors='replace')}")
                    self.assertLess(time.monotonic(), deadline, "no socket after 30 s")
                    time.sleep(0.05)
                limits = core_limit(process.pid)
            finally:
                process.terminate()
                _, stderr = process.communicate(timeout=30)
            self.assertEqual(process.returncode, 0, stderr.decode(errors="replace"))
            return limits, stderr.decode(errors="replace")

    def test_core_dumps_are_off_by_default(self):
        (soft, hard), stderr = self.run_provider(allow=None)
        self.assertEqual((soft, hard), ("0", "0"))
        self.assertNotIn("core dumps are allowed", stderr)

    def test_other_values_do_not_allow_core_dumps(self):
        for value in ("0", "true", ""):
            with self.subTest(value=value):
                (soft, hard), _ = self.run_provider(allow=value)
                self.assertEqual((soft, hard), ("0", "0"))

    def test_escape_hatch_keeps_the_inherited_limit_and_says_so(self):
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        if hard == 0:
            self.skipTest("this environment's hard core limit is 0: nothing to keep")
        (soft, _), stderr = self.run_provider(allow="1")
        expected = INHERITED if hard == resource.RLIM_INFINITY else min(INHERITED, hard)
        self.assertEqual(soft, str(expected))
        self.assertIn("SECRETSYNC_ALLOW_CORE_DUMPS=1: core dumps are allowed", stderr)


if __name__ == "__main__":
    SECRETSYNC = sys.argv[1]
    unittest.main(argv=sys.argv[:1], verbosity=2)
