//! The HTTP transfer (RFC 6712) of `cmp_server::http`: paths, methods, content type and
//! size bounds, answered before the responder sees anything; and a real exchange.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use cmp_proto::builder::{CertRequestBuilder, HeaderBuilder};
use cmp_proto::der::Encode;
use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::{Limits, PkiBody, ReceivedMessage};
use cmp_server::http::{HttpOptions, bind, is_cmp_path, serve};
use cmp_server::{Responder, TestCa, TestCaConfig};

/// A server on a free port, on its own runtime thread.
fn start() -> SocketAddr {
    let ca = TestCa::new(TestCaConfig::default()).expect("CA");
    let mut config = ca.responder_config();
    config.credentials = config
        .credentials
        .with_mac(b"ref".to_vec(), SharedSecret::from("secret"));
    let responder = Arc::new(Responder::new(config, ca));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (listener, addr) = runtime
        .block_on(bind(([127, 0, 0, 1], 0).into()))
        .expect("bind");
    std::thread::spawn(move || {
        let _ = runtime.block_on(serve(
            listener,
            responder,
            HttpOptions {
                max_body: Some(4096),
                ..HttpOptions::default()
            },
            std::future::pending(),
        ));
    });
    addr
}

/// Sends one raw HTTP/1.1 request and returns the status code and body.
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body).expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let status_line = String::from_utf8_lossy(&response[..split]);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, response[split + 4..].to_vec())
}

fn ir() -> Vec<u8> {
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let req = CertRequestBuilder::new(key.public_key_info().expect("spki"))
        .subject("CN=http.example".parse().expect("dn"))
        .sign_pop(&key)
        .expect("pop");
    let protector = Protector::Mac {
        secret: SharedSecret::from("secret"),
        reference: Some(b"ref".to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let name = GeneralName::DirectoryName("CN=http.example".parse().expect("dn"));
    HeaderBuilder::new(name.clone(), name)
        .expect("header")
        .implicit_confirm()
        .build(PkiBody::Ir(vec![req]), Some(&protector))
        .expect("build")
        .to_der()
        .expect("der")
}

#[test]
fn answers_cmp_on_every_documented_path() {
    let addr = start();
    for path in [
        "/",
        "/pkix/",
        "/.well-known/cmp",
        "/.well-known/cmp/initialization",
        "/.well-known/cmp/p/profile-1/initialization",
        "/ejbca/publicweb/cmp/alias",
    ] {
        let (status, body) = exchange(addr, "POST", path, "application/pkixcmp", &ir());
        assert_eq!(status, 200, "{path}");
        let answer = ReceivedMessage::decode(&body, &Limits::default()).expect("a PKIMessage");
        assert!(matches!(answer.message.body, PkiBody::Ip(_)), "{path}");
    }
}

#[test]
fn refuses_what_is_not_a_cmp_request() {
    let addr = start();
    let cases = [
        ("POST", "/elsewhere", "application/pkixcmp", 404),
        (
            "POST",
            "/.well-known/cmp/unknown-operation",
            "application/pkixcmp",
            404,
        ),
        ("POST", "/ejbca/publicweb/cmp/", "application/pkixcmp", 404),
        ("GET", "/pkix/", "application/pkixcmp", 405),
        ("POST", "/pkix/", "text/plain", 415),
    ];
    for (method, path, content_type, expected) in cases {
        let (status, _) = exchange(addr, method, path, content_type, &ir());
        assert_eq!(status, expected, "{method} {path} {content_type}");
    }
    let (status, _) = exchange(addr, "POST", "/pkix/", "application/pkixcmp", &[0u8; 5000]);
    assert_eq!(status, 413, "body over max_body");
}

#[test]
fn a_request_that_is_not_a_pkimessage_gets_a_cmp_error() {
    let addr = start();
    let (status, body) = exchange(addr, "POST", "/pkix/", "application/pkixcmp", b"not DER");
    assert_eq!(status, 200);
    let answer = ReceivedMessage::decode(&body, &Limits::default()).expect("a PKIMessage");
    let PkiBody::Error(content) = &answer.message.body else {
        panic!("expected an error message");
    };
    assert!(
        content
            .pki_status_info
            .failure_info()
            .contains(cmp_proto::PkiFailureInfo::BAD_DATA_FORMAT)
    );
}

#[test]
fn path_matching_is_exact() {
    assert!(is_cmp_path("/.well-known/cmp/p/a.b-c_d/getcacerts"));
    assert!(!is_cmp_path("/.well-known/cmp/p//initialization"));
    assert!(!is_cmp_path("/.well-known/cmp/p/x"));
    assert!(!is_cmp_path("/.well-known/cmpx"));
    assert!(!is_cmp_path("/ejbca/publicweb/cmp/a/b"));
    assert!(!is_cmp_path("/ejbca/publicweb/cmp/../x"));
}
