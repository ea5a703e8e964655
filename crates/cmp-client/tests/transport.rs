//! The transports against real peers: OpenSSL's `openssl cmp -port` mock server, and a
//! tiny HTTP/1.1 server of our own (plain and TLS) for what the mock server cannot show
//! (connection reuse, wrong answers, hangs, proxies, client authentication).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use cmp_client::transport::{
    HttpTransport, MessageFiles, RecordingTransport, ReplayTransport, Transport, TransportError,
};
use cmp_proto::{BodyType, Limits, ReceivedMessage};
use support::{MockServer, Reply, TempDir, TestServer, tls_files, tls_server_config};

fn genm_request() -> Vec<u8> {
    std::fs::read(support::fixtures().join("mac/genm/genm.der")).expect("genm fixture")
}

fn http(url: &str) -> HttpTransport {
    HttpTransport::builder(url).build().expect("transport")
}

fn assert_genp_or_error(response: &[u8]) {
    let message = ReceivedMessage::decode(response, &Limits::default()).expect("a PKIMessage");
    let body = message.message.body.body_type();
    assert!(
        matches!(body, BodyType::Genp | BodyType::Error),
        "unexpected body {}",
        body.name()
    );
}

// ---------------------------------------------------------------------------------
// OpenSSL's mock server

#[test]
fn openssl_mock_server_answers_genm() {
    let server = MockServer::mac(&[]);
    let mut transport = http(&server.url());
    let response = transport.send(&genm_request()).expect("response");
    assert_genp_or_error(&response);
}

#[test]
fn openssl_mock_server_answers_repeatedly_on_one_transport() {
    // The mock server announces keep-alive but closes the connection when a transaction
    // ends (a genm/genp exchange is a whole transaction), so this also exercises the
    // retry on a fresh connection.
    let server = MockServer::mac(&[]);
    let mut transport = http(&server.url());
    for _ in 0..4 {
        let response = transport.send(&genm_request()).expect("response");
        assert_genp_or_error(&response);
    }
}

#[test]
fn recording_against_openssl_then_replaying_gives_the_same_bytes() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("record-openssl");
    let mut recording = RecordingTransport::new(
        http(&server.url()),
        MessageFiles::numbered(dir.path(), "req-"),
        MessageFiles::numbered(dir.path(), "rsp-"),
    );
    let request = genm_request();
    let live = recording.send(&request).expect("response");
    assert_genp_or_error(&live);
    assert_eq!(
        std::fs::read(dir.path().join("req-001.der")).expect("req"),
        request
    );

    let mut replay = ReplayTransport::new(MessageFiles::numbered(dir.path(), "rsp-"));
    assert_eq!(replay.send(&request).expect("replayed"), live);
}

// ---------------------------------------------------------------------------------
// Our own HTTP server: what goes over the wire

#[test]
fn posts_der_as_application_pkixcmp_and_returns_the_body() {
    let server = TestServer::start(Reply::pkixcmp(b"\x30\x00response"));
    let mut transport = http(&server.url("/.well-known/cmp/p/test/genm"));
    let request = genm_request();
    let response = transport.send(&request).expect("response");
    assert_eq!(response, b"\x30\x00response");

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/.well-known/cmp/p/test/genm");
    assert_eq!(seen[0].header("content-type"), Some("application/pkixcmp"));
    let expected_length = request.len().to_string();
    assert_eq!(
        seen[0].header("content-length"),
        Some(expected_length.as_str())
    );
    assert_eq!(seen[0].body, request);
}

#[test]
fn second_request_reuses_the_connection() {
    let server = TestServer::start(Reply::pkixcmp(b"answer"));
    let mut transport = http(&server.url("/pkix/"));
    assert_eq!(transport.send(b"first").expect("first"), b"answer");
    assert_eq!(transport.send(b"second").expect("second"), b"answer");

    assert_eq!(server.connections(), 1, "both requests on one connection");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[0].connection, seen[1].connection), (0, 0));
    assert_eq!(seen[1].body, b"second");
}

#[test]
fn dead_kept_alive_connection_is_retried_once_on_a_fresh_one() {
    let mut reply = Reply::pkixcmp(b"answer");
    reply.answers_per_connection = Some(1);
    let server = TestServer::start(reply);
    let mut transport = http(&server.url("/"));
    assert_eq!(transport.send(b"first").expect("first"), b"answer");
    // Goes out on the kept-alive connection, which the server then closes unanswered.
    assert_eq!(transport.send(b"second").expect("retried"), b"answer");

    assert_eq!(server.dropped(), 1);
    assert_eq!(server.connections(), 2);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].connection, seen[1].body.as_slice()),
        (1, b"second".as_slice())
    );
}

#[test]
fn failure_on_a_fresh_connection_is_not_retried() {
    let mut reply = Reply::pkixcmp(b"never");
    reply.answers_per_connection = Some(0);
    let server = TestServer::start(reply);
    let err = http(&server.url("/")).send(b"x").unwrap_err();
    assert!(matches!(err, TransportError::Io { .. }), "{err:?}");
    // The server read the request before it dropped the connection: it may have acted.
    assert!(!err.request_undelivered(), "{err:?}");
    assert_eq!(server.dropped(), 1, "sent once");
    assert_eq!(server.connections(), 1);
}

#[test]
fn content_type_is_matched_ignoring_case_and_parameters() {
    let mut reply = Reply::pkixcmp(b"ok");
    reply.content_type = Some("Application/PKIXCMP; charset=binary".to_owned());
    let server = TestServer::start(reply);
    assert_eq!(http(&server.url("/")).send(b"x").expect("accepted"), b"ok");
}

#[test]
fn wrong_content_type_is_rejected() {
    let mut reply = Reply::pkixcmp(b"<html>");
    reply.content_type = Some("text/html".to_owned());
    let server = TestServer::start(reply);
    let err = http(&server.url("/")).send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::ContentType { content_type } if content_type == "text/html"),
        "{err:?}"
    );
}

#[test]
fn missing_content_type_is_rejected() {
    let mut reply = Reply::pkixcmp(b"body");
    reply.content_type = None;
    let server = TestServer::start(reply);
    let err = http(&server.url("/")).send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::ContentType { content_type } if content_type.is_empty()),
        "{err:?}"
    );
}

#[test]
fn status_500_is_rejected() {
    let mut reply = Reply::pkixcmp(b"");
    reply.status = 500;
    let server = TestServer::start(reply);
    let url = server.url("/pkix/");
    let err = http(&url).send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::HttpStatus { url: u, status: 500, .. } if *u == url),
        "{err:?}"
    );
}

#[test]
fn a_busy_server_is_waited_out_as_its_retry_after_says_when_asked_to() {
    let genp = std::fs::read(support::fixtures().join("mac/genm/genp.der")).expect("genp");
    let busy_twice = || {
        let mut reply = Reply::pkixcmp(&genp);
        reply.busy = Some((2, "1".to_owned()));
        TestServer::start(reply)
    };
    // By default the 503 is the answer, with the wait for the caller's own backoff.
    let server = busy_twice();
    let err = http(&server.url("/")).send(b"x").unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)), "{err}");
    assert!(err.to_string().contains("retry after 1 s"), "{err}");
    assert_eq!(server.requests().len(), 1);

    // Asked to, the transport sends the same request again after each wait.
    let server = busy_twice();
    let mut transport = HttpTransport::builder(server.url("/"))
        .retry_when_busy(2, Duration::from_secs(5))
        .build()
        .expect("transport");
    assert_eq!(transport.send(b"same bytes").expect("third answer"), genp);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == b"same bytes"));

    // Too few attempts, or a wait longer than allowed: the busy answer is the error.
    for (attempts, max_wait) in [(1, 5), (2, 0)] {
        let server = busy_twice();
        let err = HttpTransport::builder(server.url("/"))
            .retry_when_busy(attempts, Duration::from_secs(max_wait))
            .build()
            .expect("transport")
            .send(b"x")
            .unwrap_err();
        assert!(
            matches!(err, TransportError::HttpStatus { status: 503, .. }),
            "{err}"
        );
    }
}

#[test]
fn other_success_statuses_and_redirects_are_rejected() {
    for status in [202, 302] {
        let mut reply = Reply::pkixcmp(b"");
        reply.status = status;
        let server = TestServer::start(reply);
        let err = http(&server.url("/")).send(b"x").unwrap_err();
        assert!(
            matches!(&err, TransportError::HttpStatus { status: s, .. } if *s == status),
            "{status}: {err:?}"
        );
        assert_eq!(server.requests().len(), 1, "redirect not followed");
    }
}

// ---------------------------------------------------------------------------------
// Limits and failures

#[test]
fn body_larger_than_the_limit_is_too_large() {
    for chunked in [false, true] {
        let mut reply = Reply::pkixcmp(&[0x30; 2000]);
        reply.chunked = chunked;
        let server = TestServer::start(reply);
        let mut transport = HttpTransport::builder(server.url("/"))
            .max_response_size(1000)
            .build()
            .expect("transport");
        let err = transport.send(b"x").unwrap_err();
        assert!(
            matches!(err, TransportError::TooLarge { limit: 1000 }),
            "chunked={chunked}: {err:?}"
        );
    }
}

#[test]
fn body_of_exactly_the_limit_is_accepted() {
    for chunked in [false, true] {
        let mut reply = Reply::pkixcmp(&[0x30; 1000]);
        reply.chunked = chunked;
        let server = TestServer::start(reply);
        let mut transport = HttpTransport::builder(server.url("/"))
            .max_response_size(1000)
            .build()
            .expect("transport");
        assert_eq!(transport.send(b"x").expect("accepted").len(), 1000);
    }
}

#[test]
fn server_that_never_answers_times_out() {
    let mut reply = Reply::pkixcmp(b"");
    reply.hang = true;
    let server = TestServer::start(reply);
    let url = server.url("/");
    let mut transport = HttpTransport::builder(&url)
        .timeout(Duration::from_millis(300))
        .build()
        .expect("transport");
    let err = transport.send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::Timeout { target } if *target == url),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "the request did arrive");
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
    // dropped here: nothing listens on the port any more
}

#[test]
fn connection_refused_is_unreachable_and_undelivered() {
    let url = format!("http://127.0.0.1:{}/pkix/", closed_port());
    let err = http(&url).send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::Unreachable { target, .. } if *target == url),
        "{err:?}"
    );
    assert!(err.request_undelivered(), "{err:?}");
}

#[test]
fn credentials_in_the_url_stay_out_of_errors() {
    let url = format!("http://user:hunter2@127.0.0.1:{}/pkix/", closed_port());
    let transport = http(&url);
    assert!(!transport.url().contains("hunter2"), "{}", transport.url());
    let err = { transport }.send(b"x").unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[test]
fn invalid_urls_are_config_errors() {
    for url in [
        "",
        "not a url",
        "ftp://ca.example/",
        "ca.example:80/pkix",
        "http:///pkix",
    ] {
        let err = HttpTransport::builder(url).build().unwrap_err();
        assert!(
            matches!(err, TransportError::Config { .. }),
            "{url:?}: {err:?}"
        );
    }
    // Both schemes are fine.
    for url in ["http://ca.example/pkix/", "HTTPS://ca.example:8443/cmp"] {
        assert!(HttpTransport::builder(url).build().is_ok(), "{url}");
    }
}

// ---------------------------------------------------------------------------------
// Proxy

#[test]
fn requests_go_through_the_proxy() {
    // The test server accepts CONNECT and then serves the tunnelled request itself.
    let proxy = TestServer::start(Reply::pkixcmp(b"via proxy"));
    let mut transport = HttpTransport::builder("http://cmp.invalid:8080/pkix/")
        .proxy(&proxy.url(""))
        .expect("proxy URL")
        .build()
        .expect("transport");
    assert_eq!(transport.send(b"x").expect("response"), b"via proxy");
    assert_eq!(proxy.connects(), ["cmp.invalid:8080"]);
    assert_eq!(proxy.requests()[0].target, "/pkix/");
}

#[test]
fn invalid_proxy_url_is_a_config_error() {
    let err = HttpTransport::builder("http://ca.example/")
        .proxy("ftp://proxy.example")
        .unwrap_err();
    assert!(matches!(err, TransportError::Config { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------
// HTTPS

#[test]
fn https_with_pem_root_works_and_keeps_the_connection() {
    let files = tls_files();
    let server = TestServer::start_tls(Reply::pkixcmp(b"tls answer"), tls_server_config(false));
    let mut transport = HttpTransport::builder(server.url("/pkix/"))
        .tls_roots_pem(&files.root_pem)
        .expect("roots")
        .build()
        .expect("transport");
    assert_eq!(transport.send(b"one").expect("first"), b"tls answer");
    assert_eq!(transport.send(b"two").expect("second"), b"tls answer");
    assert_eq!(server.connections(), 1, "one TLS connection for both");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn https_with_der_root_and_root_file() {
    let files = tls_files();
    let server = TestServer::start_tls(Reply::pkixcmp(b"ok"), tls_server_config(false));
    let mut der = HttpTransport::builder(server.url("/"))
        .tls_roots_der([&files.root_der])
        .expect("roots")
        .build()
        .expect("transport");
    assert_eq!(der.send(b"x").expect("DER root"), b"ok");

    let dir = TempDir::new("roots");
    for (name, bytes) in [("root.pem", &files.root_pem), ("root.der", &files.root_der)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let mut transport = HttpTransport::builder(server.url("/"))
            .tls_roots_file(&path)
            .expect("roots file")
            .build()
            .expect("transport");
        assert_eq!(transport.send(b"x").expect(name), b"ok");
    }
}

#[test]
fn https_server_not_under_the_roots_is_a_tls_error() {
    let files = tls_files();
    let server = TestServer::start_tls(Reply::pkixcmp(b"ok"), tls_server_config(false));
    let other_root = HttpTransport::builder(server.url("/"))
        .tls_roots_pem(&files.other_root_pem)
        .expect("roots")
        .build()
        .expect("transport");
    // Without roots of our own, the built-in web PKI roots apply; they do not know ours.
    let web_pki = http(&server.url("/"));
    for mut transport in [other_root, web_pki] {
        let err = transport.send(b"x").unwrap_err();
        assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
        assert!(err.to_string().contains("certificate"), "{err}");
        assert!(err.request_undelivered(), "{err:?}");
    }
    assert!(server.requests().is_empty());
}

#[test]
fn https_client_certificate_authentication() {
    let files = tls_files();
    let server = TestServer::start_tls(Reply::pkixcmp(b"hello client"), tls_server_config(true));

    let mut anonymous = HttpTransport::builder(server.url("/"))
        .tls_roots_pem(&files.root_pem)
        .expect("roots")
        .build()
        .expect("transport");
    let err = anonymous.send(b"x").unwrap_err();
    assert!(
        matches!(err, TransportError::Tls { .. } | TransportError::Io { .. }),
        "{err:?}"
    );
    assert!(server.requests().is_empty(), "refused before any request");

    let mut authenticated = HttpTransport::builder(server.url("/"))
        .tls_roots_pem(&files.root_pem)
        .expect("roots")
        .client_identity_pem(&files.client_cert_pem, &files.client_key_pem)
        .expect("identity")
        .build()
        .expect("transport");
    assert_eq!(authenticated.send(b"x").expect("response"), b"hello client");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn bad_tls_roots_are_config_errors() {
    let files = tls_files();
    let builder = || HttpTransport::builder("https://ca.example/");
    let cases: [(&str, Result<_, TransportError>); 5] = [
        (
            "garbage PEM",
            builder().tls_roots_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n"),
        ),
        (
            "no certificate",
            builder().tls_roots_pem(&files.client_key_pem),
        ),
        ("empty", builder().tls_roots_pem(b"")),
        (
            "DER garbage",
            builder().tls_roots_der([b"\x30\x03\x02\x01\x01"]),
        ),
        (
            "missing file",
            builder().tls_roots_file("/nonexistent/cmp-client/root.pem"),
        ),
    ];
    for (what, result) in cases {
        let err = result.unwrap_err();
        assert!(
            matches!(err, TransportError::Config { .. }),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn bad_client_identities_are_config_errors_without_key_material() {
    let files = tls_files();
    let builder = || HttpTransport::builder("https://ca.example/");
    let cases = [
        (
            "key of another certificate",
            builder().client_identity_pem(&files.client_cert_pem, &files.other_key_pem),
        ),
        (
            "no key",
            builder().client_identity_pem(&files.client_cert_pem, &files.client_cert_pem),
        ),
        (
            "no certificate",
            builder().client_identity_pem(&files.client_key_pem, &files.client_key_pem),
        ),
    ];
    let key_lines: Vec<&str> = std::str::from_utf8(&files.other_key_pem)
        .expect("PEM is text")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (what, result) in cases {
        let err = result.unwrap_err();
        assert!(
            matches!(err, TransportError::Config { .. }),
            "{what}: {err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(
            key_lines.iter().all(|l| !text.contains(l)),
            "{what}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Recording and replay

/// A transport answering `response:<request>`, or failing when told to.
#[derive(Default)]
struct Echo {
    calls: usize,
    fail: bool,
}

impl Transport for Echo {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.calls += 1;
        if self.fail {
            return Err(TransportError::Io {
                target: "echo".to_owned(),
                reason: "told to fail".to_owned(),
            });
        }
        Ok([b"response:".as_slice(), request].concat())
    }
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn recording_writes_numbered_files_into_separate_directories() {
    let dir = TempDir::new("record-numbered");
    let (reqs, rsps) = (dir.path().join("requests"), dir.path().join("responses"));
    let mut transport = RecordingTransport::new(
        Echo::default(),
        MessageFiles::numbered(&reqs, "req-"),
        MessageFiles::numbered(&rsps, "rsp-"),
    );
    assert_eq!(transport.send(b"one").expect("1"), b"response:one");
    assert_eq!(transport.send(b"two").expect("2"), b"response:two");

    assert_eq!(files_in(&reqs), ["req-001.der", "req-002.der"]);
    assert_eq!(files_in(&rsps), ["rsp-001.der", "rsp-002.der"]);
    assert_eq!(
        std::fs::read(reqs.join("req-002.der")).expect("read"),
        b"two"
    );
    assert_eq!(
        std::fs::read(rsps.join("rsp-001.der")).expect("read"),
        b"response:one"
    );
    assert_eq!(transport.get_ref().calls, 2);
}

#[test]
fn recording_to_a_short_list_writes_only_listed_files() {
    let dir = TempDir::new("record-list");
    let list = format!("{}", dir.path().join("ir.der").display());
    let mut transport = RecordingTransport::new(
        Echo::default(),
        MessageFiles::parse_list(&list),
        MessageFiles::list([dir.path().join("ip.der"), dir.path().join("pkiconf.der")]),
    );
    for request in [b"ir".as_slice(), b"certConf", b"extra"] {
        transport.send(request).expect("sent");
    }
    assert_eq!(files_in(dir.path()), ["ip.der", "ir.der", "pkiconf.der"]);
    assert_eq!(
        std::fs::read(dir.path().join("ir.der")).expect("read"),
        b"ir"
    );
    assert_eq!(
        std::fs::read(dir.path().join("pkiconf.der")).expect("read"),
        b"response:certConf"
    );
    assert_eq!(
        transport.into_inner().calls,
        3,
        "every request was still sent"
    );
}

#[test]
fn recording_write_failure_stops_before_sending() {
    let dir = TempDir::new("record-fail");
    let path = dir.path().join("no-such-dir").join("req.der");
    let mut transport = RecordingTransport::new(
        Echo::default(),
        MessageFiles::list([&path]),
        MessageFiles::none(),
    );
    let err = transport.send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::Io { target, .. } if *target == path.display().to_string()),
        "{err:?}"
    );
    assert_eq!(transport.get_ref().calls, 0, "not sent");
}

#[test]
fn recording_keeps_the_request_when_the_exchange_fails() {
    let dir = TempDir::new("record-inner-fail");
    let mut transport = RecordingTransport::new(
        Echo {
            fail: true,
            ..Echo::default()
        },
        MessageFiles::numbered(dir.path(), "req-"),
        MessageFiles::numbered(dir.path(), "rsp-"),
    );
    let err = transport.send(b"lost").unwrap_err();
    assert!(
        matches!(&err, TransportError::Io { target, .. } if target == "echo"),
        "{err:?}"
    );
    assert_eq!(files_in(dir.path()), ["req-001.der"]);
}

#[test]
fn replay_answers_in_order_records_requests_and_runs_out() {
    let dir = TempDir::new("replay-list");
    let (ip, pkiconf) = (dir.path().join("ip.der"), dir.path().join("pkiconf.der"));
    std::fs::write(&ip, b"ip bytes").expect("write");
    std::fs::write(&pkiconf, b"pkiconf bytes").expect("write");
    let reqout = dir.path().join("out");
    let mut replay = ReplayTransport::new(MessageFiles::list([&ip, &pkiconf]))
        .with_reqout(MessageFiles::numbered(&reqout, "req-"));

    assert_eq!(replay.send(b"ir").expect("first"), b"ip bytes");
    assert_eq!(replay.send(b"certConf").expect("second"), b"pkiconf bytes");
    let err = replay.send(b"one too many").unwrap_err();
    assert!(matches!(err, TransportError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("ran out"), "{err}");
    assert_eq!(replay.requests(), 3);
    assert_eq!(
        std::fs::read(reqout.join("req-002.der")).expect("read"),
        b"certConf"
    );
}

#[test]
fn replay_from_numbered_files_runs_out_at_the_first_missing_file() {
    let dir = TempDir::new("replay-numbered");
    std::fs::write(dir.path().join("rsp-001.der"), b"only one").expect("write");
    let mut replay = ReplayTransport::new(MessageFiles::numbered(dir.path(), "rsp-"));
    assert_eq!(replay.send(b"x").expect("first"), b"only one");
    let err = replay.send(b"y").unwrap_err();
    assert!(matches!(err, TransportError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("rsp-002.der"), "{err}");
}

#[test]
fn replay_of_an_unreadable_listed_file_is_io_naming_it() {
    let missing = PathBuf::from("/nonexistent/cmp-client/ip.der");
    let mut replay = ReplayTransport::new(MessageFiles::list([&missing]));
    let err = replay.send(b"x").unwrap_err();
    assert!(
        matches!(&err, TransportError::Io { target, .. } if *target == missing.display().to_string()),
        "{err:?}"
    );
    let mut nothing = ReplayTransport::new(MessageFiles::none());
    assert!(matches!(
        nothing.send(b"x").unwrap_err(),
        TransportError::Config { .. }
    ));
}
