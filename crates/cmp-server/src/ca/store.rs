//! The test CA's state in a directory: keys and certificates as PEM, and append-only
//! logs of issued and revoked serial numbers, so a restart keeps its CRL, and of the
//! certification requests decided, so a test can count enrollments.
//!
//! ```text
//! root.pem root.key issuing.pem issuing.key server.pem server.key   (keys mode 0600)
//! ca.pem        issuing CA, root, and the CMP server's protection certificate
//! issued.log    <serial hex> <notAfter, Unix seconds>
//! revoked.log   <serial hex> <revocation time, Unix seconds> <CRLReason or ->
//! requests.log  <Unix seconds> <ir|cr|kur|p10cr> <transactionID hex> <granted|waiting|rejected>
//! ```
//!
//! requests.log has one line per enrollment transaction, written at its first decision
//! (pollReqs that follow a "waiting" add none); it is an audit trail, never read back.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cmp_proto::protection::SigningKey;
use der::EncodePem;
use der::pem::LineEnding;
use x509_cert::Certificate;

use super::{Registry, TestCaError};

/// A key and its certificate.
pub(crate) struct Identity {
    pub key: SigningKey,
    pub cert: Certificate,
}

/// The three identities of the test CA.
pub(crate) struct Identities {
    pub root: Identity,
    pub issuing: Identity,
    pub server: Identity,
}

const NAMES: [&str; 3] = ["root", "issuing", "server"];

/// The open logs of a CA kept in a directory.
pub(crate) struct Store {
    dir: PathBuf,
    issued: Mutex<File>,
    revoked: Mutex<File>,
    requests: Mutex<File>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TestCaError + '_ {
    move |source| TestCaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, line: usize, reason: impl Into<String>) -> TestCaError {
    TestCaError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

fn append(path: &Path) -> Result<File, TestCaError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))
}

/// Writes a private key as a new file readable by its owner only, then renames it over
/// `path`: an existing file keeps neither its mode (0644 stays 0644 when opened for
/// writing) nor, if it is a symlink, redirects the key elsewhere (the rename replaces
/// the link itself). `create_new` refuses to follow a symlink planted at the
/// temporary name (issue 16, finding 8).
fn write_private(path: &Path, data: &[u8]) -> Result<(), TestCaError> {
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(path.file_name().unwrap_or_default());
    temp_name.push(format!(".new{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temp)
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(io(path))
}

/// Creates `dir` (and its parents) when missing; a new CA directory is its owner's only.
fn create_private_dir(dir: &Path) -> Result<(), TestCaError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(dir))
}

impl Store {
    /// Loads the identities kept in `dir`, or `None` when it holds none yet.
    pub fn load(dir: &Path) -> Result<Option<Identities>, TestCaError> {
        if !dir.join("root.pem").exists() {
            return Ok(None);
        }
        let read = |name: &str| -> Result<Identity, TestCaError> {
            let cert_path = dir.join(format!("{name}.pem"));
            let key_path = dir.join(format!("{name}.key"));
            let pem = std::fs::read(&cert_path).map_err(io(&cert_path))?;
            let cert = Certificate::load_pem_chain(&pem)
                .ok()
                .and_then(|c| c.into_iter().next())
                .ok_or_else(|| corrupt(&cert_path, 1, "not a PEM certificate"))?;
            let key_pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let key =
                SigningKey::from_pem(&key_pem).map_err(|e| corrupt(&key_path, 1, e.to_string()))?;
            if key.public_key_info().ok().as_ref()
                != Some(cert.tbs_certificate().subject_public_key_info())
            {
                return Err(corrupt(&key_path, 1, format!("not the key of {name}.pem")));
            }
            Ok(Identity { key, cert })
        };
        let [root, issuing, server] = NAMES;
        Ok(Some(Identities {
            root: read(root)?,
            issuing: read(issuing)?,
            server: read(server)?,
        }))
    }

    /// Writes new identities and `ca.pem` to `dir`.
    pub fn save(dir: &Path, ids: &Identities) -> Result<(), TestCaError> {
        create_private_dir(dir)?;
        for (name, id) in NAMES.iter().zip([&ids.root, &ids.issuing, &ids.server]) {
            let cert_path = dir.join(format!("{name}.pem"));
            let pem = id
                .cert
                .to_pem(LineEnding::LF)
                .map_err(|source| TestCaError::Encode {
                    what: "certificate",
                    source,
                })?;
            std::fs::write(&cert_path, pem).map_err(io(&cert_path))?;
            let key = id.key.to_pkcs8_pem().map_err(TestCaError::Key)?;
            write_private(&dir.join(format!("{name}.key")), key.as_bytes())?;
        }
        let ca_pem = super::pem_of(&[&ids.issuing.cert, &ids.root.cert, &ids.server.cert])?;
        let path = dir.join("ca.pem");
        std::fs::write(&path, ca_pem).map_err(io(&path))
    }

    /// Opens the logs in `dir`, replaying them into `registry`.
    pub fn open(dir: &Path, registry: &mut Registry) -> Result<Self, TestCaError> {
        let issued_path = dir.join("issued.log");
        let revoked_path = dir.join("revoked.log");
        for (path, revoked) in [(&issued_path, false), (&revoked_path, true)] {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(io(path)(e)),
            };
            for (i, line) in text.lines().enumerate() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let parse = || -> Option<(u128, i64, Option<u8>)> {
                    let serial = u128::from_str_radix(fields.first()?, 16).ok()?;
                    let time = fields.get(1)?.parse().ok()?;
                    let reason = match fields.get(2) {
                        Some(&"-") | None => None,
                        Some(r) => Some(r.parse().ok()?),
                    };
                    Some((serial, time, reason))
                };
                let (serial, time, reason) =
                    parse().ok_or_else(|| corrupt(path, i + 1, format!("bad line {line:?}")))?;
                if revoked {
                    registry.revoked.insert(serial, (time, reason));
                } else {
                    registry.issued_count += 1;
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            issued: Mutex::new(append(&issued_path)?),
            revoked: Mutex::new(append(&revoked_path)?),
            requests: Mutex::new(append(&dir.join("requests.log"))?),
        })
    }

    fn log(&self, file: &Mutex<File>, name: &str, line: String) -> Result<(), TestCaError> {
        let path = self.dir.join(name);
        let mut file = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(line.as_bytes()).map_err(io(&path))
    }

    /// Records an issued serial.
    pub fn issued(&self, serial: u128, not_after: i64) -> Result<(), TestCaError> {
        self.log(
            &self.issued,
            "issued.log",
            format!("{serial:032x} {not_after}\n"),
        )
    }

    /// Records the first decision on an enrollment transaction.
    pub fn requested(
        &self,
        at: i64,
        kind: &str,
        transaction_id: &[u8],
        outcome: &str,
    ) -> Result<(), TestCaError> {
        use std::fmt::Write as _;
        let mut line = format!("{at} {kind} ");
        for byte in transaction_id {
            let _ = write!(line, "{byte:02x}");
        }
        let _ = writeln!(line, " {outcome}");
        self.log(&self.requests, "requests.log", line)
    }

    /// Records a revocation.
    pub fn revoked(&self, serial: u128, at: i64, reason: Option<u8>) -> Result<(), TestCaError> {
        let reason = reason.map_or_else(|| "-".to_owned(), |r| r.to_string());
        self.log(
            &self.revoked,
            "revoked.log",
            format!("{serial:032x} {at} {reason}\n"),
        )
    }
}
