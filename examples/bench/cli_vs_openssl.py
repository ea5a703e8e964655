#!/usr/bin/env python3
"""Whole-process enrollment cost: `cmpv2 enroll` against `openssl cmp`.

Alternating runs against the same OpenSSL mock server (`openssl cmp -port`), with MAC
and with signature protection, OpenSSL with -keep_alive 0 and 1. Each run is one
enrollment (ir + certConf). Prints median wall time and median CPU time (user + sys of
the client process, from wait4's rusage) per enrollment.

    python3 examples/bench/cli_vs_openssl.py [RUNS]     (default 30)
"""
import os, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEYS = os.path.join(ROOT, "crates/cmp-proto/tests/fixtures/keys")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SECRET = open(os.path.join(KEYS, "secret.txt")).read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args):
    port = free_port()
    proc = subprocess.Popen(["openssl", "cmp", "-config", "", "-port", str(port), "-rsp_cert", "ee.pem", *args],
                            cwd=KEYS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mock server did not start")


def run(cmd):
    """Runs cmd once; returns (wall seconds, CPU seconds) of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "cmpv2-examples", "--bin", "cmpv2"], cwd=ROOT, check=True)
    cmpv2 = os.path.join(target, "release", "cmpv2")
    mac_srv, mac_port = start_server("-srv_ref", "1234", "-srv_secret", "pass:" + SECRET)
    sig_srv, sig_port = start_server("-srv_cert", "server.pem", "-srv_key", "server.key", "-srv_trusted", "root.pem")
    out = tempfile.mkdtemp()
    k = lambda f: os.path.join(KEYS, f)
    ossl = ["openssl", "cmp", "-config", "", "-batch", "-cmd", "ir", "-path", "pkix/", "-subject", "/CN=CMP End Entity",
            "-newkey", k("ee.key"), "-certout", os.path.join(out, "o.pem")]
    ours = [cmpv2, "enroll", "--cmd", "ir", "--path", "pkix/", "--subject", "/CN=CMP End Entity",
            "--newkey", k("ee.key"), "--certout", os.path.join(out, "c.pem")]
    mac_o = ["-server", f"127.0.0.1:{mac_port}", "-ref", "1234", "-secret", "pass:" + SECRET]
    mac_c = ["--server", f"127.0.0.1:{mac_port}", "--ref", "1234", "--secret", "pass:" + SECRET]
    sig_o = ["-server", f"127.0.0.1:{sig_port}", "-cert", k("client.pem"), "-key", k("client.key"), "-trusted", k("root.pem")]
    sig_c = ["--server", f"127.0.0.1:{sig_port}", "--cert", k("client.pem"), "--key", k("client.key"), "--trusted", k("root.pem")]
    cases = {
        "MAC cmpv2": ours + mac_c,
        "MAC openssl ka=0": ossl + mac_o + ["-keep_alive", "0"],
        "MAC openssl ka=1": ossl + mac_o + ["-keep_alive", "1"],
        "sig cmpv2": ours + sig_c,
        "sig openssl ka=0": ossl + sig_o + ["-keep_alive", "0"],
        "sig openssl ka=1": ossl + sig_o + ["-keep_alive", "1"],
    }
    results = {name: [] for name in cases}
    try:
        for _ in range(RUNS):
            for name, cmd in cases.items():
                results[name].append(run(cmd))
    finally:
        mac_srv.kill(); sig_srv.kill()
    def pem_body(path):
        text = open(path).read()
        return text[text.index("-----BEGIN CERTIFICATE-----"):text.index("-----END CERTIFICATE-----")].split()

    if pem_body(os.path.join(out, "c.pem")) != pem_body(k("ee.pem")):
        raise SystemExit("cmpv2 did not save the enrolled certificate")
    print(f"{'client':<18} {'wall ms':>9} {'CPU ms':>9}   (median of {RUNS} enrollments each)")
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples) * 1000
        cpu = statistics.median(s[1] for s in samples) * 1000
        print(f"{name:<18} {wall:>9.1f} {cpu:>9.1f}")


if __name__ == "__main__":
    main()
