//! What `enroll`, `update`, `revoke` and `genm` share: the argument parser, the
//! connection, credential and trust options, turning them into a
//! [`cmp_client::ClientConfig`] and a transport, reading and writing PEM files, and
//! turning a [`cmp_client::Error`] into one line and an exit code.
//!
//! Option names follow `openssl cmp` (`-server` becomes `--server`, `-tls_trusted`
//! becomes `--tls-trusted`) where the meaning is the same.

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use cmp_client::checks::{ResponsePolicy, Trust};
use cmp_client::output;
use cmp_client::transport::{
    HttpTransport, MessageFiles, RecordingTransport, ReplayTransport, Transport, TransportError,
};
use cmp_client::{Client, ClientConfig, Error};
use cmp_proto::der::asn1::ObjectIdentifier;
use cmp_proto::der::{Decode, EncodePem, pem::LineEnding};
use cmp_proto::protection::{
    MacAlgorithm, PbmSettings, Pbmac1Settings, ProtectionKind, Protector, SigningKey,
};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{Limits, PkiBody, PkiFailureInfo, PkiStatus, ReceivedMessage};

use crate::secret_source::SecretSource;
use crate::{EXIT_INPUT, EXIT_REFUSED, EXIT_TRANSPORT, EXIT_USAGE, Failure};

// ---------------------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------------------

/// Walks `--name value`, `--name=value` and `--flag` arguments. None of the client
/// commands takes positional arguments.
pub struct ArgParser {
    command: &'static str,
    args: std::vec::IntoIter<OsString>,
    /// The `=value` part of the current option, until taken.
    inline: Option<OsString>,
}

impl ArgParser {
    /// A parser for the arguments of `command` (after the command name).
    pub fn new(command: &'static str, args: impl IntoIterator<Item = OsString>) -> Self {
        Self {
            command,
            args: args.into_iter().collect::<Vec<_>>().into_iter(),
            inline: None,
        }
    }

    /// The name of the next option (`--help` for `-h` too), `None` at the end.
    pub fn next_option(&mut self) -> Result<Option<String>, Failure> {
        if self.inline.take().is_some() {
            // The previous option was a flag that was not asked for its value: refused
            // by `flag`, so this cannot happen for a known option.
            return Err(Failure::usage("internal: an option value was not consumed"));
        }
        let Some(arg) = self.args.next() else {
            return Ok(None);
        };
        let text = arg.to_str().ok_or_else(|| {
            Failure::usage(format!(
                "{}: unexpected argument {:?}",
                self.command,
                arg.to_string_lossy()
            ))
        })?;
        if text == "-h" {
            return Ok(Some("--help".to_owned()));
        }
        let Some(body) = text.strip_prefix("--").filter(|b| !b.is_empty()) else {
            return Err(Failure::usage(format!(
                "{}: unexpected argument {text:?} (options start with --)",
                self.command
            )));
        };
        match body.split_once('=') {
            Some((name, value)) => {
                self.inline = Some(OsString::from(value));
                Ok(Some(format!("--{name}")))
            }
            None => Ok(Some(text.to_owned())),
        }
    }

    /// The unknown-option error for `name`.
    pub fn unknown(&self, name: &str) -> Failure {
        Failure::usage(format!("{}: unknown option {name:?}", self.command))
    }

    /// Checks that the flag `name` was given without `=value`.
    pub fn flag(&mut self, name: &str) -> Result<(), Failure> {
        match self.inline.take() {
            Some(_) => Err(Failure::usage(format!("{name} takes no value"))),
            None => Ok(()),
        }
    }

    /// The value of `name`, as given.
    pub fn value_os(&mut self, name: &str) -> Result<OsString, Failure> {
        if let Some(value) = self.inline.take() {
            return Ok(value);
        }
        let value = self
            .args
            .next()
            .ok_or_else(|| Failure::usage(format!("{name} needs a value")))?;
        if value.to_str().is_some_and(|v| v.starts_with("--")) {
            return Err(Failure::usage(format!(
                "{name} needs a value, not the option {:?} (write {name}=VALUE for a value that starts with --)",
                value.to_string_lossy()
            )));
        }
        Ok(value)
    }

    /// The value of `name` as UTF-8 text.
    pub fn string(&mut self, name: &str) -> Result<String, Failure> {
        self.value_os(name)?
            .into_string()
            .map_err(|_| Failure::usage(format!("{name}: the value is not UTF-8")))
    }

    /// The value of `name` as a path.
    pub fn path(&mut self, name: &str) -> Result<PathBuf, Failure> {
        Ok(PathBuf::from(self.value_os(name)?))
    }

    /// The value of `name` parsed as `T`.
    pub fn number<T: FromStr>(&mut self, name: &str) -> Result<T, Failure> {
        let text = self.string(name)?;
        text.trim()
            .parse()
            .map_err(|_| Failure::usage(format!("{name}: {text:?} is not a valid number")))
    }

    /// A positive number of seconds for `name`.
    pub fn seconds(&mut self, name: &str) -> Result<Duration, Failure> {
        match self.number::<u64>(name)? {
            0 => Err(Failure::usage(format!("{name} must be at least 1 second"))),
            secs => Ok(Duration::from_secs(secs)),
        }
    }
}

/// Stores `value` in `slot`, refusing a second occurrence of `name`.
pub fn once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Failure> {
    if slot.is_some() {
        return Err(Failure::usage(format!("{name} given twice")));
    }
    *slot = Some(value);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Distinguished names
// ---------------------------------------------------------------------------------------

/// Parses a distinguished name written the OpenSSL way (`/C=DE/O=Org/CN=name`, in
/// forward order, `+` joining the parts of a multi-valued RDN, `\` escaping the next
/// character) or as an RFC 4514 string (`CN=name,O=Org,C=DE`, most specific first;
/// spaces after `,` and `+` are allowed). An empty string or `/` is the empty DN.
pub fn parse_dn(text: &str) -> Result<Name, String> {
    let text = text.trim();
    if text.is_empty() || text == "/" {
        return Ok(Name::default());
    }
    let rfc4514 = if let Some(rest) = text.strip_prefix('/') {
        // Forward order: the last RDN written is the most specific, RFC 4514's first.
        let mut rdns = Vec::new();
        for rdn in split_unescaped(rest, '/') {
            if rdn.is_empty() {
                continue;
            }
            let mut avas = Vec::new();
            for ava in split_unescaped(rdn, '+') {
                let (attr, value) = split_ava(ava)?;
                avas.push(format!(
                    "{attr}={}",
                    escape_rfc4514(&unescape_openssl(value))
                ));
            }
            rdns.push(avas.join("+"));
        }
        rdns.reverse();
        rdns.join(",")
    } else {
        let mut rdns = Vec::new();
        for rdn in split_unescaped(text, ',') {
            let mut avas = Vec::new();
            for ava in split_unescaped(rdn, '+') {
                let (attr, value) = split_ava(ava.trim_start())?;
                avas.push(format!("{attr}={value}"));
            }
            rdns.push(avas.join("+"));
        }
        rdns.join(",")
    };
    Name::from_str(&rfc4514).map_err(|e| format!("not a distinguished name: {e}"))
}

/// Splits at every `sep` not escaped by a backslash.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `type=value`, with a known attribute type (`CN`, `O`, ... or a dotted OID).
fn split_ava(ava: &str) -> Result<(&str, &str), String> {
    let (attr, value) = ava
        .split_once('=')
        .ok_or_else(|| format!("{ava:?} is not TYPE=VALUE"))?;
    let attr = attr.trim();
    let known = const_oid::db::DB.by_name(attr).is_some() || ObjectIdentifier::new(attr).is_ok();
    if !known {
        return Err(format!(
            "unknown attribute type {attr:?} (use CN, O, OU, C, L, ST, DC, UID, serialNumber, ... or a dotted OID)"
        ));
    }
    Ok((attr, value))
}

/// Removes OpenSSL's backslash escapes.
fn unescape_openssl(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a value for an RFC 4514 string (§2.4).
fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reading inputs
// ---------------------------------------------------------------------------------------

/// Reads a file for option `option`.
pub fn read_file(path: &Path, option: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::input(format!("{option} {}: cannot read: {e}", path.display())))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The certificates of a PEM file (in order) or of a DER file (one).
pub fn read_certs(path: &Path, option: &str) -> Result<Vec<Certificate>, Failure> {
    let bytes = read_file(path, option)?;
    let shown = path.display();
    let certs = if is_pem(&bytes) {
        Certificate::load_pem_chain(&bytes)
            .map_err(|e| Failure::input(format!("{option} {shown}: malformed PEM: {e}")))?
    } else {
        vec![Certificate::from_der(&bytes).map_err(|e| {
            Failure::input(format!(
                "{option} {shown}: not a certificate (PEM or DER): {e}"
            ))
        })?]
    };
    if certs.is_empty() {
        return Err(Failure::input(format!(
            "{option} {shown}: no certificate found"
        )));
    }
    Ok(certs)
}

/// The first certificate of a file.
pub fn read_cert(path: &Path, option: &str) -> Result<Certificate, Failure> {
    let mut certs = read_certs(path, option)?;
    Ok(certs.remove(0))
}

/// A PEM private key (PKCS#8, SEC1 or PKCS#1).
pub fn read_key(path: &Path, option: &str) -> Result<SigningKey, Failure> {
    let bytes = zeroize::Zeroizing::new(read_file(path, option)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Failure::input(format!(
            "{option} {}: not a PEM private key",
            path.display()
        ))
    })?;
    SigningKey::from_pem(text)
        .map_err(|e| Failure::input(format!("{option} {}: {e}", path.display())))
}

// ---------------------------------------------------------------------------------------
// Writing outputs
// ---------------------------------------------------------------------------------------

/// Fails early when the directory of an output file does not exist, so that nothing is
/// sent to the CA that could not be saved.
pub fn check_output(path: Option<&Path>, option: &str) -> Result<(), Failure> {
    let Some(path) = path else { return Ok(()) };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "{option} {}: directory {} does not exist",
            path.display(),
            dir.display()
        )))
    }
}

/// Certificates as concatenated PEM.
pub fn certs_pem(certs: &[Certificate]) -> Result<String, Failure> {
    let mut out = String::new();
    for cert in certs {
        out.push_str(
            &cert
                .to_pem(LineEnding::LF)
                .map_err(|e| Failure::input(format!("cannot encode a certificate: {e}")))?,
        );
    }
    Ok(out)
}

/// Writes a (public) output file.
pub fn write_output(path: &Path, option: &str, contents: &str) -> Result<(), Failure> {
    std::fs::write(path, contents)
        .map_err(|e| Failure::input(format!("{option} {}: cannot write: {e}", path.display())))
}

/// A private key written to a temporary file (mode 0600) in the directory of its
/// destination before the request is sent, and renamed into place only on success:
/// an existing file is not replaced by a key whose certificate never came, and a key
/// that cannot be stored is found out before the CA issues a certificate for it. The
/// temporary file is removed if [`PendingKey::commit`] is not reached.
pub struct PendingKey {
    temp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl PendingKey {
    /// Writes `key` as PKCS#8 PEM next to `dest`.
    pub fn write(key: &SigningKey, dest: &Path) -> Result<Self, Failure> {
        let pem = key
            .to_pkcs8_pem()
            .map_err(|e| Failure::input(format!("cannot encode the new key: {e}")))?;
        let name = dest.file_name().ok_or_else(|| {
            Failure::usage(format!("--keyout {}: not a file name", dest.display()))
        })?;
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp{}", std::process::id()));
        let temp = dest.with_file_name(temp_name);
        let pending = Self {
            temp,
            dest: dest.to_owned(),
            committed: false,
        };
        let fail = |e: std::io::Error| {
            Failure::input(format!("--keyout {}: cannot write: {e}", dest.display()))
        };
        let mut file = private_file(&pending.temp).map_err(fail)?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        Ok(pending)
    }

    /// Moves the key into place. Should that fail, the key stays in the temporary file,
    /// which the error names.
    pub fn commit(mut self) -> Result<(), Failure> {
        self.committed = true;
        std::fs::rename(&self.temp, &self.dest).map_err(|e| {
            Failure::input(format!(
                "--keyout {}: cannot write: {e}; the key is in {}",
                self.dest.display(),
                self.temp.display()
            ))
        })
    }
}

impl Drop for PendingKey {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Creates a new file readable by its owner only.
/// Creates a new file readable by its owner only (mode 0600 on Unix).
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

// ---------------------------------------------------------------------------------------
// Describing certificates
// ---------------------------------------------------------------------------------------

/// A serial number as `0x` and hex digits.
pub fn serial_hex(cert: &Certificate) -> String {
    let bytes = cert.tbs_certificate().serial_number().as_bytes();
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    format!("0x{}", hex::encode_upper(bytes))
}

/// A Name for messages: an empty DN is spelled out.
pub fn dn_text(name: &Name) -> String {
    match name.to_string() {
        s if s.is_empty() => "(empty DN)".to_owned(),
        s => s,
    }
}

/// `SUBJECT serial 0x.. valid until ...`.
pub fn cert_summary(cert: &Certificate) -> String {
    let tbs = cert.tbs_certificate();
    format!(
        "{} serial {} valid until {}",
        dn_text(tbs.subject()),
        serial_hex(cert),
        tbs.validity().not_after
    )
}

// ---------------------------------------------------------------------------------------
// Connection, credentials and trust
// ---------------------------------------------------------------------------------------

/// The options shared by the client commands, as parsed.
#[derive(Debug, Default)]
pub struct ClientOptions {
    server: Option<String>,
    path: Option<String>,
    tls_trusted: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    proxy: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,

    reference: Option<String>,
    /// The shared secret's source (MAC protection).
    pub secret: Option<SecretSource>,
    mac_alg: Option<MacChoice>,
    mac_iterations: Option<u32>,
    /// Our certificate (signature protection).
    pub cert: Option<PathBuf>,
    /// Its private key.
    pub key: Option<PathBuf>,

    trusted: Option<PathBuf>,
    untrusted: Option<PathBuf>,
    out_trusted: Option<PathBuf>,
    recipient: Option<Name>,
    sender: Option<Name>,
    expect_sender: Option<Name>,
    implicit_confirm: bool,
    unprotected_errors: bool,
    ignore_keyusage: bool,
    tolerate_reversed_rdns: bool,
    strict_p10cr_id: bool,
    profile: Option<String>,
    max_check_after: Option<Duration>,
    poll_deadline: Option<Duration>,

    reqout: Option<String>,
    rspout: Option<String>,
    rspin: Option<String>,
}

impl ClientOptions {
    /// The certificates of --trusted (none when it is not given).
    pub fn trusted_certs(&self) -> Result<Vec<Certificate>, Failure> {
        match &self.trusted {
            Some(path) => read_certs(path, "--trusted"),
            None => Ok(Vec::new()),
        }
    }

    /// Takes option `name` if it is a shared one; `false` if it is not.
    pub fn accept(&mut self, name: &str, p: &mut ArgParser) -> Result<bool, Failure> {
        match name {
            "--server" => once(&mut self.server, name, p.string(name)?)?,
            "--path" => once(&mut self.path, name, p.string(name)?)?,
            "--tls-trusted" => once(&mut self.tls_trusted, name, p.path(name)?)?,
            "--tls-cert" => once(&mut self.tls_cert, name, p.path(name)?)?,
            "--tls-key" => once(&mut self.tls_key, name, p.path(name)?)?,
            "--proxy" => once(&mut self.proxy, name, p.string(name)?)?,
            "--timeout" => once(&mut self.timeout, name, p.seconds(name)?)?,
            "--connect-timeout" => once(&mut self.connect_timeout, name, p.seconds(name)?)?,
            "--ref" => once(&mut self.reference, name, p.string(name)?)?,
            "--secret" => {
                let spec = zeroize::Zeroizing::new(p.string(name)?);
                let source = SecretSource::parse(&spec)
                    .map_err(|e| Failure::usage(format!("--secret: {e}")))?;
                once(&mut self.secret, name, source)?;
            }
            "--pbmac1" => {
                p.flag(name)?;
                once(&mut self.mac_alg, name, MacChoice::Pbmac1)?;
            }
            "--mac-alg" => {
                let text = p.string(name)?;
                once(&mut self.mac_alg, name, MacChoice::parse(&text)?)?;
            }
            "--mac-iterations" => {
                let n: u32 = p.number(name)?;
                if !(MIN_MAC_ITERATIONS..=MAX_MAC_ITERATIONS).contains(&n) {
                    return Err(Failure::usage(format!(
                        "--mac-iterations {n}: give {MIN_MAC_ITERATIONS} to {MAX_MAC_ITERATIONS}"
                    )));
                }
                once(&mut self.mac_iterations, name, n)?;
            }
            "--cert" => once(&mut self.cert, name, p.path(name)?)?,
            "--key" => once(&mut self.key, name, p.path(name)?)?,
            "--trusted" => once(&mut self.trusted, name, p.path(name)?)?,
            "--untrusted" => once(&mut self.untrusted, name, p.path(name)?)?,
            "--out-trusted" => once(&mut self.out_trusted, name, p.path(name)?)?,
            "--recipient" | "--sender" | "--expect-sender" => {
                let text = p.string(name)?;
                let dn = parse_dn(&text).map_err(|e| Failure::usage(format!("{name}: {e}")))?;
                let slot = match name {
                    "--recipient" => &mut self.recipient,
                    "--sender" => &mut self.sender,
                    _ => &mut self.expect_sender,
                };
                once(slot, name, dn)?;
            }
            "--implicit-confirm"
            | "--unprotected-errors"
            | "--ignore-keyusage"
            | "--tolerate-reversed-rdns"
            | "--strict-p10cr-id" => {
                p.flag(name)?;
                *match name {
                    "--implicit-confirm" => &mut self.implicit_confirm,
                    "--unprotected-errors" => &mut self.unprotected_errors,
                    "--ignore-keyusage" => &mut self.ignore_keyusage,
                    "--strict-p10cr-id" => &mut self.strict_p10cr_id,
                    _ => &mut self.tolerate_reversed_rdns,
                } = true;
            }
            "--profile" => once(&mut self.profile, name, p.string(name)?)?,
            "--max-check-after" => {
                let secs = p.number::<u64>(name)?;
                once(&mut self.max_check_after, name, Duration::from_secs(secs))?;
            }
            "--poll-deadline" => once(&mut self.poll_deadline, name, p.seconds(name)?)?,
            "--reqout" => once(&mut self.reqout, name, p.string(name)?)?,
            "--rspout" => once(&mut self.rspout, name, p.string(name)?)?,
            "--rspin" => once(&mut self.rspin, name, p.string(name)?)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks what can be checked without reading files: a server or `--rspin`,
    /// credentials, and options that need each other.
    pub fn validate(&self, has_oldcert: bool) -> Result<(), Failure> {
        match (&self.server, &self.rspin) {
            (None, None) => {
                return Err(Failure::usage(
                    "missing --server HOST[:PORT] or URL (or --rspin FILES)",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Failure::usage(
                    "--rspin answers from files: give either --server or --rspin",
                ));
            }
            _ => {}
        }
        if self.server.is_some() {
            self.url()?;
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(Failure::usage("--tls-cert and --tls-key go together"));
        }
        if self.secret.is_none() {
            if self.reference.is_some() {
                return Err(Failure::usage("--ref names a shared secret: give --secret"));
            }
            if self.mac_alg.is_some() || self.mac_iterations.is_some() {
                return Err(Failure::usage(
                    "--mac-alg, --pbmac1 and --mac-iterations need --secret",
                ));
            }
            match (&self.cert, &self.key) {
                (Some(_), Some(_)) => {}
                (None, Some(_)) if has_oldcert => {}
                (None, Some(_)) => {
                    return Err(Failure::usage(
                        "--key needs --cert (its certificate) for signature protection",
                    ));
                }
                (Some(_), None) => return Err(Failure::usage("--cert needs --key")),
                (None, None) => {
                    return Err(Failure::usage(
                        "no credentials: give --secret SRC and --ref REF for MAC protection, or --cert FILE and --key FILE for signature protection",
                    ));
                }
            }
            if self.trusted.is_none() {
                return Err(Failure::usage(
                    "with signature credentials the CA's signed answers are checked against --trusted FILE: give it",
                ));
            }
        }
        Ok(())
    }

    /// The URL to post to: `--server` (host or URL) with `--path`.
    fn url(&self) -> Result<String, Failure> {
        let server = self
            .server
            .as_deref()
            .ok_or_else(|| Failure::usage("missing --server"))?
            .trim();
        let tls_options = self.tls_trusted.is_some() || self.tls_cert.is_some();
        let lower = server.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("http://") {
            ("http", &server[7..])
        } else if lower.starts_with("https://") {
            ("https", &server[8..])
        } else if server.contains("://") {
            return Err(Failure::usage(
                "--server: only http:// and https:// URLs are supported",
            ));
        } else if tls_options {
            ("https", server)
        } else {
            ("http", server)
        };
        if scheme == "http" && tls_options {
            return Err(Failure::usage(
                "--tls-trusted and --tls-cert need TLS: use --server https://...",
            ));
        }
        let (authority, server_path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(Failure::usage("--server: no host given"));
        }
        let path = match &self.path {
            Some(path) if path.starts_with('/') => path.clone(),
            Some(path) => format!("/{path}"),
            None if !server_path.is_empty() && !server_path.starts_with('?') => {
                server_path.to_owned()
            }
            None => format!("/{server_path}"),
        };
        Ok(format!("{scheme}://{authority}{path}"))
    }

    /// Reads the credentials and trust files and builds the client. `oldcert` is the
    /// certificate being updated or revoked: it is the default signer (with `--key`)
    /// and its issuer the default recipient.
    ///
    /// `requester` is the subject a certificate is asked for: with MAC protection it is
    /// the header's sender unless `--sender` or `--cert` say otherwise, as `openssl cmp`
    /// does, so that a CA binding the sender to the senderKID sees a name (RFC 9483
    /// §3.1 wants the sender to identify the requester).
    pub fn connect(
        &self,
        oldcert: Option<&Certificate>,
        requester: Option<&Name>,
    ) -> Result<Client<CliTransport>, Failure> {
        self.validate(oldcert.is_some())?;
        for (list, option) in [(&self.reqout, "--reqout"), (&self.rspout, "--rspout")] {
            let files = list
                .as_deref()
                .map_or_else(MessageFiles::none, MessageFiles::parse_list);
            for path in (0..).map_while(|i| files.path(i)) {
                check_output(Some(&path), option)?;
            }
        }
        let own_certs = match &self.cert {
            Some(path) => Some(read_certs(path, "--cert")?),
            None => None,
        };
        let own_issuer = own_certs
            .as_ref()
            .map(|certs| certs[0].tbs_certificate().issuer().clone());

        let mut sender = None;
        let protector = if let Some(source) = &self.secret {
            let secret = source
                .load()
                .map_err(|e| Failure::input(format!("--secret: {e}")))?;
            // --sender, else --cert's subject, else who the request is for, else the
            // certificate it is about; --sender "" gives the NULL-DN.
            sender = self
                .sender
                .clone()
                .or_else(|| Some(own_certs.as_ref()?[0].tbs_certificate().subject().clone()))
                .or_else(|| requester.cloned())
                .or_else(|| Some(oldcert?.tbs_certificate().subject().clone()))
                .map(GeneralName::DirectoryName);
            Protector::Mac {
                secret,
                reference: self.reference.as_ref().map(|r| r.as_bytes().to_vec()),
                algorithm: self
                    .mac_alg
                    .unwrap_or(MacChoice::Pbm)
                    .algorithm(self.mac_iterations),
            }
        } else {
            let key_path = self
                .key
                .as_deref()
                .ok_or_else(|| Failure::usage("missing --key"))?;
            let key = read_key(key_path, "--key")?;
            let (cert_option, certificate, chain) = match own_certs {
                Some(mut certs) => {
                    let first = certs.remove(0);
                    ("--cert", first, certs)
                }
                None => (
                    "--oldcert",
                    oldcert
                        .cloned()
                        .ok_or_else(|| Failure::usage("--key needs --cert"))?,
                    Vec::new(),
                ),
            };
            let public = key
                .public_key_info()
                .map_err(|e| Failure::input(format!("--key {}: {e}", key_path.display())))?;
            if &public != certificate.tbs_certificate().subject_public_key_info() {
                return Err(Failure::input(format!(
                    "--key {} is not the private key of the {cert_option} certificate ({})",
                    key_path.display(),
                    dn_text(certificate.tbs_certificate().subject())
                )));
            }
            // RFC 9483 §3.3: extraCerts carry the protection certificate and its chain,
            // from the --cert file, else completed from --untrusted; the trust anchor is
            // the CA's to hold.
            let chain = if chain.is_empty() {
                let untrusted = match &self.untrusted {
                    Some(path) => read_certs(path, "--untrusted")?,
                    None => Vec::new(),
                };
                output::issuer_chain(&certificate, &untrusted)
                    .into_iter()
                    .filter(|c| c.tbs_certificate().issuer() != c.tbs_certificate().subject())
                    .collect()
            } else {
                chain
            };
            Protector::Signature {
                key,
                certificate: Box::new(certificate),
                chain,
            }
        };

        let trust = Trust {
            secret: match &protector {
                Protector::Mac { secret, .. } => Some(secret.clone()),
                Protector::Signature { .. } => None,
            },
            anchors: match &self.trusted {
                Some(path) => read_certs(path, "--trusted")?,
                None => Vec::new(),
            },
            untrusted: match &self.untrusted {
                Some(path) => read_certs(path, "--untrusted")?,
                None => Vec::new(),
            },
        };

        // As openssl cmp: the issuer of --oldcert, else of --cert, else the NULL-DN.
        let recipient = match (&self.recipient, oldcert) {
            (Some(dn), _) => dn.clone(),
            (None, Some(old)) => old.tbs_certificate().issuer().clone(),
            (None, None) => own_issuer.unwrap_or_default(),
        };

        let mut config = ClientConfig::new(protector, trust);
        config.sender = sender;
        config.recipient = GeneralName::DirectoryName(recipient);
        config.policy = ResponsePolicy {
            allow_unprotected_errors: self.unprotected_errors,
            ignore_key_usage: self.ignore_keyusage,
            tolerate_reversed_rdns: self.tolerate_reversed_rdns,
            strict_p10cr_cert_req_id: self.strict_p10cr_id,
            expected_sender: self.expect_sender.clone(),
            limits: self.response_limits(),
        };
        config.issued_cert_anchors = match &self.out_trusted {
            Some(path) => Some(read_certs(path, "--out-trusted")?),
            None => None,
        };
        config.implicit_confirm = self.implicit_confirm;
        config.cert_profile = self.profile.clone();
        if let Some(max) = self.max_check_after {
            config.polling.max_check_after = max;
        }
        if let Some(deadline) = self.poll_deadline {
            config.polling.deadline = deadline;
        }

        Ok(Client::new(config, self.transport()?))
    }

    /// HTTP(S), or the `--rspin` files; recorded to `--reqout`/`--rspout` files.
    pub fn transport(&self) -> Result<CliTransport, Failure> {
        let base: Box<dyn Transport> = match &self.rspin {
            Some(files) => Box::new(ReplayTransport::new(MessageFiles::parse_list(files))),
            None => Box::new(self.http()?),
        };
        let inner: Box<dyn Transport> = if self.reqout.is_some() || self.rspout.is_some() {
            let files = |list: &Option<String>| {
                list.as_deref()
                    .map_or_else(MessageFiles::none, MessageFiles::parse_list)
            };
            Box::new(RecordingTransport::new(
                base,
                files(&self.reqout),
                files(&self.rspout),
            ))
        } else {
            base
        };
        Ok(CliTransport { inner })
    }

    fn http(&self) -> Result<HttpTransport, Failure> {
        // A CA that rate-limits (HTTP 429/503 with Retry-After, as Nokia NCM does) is
        // waited out twice, up to a minute each time, before the command gives up.
        let mut builder = HttpTransport::builder(self.url()?)
            .retry_when_busy(BUSY_RETRIES, Duration::from_secs(BUSY_MAX_WAIT_SECS));
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(path) = &self.tls_trusted {
            builder = builder
                .tls_roots_file(path)
                .map_err(|e| config_failure("--tls-trusted", e, EXIT_INPUT))?;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let cert_pem = read_file(cert, "--tls-cert")?;
            let key_pem = zeroize::Zeroizing::new(read_file(key, "--tls-key")?);
            builder = builder
                .client_identity_pem(&cert_pem, &key_pem)
                .map_err(|e| config_failure("--tls-cert/--tls-key", e, EXIT_INPUT))?;
        }
        if let Some(proxy) = &self.proxy {
            builder = builder
                .proxy(proxy)
                .map_err(|e| config_failure("--proxy", e, EXIT_USAGE))?;
        }
        builder
            .build()
            .map_err(|e| config_failure("--server", e, EXIT_USAGE))
    }
}

/// A transport setting that cannot be used, named by its option.
fn config_failure(option: &str, e: TransportError, code: u8) -> Failure {
    let reason = match e {
        TransportError::Config { reason } => reason,
        other => other.to_string(),
    };
    Failure::with_code(code, format!("{option}: {reason}"))
}

// ---------------------------------------------------------------------------------------
// Transport with progress
// ---------------------------------------------------------------------------------------

/// The transport the client commands use: HTTP(S) or replayed files, maybe recorded.
///
/// It also prints a progress line on stderr when the CA asks to wait (a `waiting`
/// status or a pollRep): `Client` polls on its own and does not report it. The
/// response is only peeked at for that line; the client checks it as usual.
pub struct CliTransport {
    inner: Box<dyn Transport>,
}

impl Transport for CliTransport {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.send(request)?;
        report_waiting(&response);
        Ok(response)
    }
}

/// Prints `cmpv2: waiting ...` when a response asks the client to wait.
fn report_waiting(response: &[u8]) {
    let Ok(received) = ReceivedMessage::decode(response, &Limits::default()) else {
        return;
    };
    match &received.message.body {
        PkiBody::PollRep(entries) => {
            if let Some(entry) = entries.first() {
                let reason = entry
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({})", r.joined()))
                    .unwrap_or_default();
                eprintln!(
                    "cmpv2: the CA is still working on the request{reason}; asking again in {} s",
                    entry.check_after.max(0)
                );
            }
        }
        body => {
            if body.cert_rep().is_some_and(|rep| {
                rep.response
                    .iter()
                    .any(|r| r.status.status == PkiStatus::Waiting)
            }) {
                eprintln!("cmpv2: the CA put the request on hold (waiting); polling");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// The PasswordBasedMac or PBMAC1 variant requests are protected with (`--mac-alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MacChoice {
    /// OWF SHA-256, HMAC-SHA256 (the default).
    Pbm,
    /// OWF SHA-256, HMAC-SHA1 (what openssl cmp sends).
    PbmHmacSha1,
    /// OWF SHA-1, HMAC-SHA1 (the oldest peers).
    PbmSha1,
    /// PBMAC1, PBKDF2-HMAC-SHA256 and HMAC-SHA256.
    Pbmac1,
}

/// The iteration counts `--mac-iterations` takes: from RFC 4211 §4.4's least to the
/// 262,144 that Go clients send.
const MIN_MAC_ITERATIONS: u32 = 100;
const MAX_MAC_ITERATIONS: u32 = 262_144;

impl MacChoice {
    fn parse(text: &str) -> Result<Self, Failure> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "pbm" => Self::Pbm,
            "pbm-hmac-sha1" => Self::PbmHmacSha1,
            "pbm-sha1" => Self::PbmSha1,
            "pbmac1" => Self::Pbmac1,
            _ => {
                return Err(Failure::usage(format!(
                    "--mac-alg {text}: one of pbm, pbm-hmac-sha1, pbm-sha1, pbmac1"
                )));
            }
        })
    }

    /// The algorithm, with `iterations` instead of its default count when given.
    fn algorithm(self, iterations: Option<u32>) -> MacAlgorithm {
        let pbm = |settings: PbmSettings| {
            MacAlgorithm::PasswordBasedMac(PbmSettings {
                iterations: iterations.unwrap_or(settings.iterations),
                ..settings
            })
        };
        match self {
            Self::Pbm => pbm(PbmSettings::default()),
            Self::PbmHmacSha1 => pbm(PbmSettings::hmac_sha1()),
            Self::PbmSha1 => pbm(PbmSettings::sha1()),
            Self::Pbmac1 => {
                let settings = Pbmac1Settings::default();
                MacAlgorithm::Pbmac1(Pbmac1Settings {
                    iterations: iterations.unwrap_or(settings.iterations),
                    ..settings
                })
            }
        }
    }
}

impl ClientOptions {
    /// The default bounds, raised to `--mac-iterations` when it asks for more: a CA
    /// answers with the MAC parameters of the request (RFC 4210 §5.1.3.1).
    fn response_limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(n) = self.mac_iterations {
            limits.max_pbm_iterations = limits.max_pbm_iterations.max(n);
            limits.max_pbkdf2_iterations = limits.max_pbkdf2_iterations.max(n);
            limits.max_pbkdf2_work = limits.max_pbkdf2_work.max(u64::from(n));
        }
        limits
    }
}

/// How often a busy CA's Retry-After is waited out, and the longest wait taken.
const BUSY_RETRIES: u32 = 2;
const BUSY_MAX_WAIT_SECS: u64 = 60;

/// One line and an exit code for a failed transaction: 1 when the CA refused, 2 when
/// its answer failed a check (or our input was unusable), 3 for the transport. Adds
/// what to do where that is clear.
pub fn client_failure(err: &Error) -> Failure {
    use cmp_client::transport::TransportError as T;
    let hint: Option<&str> = match err {
        Error::ProtectionInvalid(cmp_proto::Error::ProtectionInvalid { kind: "MAC" }) => {
            Some("check --secret and --ref")
        }
        Error::ProtectionInvalid(_) => {
            Some("the answer was altered, or it is not signed by the key of its signer certificate")
        }
        Error::ProtectionKindMismatch {
            got: ProtectionKind::Signature,
            ..
        } => Some("the CA signs its answers: give its trust anchor with --trusted"),
        Error::ProtectionKindMismatch {
            got: ProtectionKind::Mac,
            ..
        } => Some("the CA protects its answers with a MAC: give --secret and --ref"),
        Error::Unprotected { .. } => {
            Some("add --unprotected-errors if this CA sends its errors unprotected")
        }
        Error::NoSignerCertificate | Error::SignerUntrusted { .. } => {
            Some("check --trusted (and --untrusted for intermediate CA certificates)")
        }
        Error::SignerKeyUsage { .. } => Some("add --ignore-keyusage to accept it"),
        Error::SignerNameMismatch { .. } => {
            Some("add --tolerate-reversed-rdns if the CA writes the sender's RDNs in reverse order")
        }
        Error::SignerNotValidNow { .. } => Some("check the system clock"),
        Error::UnexpectedSender { .. } => Some("check --expect-sender"),
        Error::CertificateUntrusted { .. } => Some("check --out-trusted"),
        Error::CheckAfterOutOfRange { .. } => Some("raise --max-check-after to wait longer"),
        Error::PollingDeadline => Some("raise --poll-deadline to wait longer"),
        Error::Rejected { .. } | Error::ErrorMessage { .. } => err.refusal().and_then(|status| {
            ejbca_hint(status.text().as_deref()).or_else(|| refusal_hint(status.failure_info()))
        }),
        Error::Transport(t) => match t {
            T::Io { target, .. } if !target.starts_with("http") => {
                Some("check the --reqout, --rspout and --rspin files")
            }
            T::Io { .. } | T::Unreachable { .. } => Some("check --server (and --proxy)"),
            T::HttpStatus { status: 404, .. } => {
                Some("check --path (with EJBCA: the alias name in ejbca/publicweb/cmp/ALIAS)")
            }
            // EJBCA fails this way when it must sign an error for a recipient that is
            // not the CA's exact DN (docs/ejbca.md).
            T::HttpStatus { status: 500, .. } => Some(
                "the CA failed on our request; EJBCA does so when --recipient is not the \
                 CA's exact subject DN: set --recipient to it",
            ),
            T::HttpStatus {
                status: 429 | 503, ..
            } => Some("the CA is busy or rate-limits: try again later"),
            T::HttpStatus { .. } | T::ContentType { .. } => {
                Some("check --server and --path: is this the CA's CMP endpoint?")
            }
            T::Tls { .. } => Some("check --tls-trusted, --tls-cert and --tls-key"),
            T::Timeout { .. } => Some("raise --timeout or --connect-timeout"),
            _ => None,
        },
        _ => None,
    };
    let code = match err {
        Error::Rejected { .. } | Error::ErrorMessage { .. } => EXIT_REFUSED,
        Error::Transport(_) => EXIT_TRANSPORT,
        _ => EXIT_INPUT,
    };
    let message = match hint {
        Some(hint) => format!("{err}; {hint}"),
        None => err.to_string(),
    };
    Failure::with_code(code, one_line(&message))
}

/// What to change after EJBCA refused with `text`: its refusals that a failInfo alone
/// does not explain (seen on EJBCA CE 8.2, docs/ejbca.md).
fn ejbca_hint(text: Option<&str>) -> Option<&'static str> {
    let text = text?;
    if text.contains("same key as another user") {
        Some(
            "the CA holds this key for another subject: use a new key (--newkey-type, or another --newkey)",
        )
    } else if text.contains("status GENERATED (40)") {
        Some(
            "EJBCA's client mode enrolls an end entity once: set its status back to NEW in \
             EJBCA (or enroll through an RA-mode alias)",
        )
    } else if text.contains("Failed to verify message using") {
        // EJBCA names a wrong secret badRequest, not badMessageCheck.
        Some("check --secret and --ref")
    } else if text.contains("EndEntityCertificate authentication module") {
        Some("this alias takes no key update: use an alias with the EndEntityCertificate module")
    } else {
        None
    }
}

/// What to check after the CA refused with `info`.
fn refusal_hint(info: PkiFailureInfo) -> Option<&'static str> {
    if info.contains(PkiFailureInfo::BAD_MESSAGE_CHECK)
        || info.contains(PkiFailureInfo::WRONG_INTEGRITY)
    {
        Some("the CA could not verify our request: check --secret and --ref, or --cert and --key")
    } else if info.contains(PkiFailureInfo::SIGNER_NOT_TRUSTED) {
        Some("the CA does not trust --cert")
    } else if info.contains(PkiFailureInfo::NOT_AUTHORIZED) {
        Some("the CA does not allow these credentials to make this request")
    } else if info.contains(PkiFailureInfo::BAD_CERT_TEMPLATE) {
        Some("check --subject, --san, --days and --profile")
    } else {
        None
    }
}

/// Collapses line breaks so that an error stays one line.
pub fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a line on stdout; a closed pipe is not an error.
pub fn print_line(line: impl Display) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::input(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_proto::der::DecodePem;

    fn dn(text: &str) -> String {
        parse_dn(text).expect(text).to_string()
    }

    #[test]
    fn openssl_and_rfc4514_names_are_the_same_name() {
        assert_eq!(dn("/CN=CA"), "CN=CA");
        assert_eq!(dn("CN=CA"), "CN=CA");
        assert_eq!(dn("/C=DE/O=Org/CN=name"), "CN=name,O=Org,C=DE");
        assert_eq!(
            parse_dn("/C=DE/O=Org/CN=name").expect("openssl"),
            parse_dn("CN=name, O=Org, C=DE").expect("rfc4514")
        );
        assert_eq!(dn("/O=a\\/b/CN=x\\,y"), "CN=x\\,y,O=a/b");
        assert_eq!(
            dn("/CN=a+UID=b"),
            parse_dn("CN=a+UID=b").expect("mv").to_string()
        );
        assert!(parse_dn("").expect("empty").is_empty());
        assert!(parse_dn("/").expect("empty").is_empty());
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(parse_dn("/CN").is_err());
        assert!(parse_dn("/XYZZY=1").is_err());
        assert!(parse_dn("justtext").is_err());
    }

    fn options(args: &[&str]) -> ClientOptions {
        let mut p = ArgParser::new("test", args.iter().map(OsString::from));
        let mut o = ClientOptions::default();
        while let Some(name) = p.next_option().expect("parses") {
            assert!(o.accept(&name, &mut p).expect("accepted"), "{name}");
        }
        o
    }

    #[test]
    fn server_and_path_make_the_url() {
        let url = |args: &[&str]| options(args).url().expect("url");
        assert_eq!(url(&["--server", "ca:8080"]), "http://ca:8080/");
        assert_eq!(
            url(&["--server", "ca:8080", "--path", "pkix/"]),
            "http://ca:8080/pkix/"
        );
        assert_eq!(url(&["--server", "https://ca/a/b"]), "https://ca/a/b");
        assert_eq!(url(&["--server=http://ca/a", "--path=/x"]), "http://ca/x");
        assert_eq!(
            url(&["--server", "ca", "--tls-trusted", "r.pem"]),
            "https://ca/"
        );
        let err = options(&["--server", "http://ca", "--tls-trusted", "r.pem"])
            .url()
            .expect_err("TLS options on http");
        assert_eq!(err.code, EXIT_USAGE);
        assert!(options(&["--server", "ftp://ca"]).url().is_err());
    }

    #[test]
    fn credentials_are_required_and_checked_for_consistency() {
        let check = |args: &[&str]| options(args).validate(false);
        assert!(check(&["--server", "ca", "--secret", "pass:x", "--ref", "1"]).is_ok());
        assert!(check(&["--server", "ca"]).is_err());
        assert!(check(&["--server", "ca", "--cert", "c", "--key", "k"]).is_err());
        assert!(
            check(&[
                "--server",
                "ca",
                "--cert",
                "c",
                "--key",
                "k",
                "--trusted",
                "t"
            ])
            .is_ok()
        );
        assert!(check(&["--server", "ca", "--key", "k", "--trusted", "t"]).is_err());
        assert!(
            options(&["--server", "ca", "--key", "k", "--trusted", "t"])
                .validate(true)
                .is_ok()
        );
        assert!(check(&["--secret", "pass:x"]).is_err());
        assert!(check(&["--server", "ca", "--rspin", "a", "--secret", "pass:x"]).is_err());
        assert!(check(&["--rspin", "a", "--secret", "pass:x"]).is_ok());
        assert!(check(&["--server", "ca", "--ref", "1", "--cert", "c", "--key", "k"]).is_err());
    }

    #[test]
    fn parser_refuses_missing_values_and_valued_flags() {
        let mut p = ArgParser::new("t", ["--cert", "--key"].map(OsString::from));
        let name = p.next_option().expect("option").expect("some");
        assert!(p.path(&name).is_err());
        let mut p = ArgParser::new("t", ["--pbmac1=yes"].map(OsString::from));
        let name = p.next_option().expect("option").expect("some");
        assert!(p.flag(&name).is_err());
        let mut p = ArgParser::new("t", ["stray"].map(OsString::from));
        assert!(p.next_option().is_err());
        let mut p = ArgParser::new(
            "t",
            ["--secret", "pass:a", "--secret", "pass:b"].map(OsString::from),
        );
        let mut o = ClientOptions::default();
        let name = p.next_option().expect("ok").expect("some");
        o.accept(&name, &mut p).expect("first");
        let name = p.next_option().expect("ok").expect("some");
        let err = o.accept(&name, &mut p).expect_err("twice");
        assert!(!err.message.contains("pass:"));
    }

    #[test]
    fn serial_numbers_print_as_hex() {
        let cert = Certificate::from_pem(
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../crates/cmp-proto/tests/fixtures/keys/ee.pem"),
            )
            .expect("fixture"),
        )
        .expect("cert");
        assert!(serial_hex(&cert).starts_with("0x"));
        assert!(cert_summary(&cert).starts_with("CN=CMP End Entity serial 0x"));
    }
}
