//! OpenSSL's `openssl cmp -port` mock server, started per test, and a minimal HTTP POST
//! (RFC 6712) to reach it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running mock server, killed on drop.
pub struct MockServer {
    child: Child,
    pub port: u16,
}

impl MockServer {
    /// Starts `openssl cmp -port P` with `args`, waiting until it accepts.
    pub fn start(keys: &Path, args: &[&str]) -> Self {
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let mut child = Command::new("openssl")
                .args(["cmp", "-config", "", "-port", &port.to_string()])
                .args(args)
                .current_dir(keys)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed (see README)");
            // Its "ACCEPT" line is block-buffered on a pipe, so wait for the port to
            // accept instead (bounded: 5 s).
            for _ in 0..100 {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { child, port };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            child.kill().ok();
            child.wait().ok();
        }
        panic!("openssl cmp mock server did not start");
    }

    /// POSTs a DER PKIMessage to `/pkix/` and returns the response body.
    pub fn post(&self, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let head = format!(
            "POST /pkix/ HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
            request.len()
        );
        let mut buf = head.into_bytes();
        buf.extend_from_slice(request);
        stream.write_all(&buf).expect("send");
        // The mock server answers with keep-alive even to HTTP/1.0, so read exactly
        // Content-Length bytes rather than to the end of the stream.
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(
            status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"),
            "{status}"
        );
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; length.expect("Content-Length")];
        reader.read_exact(&mut body).expect("body");
        body
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
