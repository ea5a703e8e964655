//! What the EJBCA suites share (`tests/ejbca.rs`, `tests/ejbca_probe.rs`): where EJBCA and
//! the kit of `../shared/ejbca` are, a health check that fails the test with what to do,
//! names no earlier run used, and temporary folders.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The DN every answer names as sender, and the recipient EJBCA wants.
pub const CA_DN: &str = "CN=ManagementCA,O=EJBCA Sample,C=SE";

/// `EJBCA_CMP_URL`, default `http://127.0.0.1:8080/ejbca/publicweb/cmp`.
pub fn base_url() -> String {
    std::env::var("EJBCA_CMP_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/ejbca/publicweb/cmp".to_owned())
}

pub fn alias_url(alias: &str) -> String {
    format!("{}/{alias}", base_url())
}

/// `host:port` of EJBCA.
pub fn authority() -> String {
    let url = base_url();
    url.strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("EJBCA_CMP_URL {url} is not an http:// URL"))
        .to_owned()
}

/// `EJBCA_KIT`, default `../shared/ejbca` beside the clone.
pub fn kit() -> PathBuf {
    std::env::var_os("EJBCA_KIT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ejbca"),
        PathBuf::from,
    )
}

pub fn kit_file(name: &str) -> String {
    let path = kit().join(name);
    assert!(
        path.exists(),
        "{} is missing: set EJBCA_KIT",
        path.display()
    );
    path.display().to_string()
}

/// Fails the test, with what to do, when EJBCA does not answer its health check: the
/// suites fail without EJBCA, they never skip.
pub fn ejbca_is_up() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = UP.get_or_init(|| {
        let authority = authority();
        let health = health_check(&authority)
            .map_err(|e| format!("EJBCA is not reachable at {authority}: {e}"))?;
        if health.ends_with("ALLOK") {
            Ok(())
        } else {
            Err(format!("EJBCA at {authority} is not healthy: {health:?}"))
        }
    });
    if let Err(why) = up {
        panic!("{why}. Start it with e2e/ejbca.sh start (or the kit's start.sh).");
    }
}

fn health_check(authority: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /ejbca/publicweb/healthcheck/ejbcahealth HTTP/1.0\r\nHost: {authority}\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.trim_end().to_owned())
}

/// A name no earlier run used: EJBCA keeps every end entity.
pub fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("cmpv2-{what}-{}-{nanos}", std::process::id())
}

/// A folder of one test's files, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(what));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
