//! The test CA: a root, an issuing CA and a CMP server certificate; a simple issuance
//! policy; serial numbers that prove themselves; revocations; a real CRL; state in memory or in a directory.
//!
//! It really signs what it is asked to, so it serves as the embedded default of the
//! project (examples, tests, benchmarks, the issuer's end-to-end runs). It is not a
//! production CA: its keys sit unencrypted in its directory.

mod certificate;
mod info;
mod policy;
mod serial;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use cmp_proto::protection::{KeyType, Protector, SigningKey};
use cmp_proto::{InfoTypeAndValue, PkiFailureInfo};
use der::EncodePem;
use der::pem::LineEnding;
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{CrlNumber, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::authority::{
    CertificateAuthority, CertificationRequest, Decision, Refusal, RequestKind, RevocationRequest,
};
use crate::requester::Requester;
use certificate::{
    BACKDATE, CertificateSpec, ca_extensions, extension, key_identifiers, sign_certificate,
    sign_crl, time,
};
pub use policy::AllowedKey;
use store::{Identities, Identity, Store};

/// How long a CRL is valid (its nextUpdate).
const CRL_VALIDITY: Duration = Duration::from_secs(86_400);

/// How the test CA is set up.
#[derive(Clone, Debug)]
pub struct TestCaConfig {
    /// Key type of the root, issuing CA and CMP server keys. Default P-256.
    pub key_type: KeyType,
    /// Common name prefix of the CA's certificates. Default "cmpv2 Test".
    pub name: String,
    /// Longest validity granted; longer requests are shortened (grantedWithMods).
    /// Default 365 days.
    pub max_validity: Duration,
    /// Validity when the request names none. Default 90 days.
    pub default_validity: Duration,
    /// Key types a request may certify. Default P-256, P-384, RSA ≥ 2,048 bits, Ed25519.
    pub allowed_keys: Vec<AllowedKey>,
    /// Answer "waiting" this many times before deciding (to exercise polling).
    pub poll_count: u32,
    /// The checkAfter of those answers. Default 1 s.
    pub check_after: Duration,
    /// Keep keys, certificates and the issued, revoked and requests logs here (created if
    /// needed; see the store module for their formats).
    pub directory: Option<PathBuf>,
    /// Issue certificates with the id-kp-cmcCA or id-kp-cmcRA extended key usage, which
    /// clients take as a CMP authority's (RFC 9483 §3.3). Default off: a requester must
    /// not get a certificate that can sign answers in the CA's place (issue 16,
    /// finding 4). The CA's own names are never issued.
    pub issue_cmp_authority_certificates: bool,
}

impl Default for TestCaConfig {
    fn default() -> Self {
        Self {
            key_type: KeyType::P256,
            name: "cmpv2 Test".into(),
            max_validity: Duration::from_secs(365 * 86_400),
            default_validity: Duration::from_secs(90 * 86_400),
            allowed_keys: vec![
                AllowedKey::P256,
                AllowedKey::P384,
                AllowedKey::Rsa { min_bits: 2048 },
                AllowedKey::Ed25519,
            ],
            issue_cmp_authority_certificates: false,
            poll_count: 0,
            check_after: Duration::from_secs(1),
            directory: None,
        }
    }
}

/// Why the test CA could not start or record something.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestCaError {
    /// A file of its directory could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file of its directory holds something else than expected.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line (1 for whole-file problems).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A key could not be generated, read or used.
    Key(cmp_proto::Error),
    /// A structure could not be encoded.
    Encode {
        /// Which.
        what: &'static str,
        /// What `der` said.
        source: der::Error,
    },
}

impl fmt::Display for TestCaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Corrupt { path, line, reason } => {
                write!(f, "{} line {line}: {reason}", path.display())
            }
            Self::Key(e) => write!(f, "key: {e}"),
            Self::Encode { what, source } => write!(f, "cannot encode {what}: {source}"),
        }
    }
}

impl std::error::Error for TestCaError {}

/// What the CA remembers: revocations and counters. Issued certificates need no record
/// in memory: their serials prove themselves ([`serial`]); the directory's issued.log
/// keeps the audit trail.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Serial → (revocation time, CRLReason).
    revoked: HashMap<u128, (i64, Option<u8>)>,
    /// Serial → the account it was issued to ([`Requester::account`]; a kur's
    /// certificate inherits its predecessor's), for the revocation policy. In memory
    /// only: after a restart, earlier certificates are the RA's to revoke.
    issued_to: HashMap<u128, Vec<u8>>,
    issued_count: u64,
    /// The cRLNumber of the last CRL made.
    crl_number: u64,
}

/// The test CA. See the [module documentation](self).
pub struct TestCa {
    config: TestCaConfig,
    root: Identity,
    issuing: Identity,
    server: Identity,
    serials: serial::SerialKey,
    registry: Mutex<Registry>,
    store: Option<Store>,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa")
            .field(
                "issuing",
                &self.issuing.cert.tbs_certificate().subject().to_string(),
            )
            .field("directory", &self.config.directory)
            .finish_non_exhaustive()
    }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn from_unix(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

/// A fresh serial: 16 random bytes, positive and without a leading zero byte
/// (RFC 5280 §4.1.2.2).
fn fresh_serial() -> Result<(u128, SerialNumber), TestCaError> {
    let mut bytes = cmp_proto::builder::random_bytes(16).map_err(TestCaError::Key)?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    let value = u128::from_be_bytes(bytes.as_slice().try_into().unwrap_or([1; 16]));
    let serial = SerialNumber::new(&bytes).map_err(|source| TestCaError::Encode {
        what: "serial number",
        source,
    })?;
    Ok((value, serial))
}

/// PEM of several certificates, one after the other.
pub(crate) fn pem_of(certs: &[&Certificate]) -> Result<String, TestCaError> {
    certs
        .iter()
        .map(|c| {
            c.to_pem(LineEnding::LF)
                .map_err(|source| TestCaError::Encode {
                    what: "certificate",
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|p| p.concat())
}

fn parse_name(text: &str) -> Result<Name, TestCaError> {
    text.parse().map_err(|source| TestCaError::Encode {
        what: "name",
        source,
    })
}

/// Creates the root, issuing CA and CMP server identities.
fn create_identities(config: &TestCaConfig, now: SystemTime) -> Result<Identities, TestCaError> {
    let generate = || SigningKey::generate(config.key_type).map_err(TestCaError::Key);
    let spki = |k: &SigningKey| k.public_key_info().map_err(TestCaError::Key);
    let org = "O=cmpv2-rs test";
    let root_name = parse_name(&format!("CN={} Root CA,{org}", config.name))?;
    let issuing_name = parse_name(&format!("CN={} Issuing CA,{org}", config.name))?;
    let server_name = parse_name(&format!("CN={} CMP Server,{org}", config.name))?;
    let year = Duration::from_secs(365 * 86_400);

    let root_key = generate()?;
    let root_spki = spki(&root_key)?;
    let mut extensions = ca_extensions(None)?.to_vec();
    extensions.extend(key_identifiers(&root_spki, &root_spki)?);
    let root = sign_certificate(
        CertificateSpec {
            serial: fresh_serial()?.1,
            issuer: root_name.clone(),
            subject: root_name.clone(),
            not_before: now - BACKDATE,
            not_after: now + 10 * year,
            public_key: root_spki.clone(),
            extensions,
        },
        &root_key,
    )?;

    let issuing_key = generate()?;
    let issuing_spki = spki(&issuing_key)?;
    let mut extensions = ca_extensions(Some(0))?.to_vec();
    extensions.extend(key_identifiers(&issuing_spki, &root_spki)?);
    let issuing = sign_certificate(
        CertificateSpec {
            serial: fresh_serial()?.1,
            issuer: root_name,
            subject: issuing_name.clone(),
            not_before: now - BACKDATE,
            not_after: now + 5 * year,
            public_key: issuing_spki.clone(),
            extensions,
        },
        &root_key,
    )?;

    let server_key = generate()?;
    let server_spki = spki(&server_key)?;
    // The CMP server signs for the CA: id-kp-cmcRA says so to clients that check
    // (RFC 9483 §3.3, RFC 6402 §2.10).
    let mut extensions = vec![
        extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
        extension(&ExtendedKeyUsage(vec![cmp_proto::oid::KP_CMC_RA]), false)?,
    ];
    extensions.extend(key_identifiers(&server_spki, &issuing_spki)?);
    let server = sign_certificate(
        CertificateSpec {
            serial: fresh_serial()?.1,
            issuer: issuing_name,
            subject: server_name,
            not_before: now - BACKDATE,
            not_after: now + 2 * year,
            public_key: server_spki,
            extensions,
        },
        &issuing_key,
    )?;
    Ok(Identities {
        root: Identity {
            key: root_key,
            cert: root,
        },
        issuing: Identity {
            key: issuing_key,
            cert: issuing,
        },
        server: Identity {
            key: server_key,
            cert: server,
        },
    })
}

impl TestCa {
    /// Creates a test CA, or loads the one kept in `config.directory`.
    pub fn new(config: TestCaConfig) -> Result<Self, TestCaError> {
        let now = SystemTime::now();
        let mut registry = Registry::default();
        let (ids, store) = match &config.directory {
            Some(dir) => {
                let ids = match Store::load(dir)? {
                    Some(ids) => ids,
                    None => {
                        let ids = create_identities(&config, now)?;
                        Store::save(dir, &ids)?;
                        ids
                    }
                };
                let store = Store::open(dir, &mut registry)?;
                (ids, Some(store))
            }
            None => (create_identities(&config, now)?, None),
        };
        Ok(Self {
            serials: serial::SerialKey::derive(&ids.issuing.key)?,
            config,
            root: ids.root,
            issuing: ids.issuing,
            server: ids.server,
            registry: Mutex::new(registry),
            store,
        })
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The root CA certificate: the trust anchor for everything the CA issues.
    pub fn root(&self) -> &Certificate {
        &self.root.cert
    }

    /// The issuing CA certificate.
    pub fn issuing(&self) -> &Certificate {
        &self.issuing.cert
    }

    /// The CMP server's protection certificate.
    pub fn server_certificate(&self) -> &Certificate {
        &self.server.cert
    }

    /// The CA certificates, issuing CA first.
    pub fn ca_certs(&self) -> Vec<Certificate> {
        vec![self.issuing.cert.clone(), self.root.cert.clone()]
    }

    /// Signs CMP messages as the CMP server (extraCerts: its certificate, the issuing CA).
    pub fn server_protector(&self) -> Protector {
        Protector::Signature {
            key: self.server.key.clone(),
            certificate: Box::new(self.server.cert.clone()),
            chain: vec![self.issuing.cert.clone()],
        }
    }

    /// The CMP server's name: the sender of every response.
    pub fn server_name(&self) -> Name {
        self.server.cert.tbs_certificate().subject().clone()
    }

    /// The PEM of `ca.pem`: issuing CA, root, CMP server certificate.
    pub fn ca_pem(&self) -> Result<String, TestCaError> {
        pem_of(&[&self.issuing.cert, &self.root.cert, &self.server.cert])
    }

    /// Certificates issued since the CA was created (a restart with a directory keeps
    /// counting).
    pub fn issued_count(&self) -> u64 {
        self.registry().issued_count
    }

    /// The CA does not issue its own names (root, issuing CA, CMP server), nor, unless
    /// configured to, the EKUs of a CMP authority: either would let the holder sign
    /// answers that clients take for the CA's (issue 16, finding 4).
    fn refuse_authority_names(&self, request: &CertificationRequest) -> Result<(), Refusal> {
        let not_allowed = |text: &str| Refusal::new(PkiFailureInfo::NOT_AUTHORIZED, text);
        if let Some(subject) = &request.template.subject
            && [&self.root, &self.issuing, &self.server]
                .iter()
                .any(|id| id.cert.tbs_certificate().subject() == subject)
        {
            return Err(not_allowed(
                "the CA does not issue certificates in its own names",
            ));
        }
        if self.config.issue_cmp_authority_certificates {
            return Ok(());
        }
        let asks_authority = request
            .template
            .extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|e| e.extn_id == <ExtendedKeyUsage as const_oid::AssociatedOid>::OID)
            .filter_map(|e| {
                <ExtendedKeyUsage as der::Decode>::from_der(e.extn_value.as_bytes()).ok()
            })
            .any(|eku| {
                eku.0
                    .iter()
                    .any(|p| *p == cmp_proto::oid::KP_CMC_CA || *p == cmp_proto::oid::KP_CMC_RA)
            });
        if asks_authority {
            return Err(not_allowed(
                "the CA issues no id-kp-cmcCA or id-kp-cmcRA certificates to requesters",
            ));
        }
        Ok(())
    }

    /// Whether `serial` is revoked.
    pub fn is_revoked(&self, serial: &SerialNumber) -> bool {
        serial::value_of(serial).is_some_and(|v| self.registry().revoked.contains_key(&v))
    }

    /// The current CRL (RFC 5280 §5), signed by the issuing CA, valid for a day.
    ///
    /// A revoked certificate leaves the CRL (and memory) once it has expired and a CRL
    /// issued after its expiry has listed it (RFC 5280 §3.3): at notAfter plus one CRL
    /// validity. Without that the CRL only grows (issue 16, finding 7).
    pub fn crl(&self, now: SystemTime) -> Result<CertificateList, TestCaError> {
        let mut revoked: Vec<(u128, i64, Option<u8>)> = {
            let mut registry = self.registry();
            let cutoff = unix(now) - CRL_VALIDITY.as_secs() as i64;
            let current =
                |serial: &u128| i64::from(serial::SerialKey::not_after_of(*serial)) > cutoff;
            registry.revoked.retain(|serial, _| current(serial));
            registry.issued_to.retain(|serial, _| current(serial));
            registry
                .revoked
                .iter()
                .map(|(s, (t, r))| (*s, *t, *r))
                .collect()
        };
        revoked.sort_unstable();
        let entries = revoked
            .into_iter()
            .map(|(serial, at, reason)| {
                let bytes = serial.to_be_bytes();
                let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
                let reason_ext = reason
                    .and_then(crl_reason)
                    .map(|r| extension(&r, false))
                    .transpose()?;
                Ok(RevokedCert {
                    serial_number: SerialNumber::new(&bytes[first..]).map_err(|source| {
                        TestCaError::Encode {
                            what: "serial number",
                            source,
                        }
                    })?,
                    revocation_date: time(from_unix(at))?,
                    crl_entry_extensions: reason_ext.map(|e| vec![e]),
                })
            })
            .collect::<Result<Vec<_>, TestCaError>>()?;
        let issuing_spki = self
            .issuing
            .cert
            .tbs_certificate()
            .subject_public_key_info();
        let [_, aki] = key_identifiers(issuing_spki, issuing_spki)?;
        // cRLNumber (RFC 5280 §5.2.3) increases with every CRL: one more than the last,
        // and at least the Unix time, so that it keeps increasing across restarts.
        let number = {
            let mut registry = self.registry();
            let seconds = u64::try_from(unix(now)).unwrap_or(0);
            registry.crl_number = registry.crl_number.saturating_add(1).max(seconds);
            registry.crl_number
        };
        let number = CrlNumber::from(der::asn1::Uint::new(&number.to_be_bytes()).map_err(
            |source| TestCaError::Encode {
                what: "cRLNumber",
                source,
            },
        )?);
        let tbs = TbsCertList {
            version: x509_cert::Version::V2,
            signature: self
                .issuing
                .key
                .algorithm_identifier()
                .map_err(TestCaError::Key)?,
            issuer: self.issuing.cert.tbs_certificate().subject().clone(),
            this_update: time(now)?,
            next_update: Some(time(now + CRL_VALIDITY)?),
            revoked_certificates: (!entries.is_empty()).then_some(entries),
            crl_extensions: Some(vec![aki, extension(&number, false)?]),
        };
        sign_crl(tbs, &self.issuing.key)
    }

    /// Logs an enrollment transaction's first decision (requests.log, when the CA keeps
    /// a directory).
    fn record_request(&self, request: &CertificationRequest, decision: &Decision, now: SystemTime) {
        let outcome = match decision {
            Decision::Granted { .. } => "granted",
            Decision::Waiting { .. } => "waiting",
            Decision::Rejected(_) => "rejected",
        };
        if let Some(store) = &self.store
            && let Err(e) = store.requested(
                unix(now),
                request.kind.name(),
                &request.transaction_id,
                outcome,
            )
        {
            eprintln!("test CA: {e}");
        }
    }

    /// Records a revocation (memory and log).
    fn record_revocation(&self, serial: u128, now: SystemTime, reason: Option<u8>) {
        let at = unix(now);
        self.registry().revoked.insert(serial, (at, reason));
        if let Some(store) = &self.store
            && let Err(e) = store.revoked(serial, at, reason)
        {
            eprintln!("test CA: {e}");
        }
    }

    fn issue(&self, request: &CertificationRequest, now: SystemTime) -> Result<Decision, Refusal> {
        policy::check_key(&request.public_key, &self.config.allowed_keys)?;
        let (old_subject, old_extensions) = match &request.old_cert {
            Some(old) => {
                let tbs = old.tbs_certificate();
                if tbs.subject_public_key_info() == &request.public_key {
                    return Err(Refusal::new(
                        PkiFailureInfo::BAD_REQUEST,
                        "key update must certify a new key",
                    ));
                }
                (
                    Some(tbs.subject().clone()),
                    tbs.extensions().cloned().unwrap_or_default(),
                )
            }
            None => (None, Vec::new()),
        };
        self.refuse_authority_names(request)?;
        let granted = policy::grant(
            request,
            old_subject.as_ref(),
            &old_extensions,
            self.config.default_validity,
            self.config.max_validity,
            now,
        )?;
        let internal = |e: TestCaError| Refusal::new(PkiFailureInfo::SYSTEM_FAILURE, e.to_string());
        let (serial_value, serial) = self.serials.issue(granted.not_after).map_err(internal)?;
        let mut extensions = granted.extensions;
        extensions.extend(
            key_identifiers(
                &request.public_key,
                self.issuing
                    .cert
                    .tbs_certificate()
                    .subject_public_key_info(),
            )
            .map_err(internal)?,
        );
        let certificate = sign_certificate(
            CertificateSpec {
                serial,
                issuer: self.issuing.cert.tbs_certificate().subject().clone(),
                subject: granted.subject,
                not_before: granted.not_before,
                not_after: granted.not_after,
                public_key: request.public_key.clone(),
                extensions,
            },
            &self.issuing.key,
        )
        .map_err(internal)?;
        let not_after = unix(granted.not_after);
        {
            let mut registry = self.registry();
            registry.issued_count += 1;
            let predecessor = request
                .old_cert_id
                .as_ref()
                .and_then(|(_, old)| self.serials.open(old))
                .and_then(|(old, _)| registry.issued_to.get(&old).cloned());
            let account = predecessor.unwrap_or_else(|| request.requester.account());
            registry.issued_to.insert(serial_value, account);
        }
        if let Some(store) = &self.store {
            store.issued(serial_value, not_after).map_err(internal)?;
        }
        Ok(Decision::Granted {
            certificate: Box::new(certificate),
            chain: vec![self.issuing.cert.clone()],
            ca_pubs: if request.kind == RequestKind::Ir {
                vec![self.root.cert.clone()]
            } else {
                Vec::new()
            },
            modified: granted.modified,
        })
    }
}

/// The CRLReason for a reason code, if it names one (RFC 5280 §5.3.1).
fn crl_reason(code: u8) -> Option<CrlReason> {
    Some(match code {
        0 => CrlReason::Unspecified,
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        8 => CrlReason::RemoveFromCRL,
        9 => CrlReason::PrivilegeWithdrawn,
        10 => CrlReason::AaCompromise,
        _ => return None,
    })
}

impl CertificateAuthority for TestCa {
    fn certify(&self, request: &CertificationRequest, attempt: u32, now: SystemTime) -> Decision {
        let decision = if attempt < self.config.poll_count {
            Decision::Waiting {
                check_after: self.config.check_after,
            }
        } else {
            self.issue(request, now).unwrap_or_else(Decision::Rejected)
        };
        if attempt == 0 {
            self.record_request(request, &decision, now);
        }
        decision
    }

    /// A certificate rejected in certConf, or never confirmed, is revoked with reason
    /// cessationOfOperation: it was never in use (RFC 4210 §5.3.18).
    fn confirm(&self, certificate: &Certificate, accepted: bool, now: SystemTime) {
        if accepted {
            return;
        }
        let tbs = certificate.tbs_certificate();
        let ours = tbs.issuer() == self.issuing.cert.tbs_certificate().subject();
        let Some((serial, _)) = self.serials.open(tbs.serial_number()) else {
            return;
        };
        let pending = !self.registry().revoked.contains_key(&serial);
        if ours && pending {
            self.record_revocation(serial, now, Some(5));
        }
    }

    fn revoke(&self, request: &RevocationRequest, now: SystemTime) -> Result<(), Refusal> {
        let unknown = || Refusal::new(PkiFailureInfo::BAD_CERT_ID, "unknown certificate");
        if &request.issuer != self.issuing.cert.tbs_certificate().subject() {
            return Err(Refusal::new(
                PkiFailureInfo::BAD_CERT_ID,
                "the certificate was not issued by this CA",
            ));
        }
        let (serial, _) = self.serials.open(&request.serial).ok_or_else(unknown)?;
        if self.registry().revoked.contains_key(&serial) {
            return Err(Refusal::new(
                PkiFailureInfo::CERT_REVOKED,
                "the certificate is already revoked",
            ));
        }
        self.record_revocation(serial, now, request.reason);
        Ok(())
    }

    fn general_info(
        &self,
        request: &InfoTypeAndValue,
        now: SystemTime,
    ) -> Option<InfoTypeAndValue> {
        self.answer(request, now)
    }

    fn revoked(&self, certificate: &Certificate, _now: SystemTime) -> bool {
        let tbs = certificate.tbs_certificate();
        tbs.issuer() == self.issuing.cert.tbs_certificate().subject()
            && self.is_revoked(tbs.serial_number())
    }

    fn issued_to(&self, issuer: &Name, serial: &SerialNumber, requester: &Requester) -> bool {
        issuer == self.issuing.cert.tbs_certificate().subject()
            && self.serials.open(serial).is_some_and(|(serial, _)| {
                self.registry().issued_to.get(&serial) == Some(&requester.account())
            })
    }

    fn is_current(&self, issuer: &Name, serial: &SerialNumber, now: SystemTime) -> bool {
        if issuer != self.issuing.cert.tbs_certificate().subject() {
            return false;
        }
        let Some((serial, not_after)) = self.serials.open(serial) else {
            return false;
        };
        i64::from(not_after) > unix(now) && !self.registry().revoked.contains_key(&serial)
    }
}
