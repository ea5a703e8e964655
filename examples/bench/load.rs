//! `cmpv2-load`: N concurrent clients enrolling against `cmpv2 serve` over loopback.
//!
//! Starts `cmpv2 serve` (the binary next to this one) as its own process, warms it up,
//! then runs `--clients` threads, each a [`cmp_client::Client`] on one kept-alive HTTP
//! connection, doing complete enrollments (ir + ip + certConf + pkiConf, MAC-protected,
//! every response checked) until `--enrollments` are done. Prints enrollments per
//! second, p50/p99/max latency, the server's CPU time per enrollment (from
//! /proc/PID/stat) and its resident memory (VmRSS now, VmHWM peak).
//!
//! ```text
//! cargo build --release -p cmpv2-examples --bins
//! target/release/cmpv2-load --clients 32 --enrollments 20000 --key p256
//! ```
//!
//! Each client thread generates its key once and certifies it again and again: key
//! generation is the requester's cost, not the CA's, and RSA key generation would
//! otherwise dominate the client side of the machine. The proof-of-possession is signed
//! anew for every request.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};

const REFERENCE: &str = "load";
const SECRET: &str = "load-test-secret";

struct Options {
    clients: usize,
    enrollments: u64,
    warmup: u64,
    key: KeyType,
    server_bin: PathBuf,
    threads: Option<usize>,
    sample_every: u64,
    /// Offered load in enrollments per second over all clients; `None` runs closed
    /// loop (each client starts its next enrollment when the last one ends).
    rate: Option<f64>,
    /// Passed to `cmpv2 serve --max-skew` (the replay window is twice as long).
    max_skew: Option<u64>,
}

fn parse() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut o = Options {
        clients: 32,
        enrollments: 10_000,
        warmup: 500,
        key: KeyType::P256,
        server_bin: exe.with_file_name("cmpv2"),
        threads: None,
        sample_every: 0,
        rate: None,
        max_skew: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--clients" => o.clients = value()?.parse().map_err(|_| "--clients: a number")?,
            "--enrollments" => {
                o.enrollments = value()?.parse().map_err(|_| "--enrollments: a number")?;
            }
            "--warmup" => o.warmup = value()?.parse().map_err(|_| "--warmup: a number")?,
            "--key" => {
                o.key = match value()?.as_str() {
                    "p256" => KeyType::P256,
                    "p384" => KeyType::P384,
                    "rsa2048" => KeyType::Rsa(2048),
                    "ed25519" => KeyType::Ed25519,
                    other => return Err(format!("--key: unknown key type {other:?}")),
                }
            }
            "--server-bin" => o.server_bin = PathBuf::from(value()?),
            "--threads" => o.threads = Some(value()?.parse().map_err(|_| "--threads: a number")?),
            "--max-skew" => {
                o.max_skew = Some(value()?.parse().map_err(|_| "--max-skew: seconds")?);
            }
            "--rate" => o.rate = Some(value()?.parse().map_err(|_| "--rate: a number")?),
            "--sample-every" => {
                o.sample_every = value()?.parse().map_err(|_| "--sample-every: a number")?;
            }
            "-h" | "--help" => {
                println!(
                    "cmpv2-load [--clients N] [--enrollments N] [--warmup N] \
                     [--key p256|p384|rsa2048|ed25519] [--server-bin PATH] \
                     [--threads N] [--sample-every N] [--rate PER_SECOND] [--max-skew SECS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(o: &Options) -> Result<Server, String> {
    let mut command = Command::new(&o.server_bin);
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ref",
        REFERENCE,
        "--secret",
        &format!("pass:{SECRET}"),
    ]);
    if let Some(threads) = o.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    if let Some(skew) = o.max_skew {
        command.args(["--max-skew", &skew.to_string()]);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", o.server_bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .trim()
        .strip_prefix("cmpv2 serve: listening on ")
        .ok_or(format!("unexpected first line {line:?}"))?
        .to_owned();
    Ok(Server { child, url })
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| "bad stat field".to_owned())
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// VmRSS and VmHWM of `pid`, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn client(url: &str) -> Result<Client<HttpTransport>, String> {
    let secret = SharedSecret::from(SECRET);
    let protector = Protector::Mac {
        secret: secret.clone(),
        reference: Some(REFERENCE.as_bytes().to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let trust = Trust {
        secret: Some(secret),
        ..Trust::default()
    };
    let transport = HttpTransport::builder(url)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Client::new(ClientConfig::new(protector, trust), transport))
}

fn enroll_once(client: &mut Client<HttpTransport>, key: &SigningKey) -> Result<(), String> {
    let spki = key.public_key_info().map_err(|e| e.to_string())?;
    let request = CertRequestBuilder::new(spki)
        .subject("CN=load.example".parse().map_err(|e| format!("{e}"))?)
        .sign_pop(key)
        .map_err(|e| e.to_string())?;
    client
        .enroll(EnrollmentRequest::Ir(request))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs `total` enrollments on `clients` threads; returns every latency.
///
/// Closed loop without `rate`. With it, client `i` starts enrollment `k` at
/// `(k * clients + i) / rate` seconds, and latency counts from that planned start, so a
/// server that falls behind shows in the figures instead of slowing the load down
/// (no coordinated omission).
fn run(
    url: &str,
    clients: usize,
    total: u64,
    key: KeyType,
    rate: Option<f64>,
) -> Result<Vec<Duration>, String> {
    let remaining = Arc::new(AtomicU64::new(total));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let remaining = Arc::clone(&remaining);
            let url = url.to_owned();
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let key = SigningKey::generate(key).map_err(|e| e.to_string())?;
                let mut client = client(&url)?;
                let mut latencies = Vec::new();
                let mut k = 0u64;
                while remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let planned = match rate {
                        Some(rate) => {
                            let at = start
                                + Duration::from_secs_f64(
                                    (k as f64 * clients as f64 + i as f64) / rate,
                                );
                            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            at
                        }
                        None => Instant::now(),
                    };
                    enroll_once(&mut client, &key)?;
                    latencies.push(planned.elapsed());
                    k += 1;
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().map_err(|_| "a client thread panicked")??);
    }
    Ok(all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    if let Err(e) = main_inner() {
        eprintln!("cmpv2-load: {e}");
        std::process::exit(1);
    }
}

fn main_inner() -> Result<(), String> {
    let o = parse()?;
    let server = start_server(&o)?;
    let pid = server.child.id();
    run(&server.url, o.clients.min(8), o.warmup, o.key, None)?;
    let cpu_before = cpu_seconds(pid)?;
    let started = Instant::now();
    let mut latencies = Vec::new();
    let chunk = if o.sample_every == 0 {
        o.enrollments
    } else {
        o.sample_every
    };
    let mut done = 0;
    while done < o.enrollments {
        let n = chunk.min(o.enrollments - done);
        latencies.extend(run(&server.url, o.clients, n, o.key, o.rate)?);
        done += n;
        if o.sample_every != 0 {
            let (rss, hwm) = memory_mib(pid);
            println!(
                "  after {done:>7} enrollments: server VmRSS {rss:.1} MiB, VmHWM {hwm:.1} MiB"
            );
        }
    }
    let wall = started.elapsed();
    let cpu = cpu_seconds(pid)? - cpu_before;
    latencies.sort();
    let (rss, hwm) = memory_mib(pid);
    let n = latencies.len() as f64;
    println!(
        "key {:?}, {} clients{}, {} enrollments (ir+certConf, MAC) in {:.2} s: {:.0} enrollments/s; \
         latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; server CPU {:.3} ms/enrollment \
         ({:.0}% of one core); server VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        o.key,
        o.clients,
        o.rate.map_or_else(
            || " (closed loop)".to_owned(),
            |r| format!(" at {r:.0}/s offered")
        ),
        latencies.len(),
        wall.as_secs_f64(),
        n / wall.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        percentile(&latencies, 100.0).as_secs_f64() * 1e3,
        cpu * 1e3 / n,
        cpu * 100.0 / wall.as_secs_f64(),
        rss,
        hwm
    );
    Ok(())
}
