//! `cmpv2 enroll`: a new certificate by ir, cr or p10cr, confirmed with certConf.
//!
//! Also holds what `update` shares with it: the new-key and template options, building
//! the CRMF request, and writing the certificate, chain, CA certificates and key.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cmp_client::transaction::{Enrolled, EnrollmentRequest};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::crmf::CertReqMsg;
use cmp_proto::der::asn1::Ia5String;
use cmp_proto::der::{Decode, DecodePem};
use cmp_proto::protection::{KeyType, SigningKey, verify_csr};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::SubjectAltName;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::x509_cert::time::Time;

use std::io::Write as _;

use cmp_client::output;
use cmp_proto::x509_cert::ext::pkix::BasicConstraints;
use zeroize::Zeroizing;

use crate::Failure;
use crate::client_options::{
    ArgParser, ClientOptions, PendingKey, cert_summary, certs_pem, check_output, client_failure,
    once, parse_dn, print_line, private_file, read_cert, read_file, read_key, write_output,
};
use crate::secret_source::SecretSource;

/// The enrollment message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Initialization request.
    Ir,
    /// Certification request.
    Cr,
    /// PKCS#10 request.
    P10cr,
}

/// The key to certify: an existing one, or one to generate.
#[derive(Debug, Default)]
pub struct NewKey {
    file: Option<PathBuf>,
    kind: Option<KeyType>,
}

impl NewKey {
    /// The key: read from `--newkey`, or generated (`--newkey-type`, default P-256).
    pub fn get(&self) -> Result<SigningKey, Failure> {
        match &self.file {
            Some(path) => read_key(path, "--newkey"),
            None => SigningKey::generate(self.kind.unwrap_or(KeyType::P256))
                .map_err(|e| Failure::input(format!("cannot generate the new key: {e}"))),
        }
    }

    /// Whether a key will be generated.
    pub fn generates(&self) -> bool {
        self.file.is_none()
    }
}

/// What to ask for in the certificate template.
#[derive(Debug, Default)]
pub struct Template {
    /// The subject.
    pub subject: Option<Name>,
    /// subjectAltName entries.
    pub sans: Vec<GeneralName>,
    /// Validity in days.
    pub days: Option<u32>,
}

/// Where the results go.
#[derive(Debug, Default)]
pub struct Outputs {
    /// The new certificate.
    pub certout: Option<PathBuf>,
    /// extraCerts except the new certificate.
    pub chainout: Option<PathBuf>,
    /// caPubs.
    pub cacertsout: Option<PathBuf>,
    /// The new private key.
    pub keyout: Option<PathBuf>,
    /// PKCS#12 keystore: key, certificate and chain.
    pub p12out: Option<PathBuf>,
    /// PKCS#12 truststore: every CA certificate.
    pub p12_truststore_out: Option<PathBuf>,
    /// The PKCS#12 password; generated (and written to FILE.pass) when absent.
    pub p12_password: Option<SecretSource>,
}

impl Outputs {
    /// Fails before anything is sent when an output directory does not exist.
    pub fn check(&self) -> Result<(), Failure> {
        check_output(self.certout.as_deref(), "--certout")?;
        check_output(self.chainout.as_deref(), "--chainout")?;
        check_output(self.cacertsout.as_deref(), "--cacertsout")?;
        check_output(self.keyout.as_deref(), "--keyout")?;
        check_output(self.p12out.as_deref(), "--p12out")?;
        check_output(self.p12_truststore_out.as_deref(), "--p12-truststore-out")?;
        if let Some(source) = &self.p12_password {
            load_password(source)?;
        }
        Ok(())
    }

    fn wants_p12(&self) -> bool {
        self.p12out.is_some() || self.p12_truststore_out.is_some()
    }
}

/// The PKCS#12 password from its source; it must be UTF-8.
fn load_password(source: &SecretSource) -> Result<Zeroizing<String>, Failure> {
    let secret = source
        .load()
        .map_err(|e| Failure::input(format!("--p12-password: {e}")))?;
    let text = std::str::from_utf8(secret.expose()).map_err(|_| {
        Failure::input(format!(
            "--p12-password: the password from {source} is not UTF-8"
        ))
    })?;
    if !text.is_ascii() {
        // Java 17's PBES2 refuses such passwords ("Password is not ASCII").
        eprintln!(
            "cmpv2: warning: --p12-password from {source} is not ASCII: OpenSSL opens the \
             PKCS#12 files, Java's keytool and KeyStore cannot"
        );
    }
    Ok(Zeroizing::new(text.to_owned()))
}

/// Writes `bytes` to `path` readable by its owner only, through a temporary file renamed
/// into place (an existing file is replaced).
fn write_private(path: &Path, option: &str, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::input(format!("{option} {}: cannot write: {e}", path.display()))
    };
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{option} {}: not a file name", path.display())))?;
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = private_file(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        std::fs::remove_file(&temp).ok();
    }
    result.map_err(fail)
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        cert.tbs_certificate().get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

/// The options `enroll` and `update` share besides the client options.
#[derive(Debug, Default)]
pub struct CertOptions {
    /// The key to certify.
    pub new_key: NewKey,
    /// The template.
    pub template: Template,
    /// The outputs.
    pub outputs: Outputs,
}

impl CertOptions {
    /// Takes option `name` if it is one of these; `false` if it is not.
    pub fn accept(&mut self, name: &str, p: &mut ArgParser) -> Result<bool, Failure> {
        match name {
            "--newkey" => once(&mut self.new_key.file, name, p.path(name)?)?,
            "--newkey-type" => {
                let text = p.string(name)?;
                once(&mut self.new_key.kind, name, parse_key_type(&text)?)?;
            }
            "--subject" => {
                let text = p.string(name)?;
                let dn = parse_dn(&text).map_err(|e| Failure::usage(format!("{name}: {e}")))?;
                once(&mut self.template.subject, name, dn)?;
            }
            "--san" => {
                let text = p.string(name)?;
                self.template.sans.push(parse_san(&text)?);
            }
            "--days" => {
                let days: u32 = p.number(name)?;
                if days == 0 {
                    return Err(Failure::usage("--days must be at least 1"));
                }
                once(&mut self.template.days, name, days)?;
            }
            "--certout" => once(&mut self.outputs.certout, name, p.path(name)?)?,
            "--chainout" => once(&mut self.outputs.chainout, name, p.path(name)?)?,
            "--cacertsout" => once(&mut self.outputs.cacertsout, name, p.path(name)?)?,
            "--keyout" => once(&mut self.outputs.keyout, name, p.path(name)?)?,
            "--p12out" => once(&mut self.outputs.p12out, name, p.path(name)?)?,
            "--p12-truststore-out" => {
                once(&mut self.outputs.p12_truststore_out, name, p.path(name)?)?;
            }
            "--p12-password" => {
                let text = p.string(name)?;
                let source = SecretSource::parse(&text)
                    .map_err(|e| Failure::usage(format!("{name}: {e}")))?;
                once(&mut self.outputs.p12_password, name, source)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the combinations that need each other.
    pub fn validate(&self) -> Result<(), Failure> {
        if self.new_key.file.is_some() && self.new_key.kind.is_some() {
            return Err(Failure::usage(
                "give --newkey FILE (an existing key) or --newkey-type TYPE (generate one), not both",
            ));
        }
        if self.outputs.certout.is_none() {
            return Err(Failure::usage(
                "missing --certout FILE for the new certificate",
            ));
        }
        if self.outputs.p12_password.is_some() && !self.outputs.wants_p12() {
            return Err(Failure::usage(
                "--p12-password is for --p12out or --p12-truststore-out",
            ));
        }
        if self.new_key.generates()
            && self.outputs.keyout.is_none()
            && self.outputs.p12out.is_none()
        {
            return Err(Failure::usage(
                "the new key is generated: give --keyout FILE or --p12out FILE to keep it (or --newkey FILE to use an existing key)",
            ));
        }
        Ok(())
    }
}

fn parse_key_type(text: &str) -> Result<KeyType, Failure> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "p256" | "p-256" | "ec" => KeyType::P256,
        "p384" | "p-384" => KeyType::P384,
        "rsa2048" | "rsa" => KeyType::Rsa(2048),
        "rsa3072" => KeyType::Rsa(3072),
        "rsa4096" => KeyType::Rsa(4096),
        "ed25519" => KeyType::Ed25519,
        _ => {
            return Err(Failure::usage(format!(
                "--newkey-type: {text:?} is not one of p256, p384, rsa2048, rsa3072, rsa4096, ed25519"
            )));
        }
    })
}

/// A subjectAltName: `DNS:`, `IP:`, `email:` or `URI:` prefixed, or guessed: a URI has
/// `://`, an IP address parses as one, an email address has `@`, anything else is a
/// DNS name.
pub fn parse_san(text: &str) -> Result<GeneralName, Failure> {
    let ia5 = |value: &str| {
        Ia5String::new(value)
            .map_err(|_| Failure::usage(format!("--san {text:?}: only ASCII is allowed")))
    };
    let (kind, value) = match text.split_once(':') {
        Some((prefix, value)) if prefix.eq_ignore_ascii_case("DNS") => ("dns", value),
        Some((prefix, value)) if prefix.eq_ignore_ascii_case("IP") => ("ip", value),
        Some((prefix, value)) if prefix.eq_ignore_ascii_case("email") => ("email", value),
        Some((prefix, value)) if prefix.eq_ignore_ascii_case("URI") => ("uri", value),
        _ if text.contains("://") => ("uri", text),
        _ if text.parse::<IpAddr>().is_ok() => ("ip", text),
        _ if text.contains('@') => ("email", text),
        _ => ("dns", text),
    };
    if value.is_empty() {
        return Err(Failure::usage(format!("--san {text:?}: empty value")));
    }
    Ok(match kind {
        "ip" => GeneralName::from(
            value
                .parse::<IpAddr>()
                .map_err(|_| Failure::usage(format!("--san {text:?}: not an IP address")))?,
        ),
        "email" => GeneralName::Rfc822Name(ia5(value)?),
        "uri" => GeneralName::UniformResourceIdentifier(ia5(value)?),
        _ => GeneralName::DnsName(ia5(value)?),
    })
}

/// A CRMF request for `key` with signature proof-of-possession.
///
/// `san` is the subjectAltName to ask for (critical when the subject is empty, RFC 5280
/// §4.2.1.6); `old` names the certificate being updated (kur).
pub fn cert_request(
    key: &SigningKey,
    subject: Name,
    san: Option<(bool, SubjectAltName)>,
    days: Option<u32>,
    old: Option<&Certificate>,
) -> Result<CertReqMsg, Failure> {
    let failed = |e: cmp_proto::Error| Failure::input(format!("cannot build the request: {e}"));
    let public = key.public_key_info().map_err(failed)?;
    let mut builder = CertRequestBuilder::new(public).subject(subject);
    if let Some((critical, san)) = san {
        builder = builder.extension(critical, &san).map_err(failed)?;
    }
    if let Some(days) = days {
        let too_far = || Failure::usage(format!("--days {days}: too far in the future"));
        let not_after = SystemTime::now()
            .checked_add(Duration::from_secs(u64::from(days) * 86_400))
            .ok_or_else(too_far)?;
        let not_after = Time::try_from(not_after).map_err(|_| too_far())?;
        builder = builder.validity(None, Some(not_after));
    }
    if let Some(old) = old {
        builder = builder.old_cert(old).map_err(failed)?;
    }
    builder.sign_pop(key).map_err(failed)
}

/// The subjectAltName extension from `--san` values, if any.
pub fn san_extension(sans: &[GeneralName], subject: &Name) -> Option<(bool, SubjectAltName)> {
    (!sans.is_empty()).then(|| (subject.is_empty(), SubjectAltName(sans.to_vec())))
}

/// Writes the outputs and prints the summary line.
pub fn finish(
    verb: &str,
    enrolled: &Enrolled,
    outputs: &Outputs,
    key: Option<(PendingKey, &Path)>,
    new_key: Option<&SigningKey>,
    trusted: &[Certificate],
) -> Result<(), Failure> {
    let cert = &enrolled.certificate;
    let mut written = Vec::new();
    if let Some((pending, path)) = key {
        pending.commit()?;
        written.push(format!("key → {}", path.display()));
    }
    if let Some(path) = &outputs.certout {
        let pem = certs_pem(std::slice::from_ref(cert))?;
        if let Err(failure) = write_output(path, "--certout", &pem) {
            // The CA has issued it and we confirmed it: do not lose it.
            print!("{pem}");
            return Err(Failure::input(format!(
                "{}; the certificate is printed on stdout",
                failure.message
            )));
        }
        written.push(format!("certificate → {}", path.display()));
    }
    if let Some(path) = &outputs.chainout {
        let chain = issued_chain(enrolled);
        write_output(path, "--chainout", &certs_pem(&chain)?)?;
        written.push(format!("chain ({}) → {}", chain.len(), path.display()));
    }
    if let Some(path) = &outputs.cacertsout {
        write_output(path, "--cacertsout", &certs_pem(&enrolled.ca_pubs)?)?;
        written.push(format!(
            "CA certificates ({}) → {}",
            enrolled.ca_pubs.len(),
            path.display()
        ));
    }
    if outputs.wants_p12() {
        written.extend(write_p12(enrolled, outputs, new_key, trusted)?);
    }
    if enrolled.granted_with_mods {
        eprintln!(
            "cmpv2: note: the CA granted the request with modifications: compare the certificate with what was asked"
        );
    }
    let confirmed = if enrolled.implicitly_confirmed {
        " (implicitly confirmed)"
    } else {
        ""
    };
    print_line(format_args!(
        "{verb} {}{confirmed}; {}",
        cert_summary(cert),
        written.join(", ")
    ))
}

/// The issued certificate's chain from the response's extraCerts and caPubs: its issuers
/// only, not whatever else the CA sent along.
fn issued_chain(enrolled: &Enrolled) -> Vec<Certificate> {
    let pool: Vec<Certificate> = enrolled
        .extra_certs
        .iter()
        .chain(&enrolled.ca_pubs)
        .cloned()
        .collect();
    output::issuer_chain(&enrolled.certificate, &pool)
}

/// Writes the PKCS#12 outputs (and the generated password); what was written.
fn write_p12(
    enrolled: &Enrolled,
    outputs: &Outputs,
    new_key: Option<&SigningKey>,
    trusted: &[Certificate],
) -> Result<Vec<String>, Failure> {
    let cert = &enrolled.certificate;
    let mut written = Vec::new();
    let password = match &outputs.p12_password {
        Some(source) => load_password(source)?,
        None => {
            let password = output::generate_password()
                .map_err(|e| Failure::input(format!("cannot generate a PKCS#12 password: {e}")))?;
            let first = outputs
                .p12out
                .as_ref()
                .or(outputs.p12_truststore_out.as_ref())
                .expect("called only with a PKCS#12 output");
            let mut pass_path = first.clone().into_os_string();
            pass_path.push(".pass");
            let pass_path = PathBuf::from(pass_path);
            let mut contents = Zeroizing::new(password.as_bytes().to_vec());
            contents.push(b'\n');
            write_private(&pass_path, "--p12-password", &contents)?;
            written.push(format!(
                "generated PKCS#12 password → {}",
                pass_path.display()
            ));
            password
        }
    };
    let p12_failure =
        |option: &str, e: output::OutputError| Failure::input(format!("{option}: {e}"));
    if let Some(path) = &outputs.p12out {
        let key = new_key.ok_or_else(|| Failure::usage("--p12out needs the new private key"))?;
        let chain = issued_chain(enrolled);
        let p12 = output::keystore_p12(key, cert, &chain, &password, &output::friendly_name(cert))
            .map_err(|e| p12_failure("--p12out", e))?;
        write_private(path, "--p12out", &p12)?;
        written.push(format!("PKCS#12 keystore → {}", path.display()));
    }
    if let Some(path) = &outputs.p12_truststore_out {
        let mut cas: Vec<Certificate> = enrolled.ca_pubs.clone();
        cas.extend(
            enrolled
                .extra_certs
                .iter()
                .filter(|c| *c != cert && is_ca(c))
                .cloned(),
        );
        cas.extend(trusted.iter().cloned());
        let mut unique: Vec<Certificate> = Vec::new();
        for ca in cas {
            if !unique.contains(&ca) {
                unique.push(ca);
            }
        }
        let p12 = output::truststore_p12(&unique, &password)
            .map_err(|e| p12_failure("--p12-truststore-out", e))?;
        write_private(path, "--p12-truststore-out", &p12)?;
        written.push(format!(
            "PKCS#12 truststore ({}) → {}",
            unique.len(),
            path.display()
        ));
    }
    Ok(written)
}

/// What `enroll` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    cmd: Cmd,
    cert: CertOptions,
    csr: Option<PathBuf>,
}

/// Parses the arguments of `enroll`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("enroll", args);
    let mut client = ClientOptions::default();
    let mut cert = CertOptions::default();
    let mut cmd = None;
    let mut csr = None;
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--cmd" => {
                let value = p.string(&name)?;
                let parsed = match value.as_str() {
                    "ir" => Cmd::Ir,
                    "cr" => Cmd::Cr,
                    "p10cr" => Cmd::P10cr,
                    "kur" => {
                        return Err(Failure::usage(
                            "--cmd kur: use 'cmpv2 update' for a key update",
                        ));
                    }
                    "rr" => return Err(Failure::usage("--cmd rr: use 'cmpv2 revoke'")),
                    _ => {
                        return Err(Failure::usage(format!(
                            "--cmd: {value:?} is not ir, cr or p10cr"
                        )));
                    }
                };
                once(&mut cmd, &name, parsed)?;
            }
            "--csr" => once(&mut csr, &name, p.path(&name)?)?,
            _ => {
                if !client.accept(&name, &mut p)? && !cert.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    let cmd = cmd.unwrap_or(Cmd::Ir);
    if cmd == Cmd::P10cr {
        if csr.is_none() {
            return Err(Failure::usage("--cmd p10cr needs --csr FILE"));
        }
        let t = &cert.template;
        if cert.new_key.file.is_some()
            || cert.new_key.kind.is_some()
            || t.subject.is_some()
            || !t.sans.is_empty()
            || t.days.is_some()
            || cert.outputs.keyout.is_some()
            || cert.outputs.p12out.is_some()
        {
            return Err(Failure::usage(
                "with --cmd p10cr the CSR carries key, subject and extensions: --newkey, --newkey-type, --keyout, --p12out, --subject, --san and --days do not apply",
            ));
        }
        if cert.outputs.certout.is_none() {
            return Err(Failure::usage(
                "missing --certout FILE for the new certificate",
            ));
        }
    } else if csr.is_some() {
        return Err(Failure::usage("--csr is for --cmd p10cr"));
    }
    client.validate(false)?;
    if cmd != Cmd::P10cr {
        cert.validate()?;
    }
    Ok(Some(Options {
        client,
        cmd,
        cert,
        csr,
    }))
}

/// Reads a PKCS#10 request (PEM or DER) and checks its signature.
fn read_csr(path: &Path) -> Result<CertReq, Failure> {
    let bytes = read_file(path, "--csr")?;
    let shown = path.display();
    let csr = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        CertReq::from_pem(&bytes)
    } else {
        CertReq::from_der(&bytes)
    }
    .map_err(|e| Failure::input(format!("--csr {shown}: not a PKCS#10 request: {e}")))?;
    verify_csr(&csr, &cmp_proto::Limits::default())
        .map_err(|e| Failure::input(format!("--csr {shown}: {e}")))?;
    Ok(csr)
}

/// The subject `request` asks a certificate for.
fn requester(request: &EnrollmentRequest) -> Option<&Name> {
    match request {
        EnrollmentRequest::Ir(m) | EnrollmentRequest::Cr(m) | EnrollmentRequest::Kur(m) => {
            m.cert_req.cert_template.subject.as_ref()
        }
        EnrollmentRequest::P10cr(csr) => Some(&csr.info.subject),
    }
}

/// Runs `enroll`.
pub fn run(options: Options) -> Result<(), Failure> {
    let Options {
        client,
        cmd,
        cert,
        csr,
    } = options;
    cert.outputs.check()?;
    let (request, key) = match (cmd, &csr) {
        (Cmd::P10cr, Some(path)) => (EnrollmentRequest::P10cr(read_csr(path)?), None),
        _ => {
            let subject = match (&cert.template.subject, &client.cert) {
                (Some(subject), _) => subject.clone(),
                (None, Some(path)) => read_cert(path, "--cert")?
                    .tbs_certificate()
                    .subject()
                    .clone(),
                (None, None) => {
                    return Err(Failure::usage(
                        "missing --subject DN (for example --subject /CN=device-1)",
                    ));
                }
            };
            let key = cert.new_key.get()?;
            let san = san_extension(&cert.template.sans, &subject);
            let msg = cert_request(&key, subject, san, cert.template.days, None)?;
            let request = if cmd == Cmd::Cr {
                EnrollmentRequest::Cr(msg)
            } else {
                EnrollmentRequest::Ir(msg)
            };
            (request, Some(key))
        }
    };
    let pending = match (&key, &cert.outputs.keyout) {
        (Some(key), Some(path)) => Some((PendingKey::write(key, path)?, path.as_path())),
        _ => None,
    };
    let trusted = if cert.outputs.p12_truststore_out.is_some() {
        client.trusted_certs()?
    } else {
        Vec::new()
    };
    let mut client = client.connect(None, requester(&request))?;
    let enrolled = client.enroll(request).map_err(|e| client_failure(&e))?;
    finish(
        "enrolled",
        &enrolled,
        &cert.outputs,
        pending,
        key.as_ref(),
        &trusted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, Failure> {
        parse(args.iter().map(OsString::from))
    }

    const MAC: [&str; 6] = ["--server", "ca", "--secret", "pass:x", "--ref", "1"];

    #[test]
    fn sans_are_recognised_by_shape_or_prefix() {
        assert!(matches!(
            parse_san("a.example").expect("dns"),
            GeneralName::DnsName(_)
        ));
        assert!(matches!(
            parse_san("10.0.0.1").expect("ip"),
            GeneralName::IpAddress(_)
        ));
        assert!(matches!(
            parse_san("::1").expect("ip6"),
            GeneralName::IpAddress(_)
        ));
        assert!(matches!(
            parse_san("a@b.example").expect("email"),
            GeneralName::Rfc822Name(_)
        ));
        assert!(matches!(
            parse_san("https://a.example/x").expect("uri"),
            GeneralName::UniformResourceIdentifier(_)
        ));
        assert!(matches!(
            parse_san("DNS:x").expect("dns"),
            GeneralName::DnsName(_)
        ));
        assert!(parse_san("IP:nope").is_err());
        assert!(parse_san("DNS:").is_err());
        assert!(parse_san("bücher.example").is_err());
    }

    #[test]
    fn enroll_options_are_checked_for_consistency() {
        let with = |extra: &[&str]| {
            let mut args = MAC.to_vec();
            args.extend_from_slice(extra);
            parse_args(&args)
        };
        assert!(with(&["--certout", "c", "--keyout", "k"]).is_ok());
        assert!(
            with(&["--certout", "c"]).is_err(),
            "generated key without --keyout"
        );
        assert!(with(&["--certout", "c", "--newkey", "k.pem"]).is_ok());
        assert!(with(&["--keyout", "k"]).is_err(), "no --certout");
        assert!(
            with(&["--certout", "c", "--p12out", "k.p12"]).is_ok(),
            "key kept in the p12"
        );
        assert!(
            with(&[
                "--certout",
                "c",
                "--newkey",
                "k",
                "--p12-password",
                "pass:x"
            ])
            .is_err(),
            "--p12-password without a PKCS#12 output"
        );
        assert!(
            with(&[
                "--certout",
                "c",
                "--newkey",
                "k",
                "--p12-password",
                "x",
                "--p12out",
                "p"
            ])
            .is_err(),
            "password source without prefix"
        );
        assert!(with(&["--certout", "c", "--newkey", "k", "--newkey-type", "p384"]).is_err());
        assert!(
            with(&["--cmd", "p10cr", "--certout", "c"]).is_err(),
            "p10cr without --csr"
        );
        assert!(with(&["--cmd", "p10cr", "--csr", "r", "--certout", "c"]).is_ok());
        assert!(
            with(&[
                "--cmd",
                "p10cr",
                "--csr",
                "r",
                "--certout",
                "c",
                "--subject",
                "/CN=x"
            ])
            .is_err()
        );
        assert!(with(&["--cmd", "kur", "--certout", "c", "--newkey", "k"]).is_err());
        assert!(with(&["--newkey-type", "dsa", "--certout", "c", "--keyout", "k"]).is_err());
        assert!(with(&["--days", "0", "--certout", "c", "--newkey", "k"]).is_err());
        assert!(with(&["--bogus"]).is_err());
        assert!(matches!(parse_args(&["--help"]), Ok(None)));
    }
}
