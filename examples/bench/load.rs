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
//!
//! `--openssl-mock` runs the same load against OpenSSL's mock server (`openssl cmp
//! -port`, as `openssl_peer::MockServer::mac` starts it) instead, to set its CPU per
//! enrollment beside ours. It always hands out the fixture certificate `ee.pem`, so every
//! client then certifies that certificate's key (`ee.key`) under its subject. It is
//! single-threaded and serves one kept-alive connection at a time, so run it with
//! `--clients 1`; more clients only queue behind each other.
//!
//! ```text
//! target/release/cmpv2-load --openssl-mock --clients 1 --enrollments 2000
//! ```
//!
//! `--url` runs the load against a server that is already running (`--ref`, `--secret`,
//! `--newkey`, `--subject` say how to enroll there); its CPU and memory are not ours to
//! read, so those figures show as n/a.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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
use der::DecodePem;
use x509_cert::Certificate;
use x509_cert::name::Name;

const REFERENCE: &str = "load";
const SECRET: &str = "load-test-secret";
const SUBJECT: &str = "CN=load.example";

/// What the clients enroll against.
enum Target {
    /// `cmpv2 serve`, started here.
    Ours,
    /// OpenSSL's mock server (`openssl cmp -port`), started here.
    OpensslMock,
    /// A server already running at this URL.
    External(String),
}

struct Options {
    target: Target,
    /// senderKID and MAC secret; the servers started here are given the same.
    reference: String,
    secret: String,
    /// One key for every client, from this PEM file, instead of one generated per client.
    newkey: Option<PathBuf>,
    subject: Option<String>,
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
        target: Target::Ours,
        reference: REFERENCE.to_owned(),
        secret: SECRET.to_owned(),
        newkey: None,
        subject: None,
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
            "--openssl-mock" => o.target = Target::OpensslMock,
            "--url" => o.target = Target::External(value()?),
            "--ref" => o.reference = value()?,
            "--secret" => o.secret = value()?,
            "--newkey" => o.newkey = Some(PathBuf::from(value()?)),
            "--subject" => o.subject = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "cmpv2-load [--clients N] [--enrollments N] [--warmup N] \
                     [--key p256|p384|rsa2048|ed25519] [--server-bin PATH] \
                     [--threads N] [--sample-every N] [--rate PER_SECOND] [--max-skew SECS] \
                     [--openssl-mock | --url URL] [--ref REF] [--secret TEXT] \
                     [--newkey PEM_FILE] [--subject DN]\n\
                     \n\
                     Starts `cmpv2 serve` unless --openssl-mock (OpenSSL's mock server, \
                     certifying the fixture key ee.key) or --url (a server already \
                     running; its CPU and memory show as n/a). --server-bin, --threads \
                     and --max-skew apply to `cmpv2 serve` only."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !matches!(o.target, Target::Ours) && (o.threads.is_some() || o.max_skew.is_some()) {
        return Err("--threads and --max-skew apply to `cmpv2 serve` only".to_owned());
    }
    Ok(o)
}

/// `crates/cmp-proto/tests/fixtures/keys`: the mock server's certificate and the key it
/// certifies (`openssl_peer::keys_dir`, which is a dev-dependency only).
fn fixture_keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cmp-proto/tests/fixtures/keys")
}

/// The server; its process, if started here, is killed when dropped.
struct Server {
    child: Option<Child>,
    url: String,
    /// Names the server in the figures; "server" for `cmpv2 serve`, as it always was.
    label: &'static str,
}

impl Server {
    /// The process to read CPU and memory from, if it is ours to read.
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_server(o: &Options) -> Result<Server, String> {
    match &o.target {
        Target::Ours => start_ours(o),
        Target::OpensslMock => start_openssl_mock(o),
        Target::External(url) => Ok(Server {
            child: None,
            url: url.clone(),
            label: "server",
        }),
    }
}

fn start_ours(o: &Options) -> Result<Server, String> {
    let mut command = Command::new(&o.server_bin);
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ref",
        &o.reference,
        "--secret",
        &format!("pass:{}", o.secret),
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
    Ok(Server {
        child: Some(child),
        url,
        label: "server",
    })
}

/// Starts `openssl cmp -port P` with MAC protection, handing out `ee.pem` with `root.pem`
/// in caPubs and extraCerts (the argument set of `openssl_peer::MockServer::mac`).
///
/// OpenSSL 3.0 needs a concrete port, so one is taken from the kernel and released
/// (retried if another process takes it first), and readiness is the port accepting:
/// the mock's "ACCEPT" line is block-buffered on a pipe.
fn start_openssl_mock(o: &Options) -> Result<Server, String> {
    let secret = format!("pass:{}", o.secret);
    for _attempt in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut child = Command::new("openssl")
            .args(["cmp", "-config", "", "-port", &port.to_string()])
            .args(["-srv_ref", &o.reference, "-srv_secret", &secret])
            .args(["-rsp_cert", "ee.pem"])
            .args(["-rsp_capubs", "root.pem", "-rsp_extracerts", "root.pem"])
            .current_dir(fixture_keys_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start openssl: {e}"))?;
        // Bounded: 5 s.
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Server {
                    child: Some(child),
                    url: format!("http://127.0.0.1:{port}/pkix/"),
                    label: "openssl mock",
                });
            }
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    Err("openssl cmp mock server did not start".to_owned())
}

/// How every client enrolls.
struct Profile {
    url: String,
    reference: String,
    secret: String,
    key: KeySource,
    subject: Name,
}

enum KeySource {
    /// Each client generates one of this type.
    Generate(KeyType),
    /// Every client certifies this one.
    Fixed(Box<SigningKey>),
}

impl KeySource {
    fn key(&self) -> Result<SigningKey, String> {
        match self {
            Self::Generate(kind) => SigningKey::generate(*kind).map_err(|e| e.to_string()),
            Self::Fixed(key) => Ok(SigningKey::clone(key)),
        }
    }
}

fn read_key(path: &Path) -> Result<SigningKey, String> {
    let pem = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    SigningKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
}

/// The profile, and how to name its key in the figures.
fn profile(o: &Options, url: &str) -> Result<(Profile, String), String> {
    let mock = matches!(o.target, Target::OpensslMock);
    let newkey = o
        .newkey
        .clone()
        .or_else(|| mock.then(|| fixture_keys_dir().join("ee.key")));
    let (key, key_label) = match newkey {
        Some(path) => (
            KeySource::Fixed(Box::new(read_key(&path)?)),
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
        ),
        None => (KeySource::Generate(o.key), format!("{:?}", o.key)),
    };
    let subject = match &o.subject {
        Some(dn) => dn.parse().map_err(|e| format!("--subject {dn:?}: {e}"))?,
        None if mock => {
            let path = fixture_keys_dir().join("ee.pem");
            let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Certificate::from_pem(&pem)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .tbs_certificate()
                .subject()
                .clone()
        }
        None => SUBJECT.parse().map_err(|e| format!("{e}"))?,
    };
    let profile = Profile {
        url: url.to_owned(),
        reference: o.reference.clone(),
        secret: o.secret.clone(),
        key,
        subject,
    };
    Ok((profile, key_label))
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

fn client(profile: &Profile) -> Result<Client<HttpTransport>, String> {
    let secret = SharedSecret::from(profile.secret.as_str());
    let protector = Protector::Mac {
        secret: secret.clone(),
        reference: Some(profile.reference.as_bytes().to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let trust = Trust {
        secret: Some(secret),
        ..Trust::default()
    };
    let transport = HttpTransport::builder(profile.url.as_str())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Client::new(ClientConfig::new(protector, trust), transport))
}

fn enroll_once(
    client: &mut Client<HttpTransport>,
    key: &SigningKey,
    subject: &Name,
) -> Result<(), String> {
    let spki = key.public_key_info().map_err(|e| e.to_string())?;
    let request = CertRequestBuilder::new(spki)
        .subject(subject.clone())
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
    profile: &Arc<Profile>,
    clients: usize,
    total: u64,
    rate: Option<f64>,
) -> Result<Vec<Duration>, String> {
    let remaining = Arc::new(AtomicU64::new(total));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let remaining = Arc::clone(&remaining);
            let profile = Arc::clone(profile);
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let key = profile.key.key()?;
                let mut client = client(&profile)?;
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
                    enroll_once(&mut client, &key, &profile.subject)?;
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
    let (profile, key_label) = profile(&o, &server.url)?;
    let profile = Arc::new(profile);
    let pid = server.pid();
    let label = server.label;
    run(&profile, o.clients.min(8), o.warmup, None)?;
    let cpu_before = pid.map(cpu_seconds).transpose()?;
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
        latencies.extend(run(&profile, o.clients, n, o.rate)?);
        done += n;
        if o.sample_every != 0 {
            match pid.map(memory_mib) {
                Some((rss, hwm)) => println!(
                    "  after {done:>7} enrollments: {label} VmRSS {rss:.1} MiB, VmHWM {hwm:.1} MiB"
                ),
                None => println!("  after {done:>7} enrollments: {label} memory n/a"),
            }
        }
    }
    let wall = started.elapsed();
    let cpu = match (pid, cpu_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    latencies.sort();
    let n = latencies.len() as f64;
    let server_figures = match (pid, cpu) {
        (Some(pid), Some(cpu)) => {
            let (rss, hwm) = memory_mib(pid);
            format!(
                "{label} CPU {:.3} ms/enrollment ({:.0}% of one core); \
                 {label} VmRSS {rss:.1} MiB, VmHWM {hwm:.1} MiB",
                cpu * 1e3 / n,
                cpu * 100.0 / wall.as_secs_f64(),
            )
        }
        _ => format!("{label} CPU n/a; {label} memory n/a"),
    };
    println!(
        "key {key_label}, {} clients{}, {} enrollments (ir+certConf, MAC) in {:.2} s: {:.0} enrollments/s; \
         latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {server_figures}",
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
    );
    Ok(())
}
