//! Test peers for the transports: OpenSSL's `openssl cmp -port` mock server, a tiny
//! HTTP/1.1 server of our own (plain or TLS via rustls) that counts connections and
//! serves canned answers, and throwaway TLS certificates made with the `openssl` CLI.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// cmp-proto's fixtures: keys and captured messages.
pub fn fixtures() -> PathBuf {
    openssl_peer::fixtures_dir()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("cmp-client-{name}-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

// ---------------------------------------------------------------------------------
// OpenSSL's mock server: the shared one (crates/openssl-peer).

pub use openssl_peer::MockServer;

// ---------------------------------------------------------------------------------
// Our own HTTP/1.1 server.

/// What the test server answers to every request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// `None`: no Content-Type header.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Chunked transfer coding instead of Content-Length.
    pub chunked: bool,
    /// Read the request, then never answer (until the server is dropped).
    pub hang: bool,
    /// After answering this many requests on a connection, read the next one and close
    /// the connection without answering (a server dropping an idle kept-alive
    /// connection just as a request arrives).
    pub answers_per_connection: Option<usize>,
    /// Answer this many requests first with HTTP 503 and this `Retry-After` value.
    pub busy: Option<(usize, String)>,
}

impl Reply {
    /// HTTP 200, `application/pkixcmp`, `body` with Content-Length.
    pub fn pkixcmp(body: &[u8]) -> Self {
        Self {
            status: 200,
            content_type: Some("application/pkixcmp".to_owned()),
            body: body.to_vec(),
            chunked: false,
            hang: false,
            answers_per_connection: None,
            busy: None,
        }
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Which accepted connection (0, 1, ...) it came on.
    pub connection: usize,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    reply: Reply,
    tls: Option<Arc<rustls::ServerConfig>>,
    accepted: AtomicUsize,
    /// Requests read and then left unanswered by closing the connection.
    dropped: AtomicUsize,
    stop: AtomicBool,
    requests: Mutex<Vec<Request>>,
    /// Targets of `CONNECT` requests (when acting as a proxy).
    connects: Mutex<Vec<String>>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that keeps connections alive, answers every
/// request with the same [`Reply`], and records what it saw. It also accepts `CONNECT`
/// (answering 200 and then serving the tunnelled requests itself), so it doubles as a
/// proxy in front of itself.
pub struct TestServer {
    pub port: u16,
    state: Arc<State>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(reply: Reply) -> Self {
        Self::start_inner(reply, None)
    }

    /// The same over TLS (rustls, ring provider).
    pub fn start_tls(reply: Reply, config: Arc<rustls::ServerConfig>) -> Self {
        Self::start_inner(reply, Some(config))
    }

    fn start_inner(reply: Reply, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(State {
            reply,
            tls,
            accepted: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            connects: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let connection = accept_state.accepted.fetch_add(1, Ordering::SeqCst);
                let state = Arc::clone(&accept_state);
                std::thread::spawn(move || serve_connection(&state, stream, connection));
            }
        });
        Self {
            port,
            state,
            accept_thread: Some(accept_thread),
        }
    }

    /// `http://127.0.0.1:<port><path>` (or `https://` for a TLS server).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.state.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// How many requests were read and then answered by closing the connection.
    pub fn dropped(&self) -> usize {
        self.state.dropped.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().expect("lock").clone()
    }

    pub fn connects(&self) -> Vec<String> {
        self.state.connects.lock().expect("lock").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        TcpStream::connect(("127.0.0.1", self.port)).ok();
        if let Some(t) = self.accept_thread.take() {
            t.join().ok();
        }
    }
}

fn serve_connection(state: &State, tcp: TcpStream, connection: usize) {
    match &state.tls {
        None => serve(state, tcp, connection),
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
                return;
            };
            serve(state, rustls::StreamOwned::new(conn, tcp), connection);
        }
    }
}

/// Serves requests on one connection until the peer closes it or an error occurs.
fn serve<S: Read + Write>(state: &State, stream: S, connection: usize) {
    let mut reader = BufReader::new(stream);
    let mut answered = 0;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        if method == "CONNECT" {
            state.connects.lock().expect("lock").push(target);
            let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
            if reader.get_mut().write_all(ok).is_err() {
                return;
            }
            continue;
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if state.reply.answers_per_connection == Some(answered) {
            state.dropped.fetch_add(1, Ordering::SeqCst);
            return;
        }
        answered += 1;
        state.requests.lock().expect("lock").push(Request {
            connection,
            method,
            target,
            headers,
            body,
        });

        let reply = &state.reply;
        if let Some((busy_answers, retry_after)) = &reply.busy {
            let seen = state.requests.lock().expect("lock").len();
            if seen <= *busy_answers {
                let busy = format!(
                    "HTTP/1.1 503 Busy\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
                );
                if reader.get_mut().write_all(busy.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
        }
        if reply.hang {
            while !state.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        let mut out = format!(
            "HTTP/1.1 {} Canned\r\nConnection: keep-alive\r\n",
            reply.status
        );
        if let Some(ct) = &reply.content_type {
            out.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        let mut out = out.into_bytes();
        if reply.chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in reply.body.chunks(500) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", reply.body.len()).as_bytes(),
            );
            out.extend_from_slice(&reply.body);
        }
        let stream = reader.get_mut();
        if stream
            .write_all(&out)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------
// TLS material, generated once per test run with the openssl CLI.

/// PEM files for TLS tests: a root, a server certificate for 127.0.0.1/localhost and a
/// client certificate under it, and an unrelated second root.
pub struct TlsFiles {
    pub root_pem: Vec<u8>,
    pub root_der: Vec<u8>,
    pub other_root_pem: Vec<u8>,
    pub server_cert_pem: Vec<u8>,
    pub server_key_pem: Vec<u8>,
    pub client_cert_pem: Vec<u8>,
    pub client_key_pem: Vec<u8>,
    /// A key that does not belong to `client_cert_pem`.
    pub other_key_pem: Vec<u8>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_root(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "3650",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

fn make_leaf(dir: &Path, name: &str, serial: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("write ext");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            serial,
            "-days",
            "3650",
            "-out",
            &format!("{name}.pem"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

pub fn tls_files() -> &'static TlsFiles {
    static FILES: OnceLock<TlsFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = TempDir::new("tls");
        let d = dir.path();
        make_root(d, "root");
        make_root(d, "other-root");
        make_leaf(
            d,
            "server",
            "2",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        );
        make_leaf(
            d,
            "client",
            "3",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        );
        openssl(
            d,
            &[
                "x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der",
            ],
        );
        let read = |f: &str| std::fs::read(d.join(f)).expect("generated file");
        TlsFiles {
            root_pem: read("root.pem"),
            root_der: read("root.der"),
            other_root_pem: read("other-root.pem"),
            server_cert_pem: read("server.pem"),
            server_key_pem: read("server.key"),
            client_cert_pem: read("client.pem"),
            client_key_pem: read("client.key"),
            other_key_pem: read("other-root.key"),
        }
    })
}

/// A rustls server configuration with the generated server certificate; when
/// `require_client_cert`, clients must present a certificate under the generated root.
pub fn tls_server_config(require_client_cert: bool) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let files = tls_files();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(&files.server_cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .expect("server cert");
    let key = PrivateKeyDer::from_pem_slice(&files.server_key_pem).expect("server key");
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&files.root_pem) {
            roots.add(cert.expect("root")).expect("add root");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(builder.with_single_cert(chain, key).expect("server config"))
}
