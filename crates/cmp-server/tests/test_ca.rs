//! The test CA on its own, without the responder: what it issues (checked by decoding and
//! by OpenSSL), what it refuses and with which failInfo, revocation and its CRL, polling,
//! general messages, and its state surviving a restart from a directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::crmf::CertTemplate;
use cmp_proto::protection::{HashAlg, KeyType, Protector, SigningKey};
use cmp_proto::{InfoTypeAndValue, PkiFailureInfo, oid};
use cmp_server::ca::{AllowedKey, TestCaConfig, TestCaError};
use cmp_server::{
    CertificateAuthority, CertificationRequest, Decision, Refusal, RequestKind, Requester,
    RevocationRequest, TestCa,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use der::asn1::Ia5String;
use der::pem::LineEnding;
use der::{Decode, Encode, EncodePem};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Time;

const DAY: u64 = 86_400;

/// Now, to the second: certificate times have no fractions, so comparisons stay exact.
fn now() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn ca_with(config: TestCaConfig) -> TestCa {
    TestCa::new(config).expect("test CA")
}

fn ca() -> TestCa {
    ca_with(TestCaConfig::default())
}

fn dn(text: &str) -> Name {
    text.parse().expect("distinguished name")
}

fn key(kind: KeyType) -> SigningKey {
    SigningKey::generate(kind).expect("key")
}

fn spki(key: &SigningKey) -> spki::SubjectPublicKeyInfoOwned {
    key.public_key_info().expect("public key info")
}

fn san(dns: &str) -> SubjectAltName {
    SubjectAltName(vec![GeneralName::DnsName(
        Ia5String::new(dns).expect("IA5 name"),
    )])
}

fn requester() -> Requester {
    Requester::Mac {
        reference: b"ref".to_vec(),
        may_act_as_ra: false,
    }
}

/// A request of `kind` for what `builder` asks, as the responder hands it over.
fn request(kind: RequestKind, builder: &CertRequestBuilder) -> CertificationRequest {
    let template: CertTemplate = builder.request().cert_template.clone();
    CertificationRequest {
        kind,
        transaction_id: b"transaction".to_vec(),
        requester: requester(),
        public_key: template.public_key.clone().expect("public key in template"),
        template,
        csr: None,
        old_cert: None,
        old_cert_id: None,
        profile: None,
    }
}

fn simple_request(kind: RequestKind, key: &SigningKey, subject: &str) -> CertificationRequest {
    request(
        kind,
        &CertRequestBuilder::new(spki(key)).subject(dn(subject)),
    )
}

struct Granted {
    certificate: Certificate,
    chain: Vec<Certificate>,
    ca_pubs: Vec<Certificate>,
    modified: bool,
}

fn granted(decision: Decision) -> Granted {
    match decision {
        Decision::Granted {
            certificate,
            chain,
            ca_pubs,
            modified,
        } => Granted {
            certificate: *certificate,
            chain,
            ca_pubs,
            modified,
        },
        other => panic!("expected a certificate, got {other:?}"),
    }
}

fn refused(decision: Decision) -> Refusal {
    match decision {
        Decision::Rejected(refusal) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn issue(ca: &TestCa, key: &SigningKey, subject: &str, at: SystemTime) -> Certificate {
    granted(ca.certify(&simple_request(RequestKind::Cr, key, subject), 0, at)).certificate
}

fn revocation(ca: &TestCa, cert: &Certificate, reason: Option<u8>) -> RevocationRequest {
    RevocationRequest {
        requester: requester(),
        issuer: ca.issuing().tbs_certificate().subject().clone(),
        serial: cert.tbs_certificate().serial_number().clone(),
        reason,
    }
}

fn validity_seconds(cert: &Certificate) -> (u64, u64) {
    let v = cert.tbs_certificate().validity();
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

/// The SHA-1 of a certificate's subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1).
fn key_id_of(cert: &Certificate) -> Vec<u8> {
    HashAlg::Sha1.digest(
        cert.tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
}

fn ski(cert: &Certificate) -> Vec<u8> {
    let (critical, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .expect("decodes")
        .expect("subjectKeyIdentifier present");
    assert!(!critical, "RFC 5280 §4.2.1.2: SKI is non-critical");
    ski.0.as_bytes().to_vec()
}

fn aki(cert: &Certificate) -> Vec<u8> {
    let (_, aki) = cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .expect("decodes")
        .expect("authorityKeyIdentifier present");
    aki.key_identifier
        .expect("keyIdentifier in AKI")
        .as_bytes()
        .to_vec()
}

fn digital_signature() -> der::flagset::FlagSet<KeyUsages> {
    KeyUsages::DigitalSignature.into()
}

fn key_usage(cert: &Certificate) -> KeyUsage {
    let (critical, ku) = cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .expect("decodes")
        .expect("keyUsage present");
    assert!(critical, "keyUsage should be critical (RFC 5280 §4.2.1.3)");
    ku
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "cmp-server-test-ca-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        Self(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn write_certs(&self, file: &str, certs: &[&Certificate]) {
        let pem: String = certs
            .iter()
            .map(|c| c.to_pem(LineEnding::LF).expect("PEM"))
            .collect();
        std::fs::write(self.path(file), pem).expect("write PEM");
    }

    fn write_crl(&self, file: &str, crl: &CertificateList) {
        std::fs::write(self.path(file), crl.to_pem(LineEnding::LF).expect("PEM"))
            .expect("write CRL");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs openssl in `dir`; returns whether it succeeded and what it printed (both streams).
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

/// `openssl verify` of `leaf.pem` against `root.pem` with `issuing.pem` as intermediate.
fn openssl_verify(dir: &Scratch, ca: &TestCa, leaf: &Certificate, extra: &[&str]) -> String {
    dir.write_certs("root.pem", &[ca.root()]);
    dir.write_certs("issuing.pem", &[ca.issuing()]);
    dir.write_certs("leaf.pem", &[leaf]);
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
    ];
    args.extend_from_slice(extra);
    args.push("leaf.pem");
    openssl_ok(&dir.0, &args)
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

#[test]
fn issues_a_p256_certificate_as_requested_that_openssl_verifies() {
    let ca = ca();
    let at = now();
    let key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=leaf.example,O=cmpv2-rs test"))
        .extension(false, &san("leaf.example"))
        .expect("SAN")
        .extension(true, &KeyUsage(KeyUsages::DigitalSignature.into()))
        .expect("KU")
        .extension(
            false,
            &ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]),
        )
        .expect("EKU");
    let g = granted(ca.certify(&request(RequestKind::Ir, &builder), 0, at));

    assert!(!g.modified, "nothing needed changing");
    assert_eq!(g.chain, vec![ca.issuing().clone()]);
    assert_eq!(g.ca_pubs, vec![ca.root().clone()], "ir gets caPubs");
    let tbs = g.certificate.tbs_certificate();
    assert_eq!(tbs.version(), x509_cert::Version::V3);
    assert_eq!(tbs.subject_public_key_info(), &spki(&key));
    assert_eq!(tbs.subject(), &dn("CN=leaf.example,O=cmpv2-rs test"));
    assert_eq!(tbs.issuer(), ca.issuing().tbs_certificate().subject());
    let serial = tbs.serial_number().as_bytes();
    assert_eq!(serial.len(), 16, "16 random bytes");
    assert!(serial[0] & 0x80 == 0 && serial[0] != 0, "positive, minimal");
    let (_, got_san) = tbs
        .get_extension::<SubjectAltName>()
        .expect("decodes")
        .expect("SAN present");
    assert_eq!(got_san, san("leaf.example"));
    assert_eq!(key_usage(&g.certificate).0, digital_signature());
    let (_, eku) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .expect("decodes")
        .expect("EKU present");
    assert_eq!(eku.0, vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]);
    assert_eq!(ski(&g.certificate), key_id_of(&g.certificate));
    assert_eq!(aki(&g.certificate), ski(ca.issuing()));
    let (not_before, not_after) = validity_seconds(&g.certificate);
    assert_eq!(not_before, unix(at) - 60, "backdated a minute for skew");
    assert_eq!(not_after - not_before, 90 * DAY, "default validity");
    assert_eq!(ca.issued_count(), 1);

    let dir = Scratch::new("issue");
    let out = openssl_verify(&dir, &ca, &g.certificate, &["-purpose", "sslserver"]);
    assert!(out.contains("leaf.pem: OK"), "{out}");
    let text = openssl_ok(&dir.0, &["x509", "-in", "leaf.pem", "-noout", "-text"]);
    for expected in [
        "DNS:leaf.example",
        "Digital Signature",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in\n{text}");
    }
}

#[test]
fn ca_certificates_form_a_chain_with_ca_extensions() {
    let ca = ca();
    let root = ca.root().tbs_certificate();
    let issuing = ca.issuing().tbs_certificate();
    assert_eq!(root.issuer(), root.subject(), "root is self-issued");
    assert_eq!(issuing.issuer(), root.subject());
    assert_eq!(ca.ca_certs(), vec![ca.issuing().clone(), ca.root().clone()]);

    for (cert, path_len) in [(ca.root(), None), (ca.issuing(), Some(0))] {
        let (critical, bc) = cert
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .expect("decodes")
            .expect("basicConstraints present");
        assert!(critical && bc.ca, "RFC 5280 §4.2.1.9: critical, cA");
        assert_eq!(bc.path_len_constraint, path_len);
        assert_eq!(
            key_usage(cert).0,
            KeyUsages::KeyCertSign | KeyUsages::CRLSign
        );
        assert_eq!(ski(cert), key_id_of(cert));
    }
    assert_eq!(aki(ca.root()), ski(ca.root()));
    assert_eq!(aki(ca.issuing()), ski(ca.root()));
    let (root_from, root_to) = validity_seconds(ca.root());
    let (issuing_from, issuing_to) = validity_seconds(ca.issuing());
    assert_eq!(root_to - root_from, 10 * 365 * DAY + 60);
    assert_eq!(issuing_to - issuing_from, 5 * 365 * DAY + 60);

    // The CMP server's certificate: signed by the issuing CA, for signatures only.
    let Protector::Signature {
        certificate, chain, ..
    } = ca.server_protector()
    else {
        panic!("the server protects with a signature");
    };
    assert_eq!(certificate.tbs_certificate().subject(), &ca.server_name());
    assert_eq!(chain, vec![ca.issuing().clone()]);
    assert_eq!(key_usage(&certificate).0, digital_signature());
    assert_eq!(aki(&certificate), ski(ca.issuing()));

    let dir = Scratch::new("chain");
    let out = openssl_verify(&dir, &ca, &certificate, &[]);
    assert!(out.contains("leaf.pem: OK"), "{out}");

    // ca.pem: issuing CA, root, CMP server certificate.
    let pem = ca.ca_pem().expect("ca.pem");
    let certs = Certificate::load_pem_chain(pem.as_bytes()).expect("PEM chain");
    assert_eq!(
        certs,
        vec![ca.issuing().clone(), ca.root().clone(), *certificate]
    );
}

#[test]
fn default_key_usage_adds_key_encipherment_for_rsa_keys() {
    let ca = ca();
    let rsa = key(KeyType::Rsa(2048));
    let cert = issue(&ca, &rsa, "CN=rsa.example", now());
    assert_eq!(
        key_usage(&cert).0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    let ed = key(KeyType::Ed25519);
    let cert = issue(&ca, &ed, "CN=ed25519.example", now());
    assert_eq!(key_usage(&cert).0, digital_signature());
    let dir = Scratch::new("ed25519");
    let out = openssl_verify(&dir, &ca, &cert, &[]);
    assert!(out.contains("leaf.pem: OK"), "{out}");
}

#[test]
fn validity_beyond_the_maximum_is_shortened_and_marked_modified() {
    let ca = ca();
    let at = now();
    let key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=long.example"))
        .validity(
            None,
            Some(Time::try_from(at + Duration::from_secs(400 * DAY)).expect("time")),
        );
    let g = granted(ca.certify(&request(RequestKind::Cr, &builder), 0, at));
    assert!(g.modified, "grantedWithMods");
    assert!(g.ca_pubs.is_empty(), "caPubs only for ir");
    let (not_before, not_after) = validity_seconds(&g.certificate);
    assert_eq!(not_after - not_before, 365 * DAY);

    // Within the maximum: granted as asked.
    let wanted = at + Duration::from_secs(30 * DAY);
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=short.example"))
        .validity(None, Some(Time::try_from(wanted).expect("time")));
    let g = granted(ca.certify(&request(RequestKind::Cr, &builder), 0, at));
    assert!(!g.modified);
    assert_eq!(validity_seconds(&g.certificate).1, unix(wanted));
}

#[test]
fn not_after_before_not_before_is_refused_as_bad_cert_template() {
    let ca = ca();
    let at = now();
    let key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=backwards.example"))
        .validity(
            Some(Time::try_from(at + Duration::from_secs(10 * DAY)).expect("time")),
            Some(Time::try_from(at + Duration::from_secs(DAY)).expect("time")),
        );
    let refusal = refused(ca.certify(&request(RequestKind::Cr, &builder), 0, at));
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_CERT_TEMPLATE);
    assert_eq!(ca.issued_count(), 0);
}

#[test]
fn key_type_outside_the_policy_is_refused_as_bad_alg() {
    let ca = ca_with(TestCaConfig {
        allowed_keys: vec![AllowedKey::P256],
        ..TestCaConfig::default()
    });
    let refusal = refused(ca.certify(
        &simple_request(RequestKind::Ir, &key(KeyType::P384), "CN=p384.example"),
        0,
        now(),
    ));
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_ALG);
    assert_eq!(ca.issued_count(), 0);
}

#[test]
fn request_without_subject_or_san_is_refused_as_bad_cert_template() {
    let ca = ca();
    let key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&key));
    let refusal = refused(ca.certify(&request(RequestKind::Cr, &builder), 0, now()));
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_CERT_TEMPLATE);

    // A SAN alone is enough; it is then critical (RFC 5280 §4.2.1.6).
    let builder = CertRequestBuilder::new(spki(&key))
        .extension(false, &san("only-san.example"))
        .expect("SAN");
    let g = granted(ca.certify(&request(RequestKind::Cr, &builder), 0, now()));
    let (critical, _) = g
        .certificate
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .expect("decodes")
        .expect("SAN present");
    assert!(critical);
    let dir = Scratch::new("san-only");
    let out = openssl_verify(&dir, &ca, &g.certificate, &[]);
    assert!(out.contains("leaf.pem: OK"), "{out}");
}

#[test]
fn ca_certificate_requests_are_refused() {
    let ca = ca();
    let key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=sub-ca.example"))
        .extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )
        .expect("BC");
    let refusal = refused(ca.certify(&request(RequestKind::Cr, &builder), 0, now()));
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_CERT_TEMPLATE);
}

#[test]
fn extensions_outside_the_policy_are_dropped_and_marked_modified() {
    let ca = ca();
    let key = key(KeyType::P256);
    // A requester may not set its own key identifier.
    let builder = CertRequestBuilder::new(spki(&key))
        .subject(dn("CN=extra.example"))
        .extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(der::asn1::OctetString::new(vec![1, 2, 3]).expect("id")),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )
        .expect("AKI");
    let g = granted(ca.certify(&request(RequestKind::Cr, &builder), 0, now()));
    assert!(g.modified);
    assert_eq!(aki(&g.certificate), ski(ca.issuing()));
}

#[test]
fn polling_answers_waiting_poll_count_times_then_decides() {
    let ca = ca_with(TestCaConfig {
        poll_count: 2,
        check_after: Duration::from_secs(3),
        ..TestCaConfig::default()
    });
    let request = simple_request(RequestKind::Ir, &key(KeyType::P256), "CN=patient.example");
    for attempt in 0..2 {
        match ca.certify(&request, attempt, now()) {
            Decision::Waiting { check_after } => assert_eq!(check_after, Duration::from_secs(3)),
            other => panic!("attempt {attempt}: expected waiting, got {other:?}"),
        }
    }
    assert_eq!(ca.issued_count(), 0);
    granted(ca.certify(&request, 2, now()));
    assert_eq!(ca.issued_count(), 1);
}

#[test]
fn requests_log_has_one_line_per_enrollment_transaction_with_its_first_decision() {
    let dir = Scratch::new("requests-log");
    let at = now();
    let t = unix(at);
    let log = |ca: &str| std::fs::read_to_string(dir.path(ca).join("requests.log")).expect("log");

    let polling = ca_with(TestCaConfig {
        directory: Some(dir.path("polling")),
        poll_count: 2,
        ..TestCaConfig::default()
    });
    let mut patient = simple_request(RequestKind::Ir, &key(KeyType::P256), "CN=a.example");
    patient.transaction_id = vec![0xab; 16];
    for attempt in 0..2 {
        polling.certify(&patient, attempt, at);
    }
    granted(polling.certify(&patient, 2, at));
    let want = format!("{t} ir {} waiting\n", "ab".repeat(16));
    assert_eq!(log("polling"), want, "pollReqs add no line");

    let deciding = ca_with(TestCaConfig {
        directory: Some(dir.path("deciding")),
        ..TestCaConfig::default()
    });
    let mut fine = simple_request(RequestKind::Cr, &key(KeyType::P256), "CN=b.example");
    fine.transaction_id = vec![0x01, 0x02];
    granted(deciding.certify(&fine, 0, at));
    let mut nameless = request(
        RequestKind::P10cr,
        &CertRequestBuilder::new(spki(&key(KeyType::P256))),
    );
    nameless.transaction_id = vec![0xff];
    refused(deciding.certify(&nameless, 0, at));
    let want = format!("{t} cr 0102 granted\n{t} p10cr ff rejected\n");
    assert_eq!(log("deciding"), want);
}

#[test]
fn revoked_certificate_is_on_a_crl_that_openssl_verifies() {
    let ca = ca();
    let at = now();
    let revoked = issue(&ca, &key(KeyType::P256), "CN=revoked.example", at);
    let kept = issue(&ca, &key(KeyType::P256), "CN=kept.example", at);
    ca.revoke(&revocation(&ca, &revoked, Some(1)), at)
        .expect("revoke");
    assert!(ca.is_revoked(revoked.tbs_certificate().serial_number()));
    assert!(!ca.is_revoked(kept.tbs_certificate().serial_number()));

    let crl = ca.crl(at).expect("CRL");
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.version, x509_cert::Version::V2);
    assert_eq!(&tbs.issuer, ca.issuing().tbs_certificate().subject());
    assert_eq!(
        tbs.next_update.expect("nextUpdate").to_unix_duration()
            - tbs.this_update.to_unix_duration(),
        Duration::from_secs(DAY)
    );
    let entries = tbs.revoked_certificates.as_deref().unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        &entries[0].serial_number,
        revoked.tbs_certificate().serial_number()
    );
    let extensions = tbs.crl_extensions.as_deref().unwrap_or_default();
    let find = |id: ObjectIdentifier| extensions.iter().find(|e| e.extn_id == id);
    let number = find(const_oid::db::rfc5280::ID_CE_CRL_NUMBER).expect("cRLNumber");
    CrlNumber::from_der(number.extn_value.as_bytes()).expect("cRLNumber decodes");
    let crl_aki = find(const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER).expect("AKI");
    let crl_aki = AuthorityKeyIdentifier::from_der(crl_aki.extn_value.as_bytes()).expect("AKI");
    assert_eq!(
        crl_aki.key_identifier.expect("keyIdentifier").as_bytes(),
        ski(ca.issuing()).as_slice()
    );

    let dir = Scratch::new("crl");
    dir.write_crl("crl.pem", &crl);
    dir.write_certs("cas.pem", &[ca.issuing(), ca.root()]);
    let out = openssl_ok(
        &dir.0,
        &[
            "crl", "-in", "crl.pem", "-CAfile", "cas.pem", "-verify", "-noout",
        ],
    );
    assert!(out.contains("verify OK"), "{out}");
    let text = openssl_ok(&dir.0, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    let serial = hex_upper(revoked.tbs_certificate().serial_number().as_bytes());
    assert!(text.contains(&serial), "{serial} missing in\n{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("X509v3 CRL Number"), "{text}");
    let kept_serial = hex_upper(kept.tbs_certificate().serial_number().as_bytes());
    assert!(!text.contains(&kept_serial), "{text}");

    // And OpenSSL, checking the CRL, refuses the revoked certificate but not the other.
    dir.write_certs("root.pem", &[ca.root()]);
    dir.write_certs("issuing.pem", &[ca.issuing()]);
    dir.write_certs("revoked.pem", &[&revoked]);
    dir.write_certs("kept.pem", &[&kept]);
    let crl_check = |leaf: &str| {
        openssl(
            &dir.0,
            &[
                "verify",
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "issuing.pem",
                leaf,
            ],
        )
    };
    let (ok, out) = crl_check("revoked.pem");
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = crl_check("kept.pem");
    assert!(ok, "{out}");
}

#[test]
fn crl_without_revocations_has_no_entries_and_verifies() {
    let ca = ca();
    let crl = ca.crl(now()).expect("CRL");
    assert!(crl.tbs_cert_list.revoked_certificates.is_none());
    let dir = Scratch::new("empty-crl");
    dir.write_crl("crl.pem", &crl);
    dir.write_certs("cas.pem", &[ca.issuing(), ca.root()]);
    let out = openssl_ok(
        &dir.0,
        &[
            "crl", "-in", "crl.pem", "-CAfile", "cas.pem", "-verify", "-noout",
        ],
    );
    assert!(out.contains("verify OK"), "{out}");
}

#[test]
fn rejected_confirmation_revokes_and_accepted_does_not() {
    let ca = ca();
    let at = now();
    let accepted = issue(&ca, &key(KeyType::P256), "CN=accepted.example", at);
    let rejected = issue(&ca, &key(KeyType::P256), "CN=rejected.example", at);
    ca.confirm(&accepted, true, at);
    ca.confirm(&rejected, false, at);
    assert!(!ca.is_revoked(accepted.tbs_certificate().serial_number()));
    assert!(ca.is_revoked(rejected.tbs_certificate().serial_number()));
    let issuer = ca.issuing().tbs_certificate().subject().clone();
    assert!(!ca.is_current(&issuer, rejected.tbs_certificate().serial_number(), at));

    let crl = ca.crl(at).expect("CRL");
    let entries = crl.tbs_cert_list.revoked_certificates.expect("one entry");
    assert_eq!(entries.len(), 1);
    let reason = entries[0]
        .crl_entry_extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
        .expect("reasonCode");
    assert_eq!(
        CrlReason::from_der(reason.extn_value.as_bytes()).expect("CRLReason"),
        CrlReason::CessationOfOperation
    );
}

#[test]
fn revocation_of_unknown_foreign_or_revoked_certificates_is_refused() {
    let ca = ca();
    let at = now();
    let cert = issue(&ca, &key(KeyType::P256), "CN=once.example", at);

    // A serial this CA never issued.
    let other = ca_with(TestCaConfig::default());
    let stranger = issue(&other, &key(KeyType::P256), "CN=stranger.example", at);
    let unknown = RevocationRequest {
        serial: stranger.tbs_certificate().serial_number().clone(),
        ..revocation(&ca, &cert, None)
    };
    let refusal = ca.revoke(&unknown, at).expect_err("unknown serial");
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_CERT_ID);

    // Another issuer's name.
    let foreign = RevocationRequest {
        issuer: ca.root().tbs_certificate().subject().clone(),
        ..revocation(&ca, &cert, None)
    };
    let refusal = ca.revoke(&foreign, at).expect_err("foreign issuer");
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_CERT_ID);
    assert!(!ca.is_revoked(cert.tbs_certificate().serial_number()));

    ca.revoke(&revocation(&ca, &cert, None), at)
        .expect("first revocation");
    let refusal = ca
        .revoke(&revocation(&ca, &cert, Some(4)), at)
        .expect_err("second revocation");
    assert_eq!(refusal.fail_info, PkiFailureInfo::CERT_REVOKED);
}

#[test]
fn is_current_until_revoked_or_expired() {
    let ca = ca();
    let at = now();
    let cert = issue(&ca, &key(KeyType::P256), "CN=current.example", at);
    let issuer = ca.issuing().tbs_certificate().subject().clone();
    let serial = cert.tbs_certificate().serial_number();
    assert!(ca.is_current(&issuer, serial, at));
    assert!(!ca.is_current(&issuer, serial, at + Duration::from_secs(91 * DAY)));
    assert!(!ca.is_current(ca.root().tbs_certificate().subject(), serial, at));
    ca.revoke(&revocation(&ca, &cert, Some(1)), at)
        .expect("revoke");
    assert!(!ca.is_current(&issuer, serial, at));
}

#[test]
fn key_update_keeps_the_old_names_and_needs_a_new_key() {
    let ca = ca();
    let at = now();
    let old_key = key(KeyType::P256);
    let builder = CertRequestBuilder::new(spki(&old_key))
        .subject(dn("CN=device.example"))
        .extension(false, &san("device.example"))
        .expect("SAN");
    let old = granted(ca.certify(&request(RequestKind::Ir, &builder), 0, at)).certificate;
    let old_id = (
        ca.issuing().tbs_certificate().subject().clone(),
        old.tbs_certificate().serial_number().clone(),
    );

    // A template with only the new key: subject and SAN come from the old certificate.
    let new_key = key(KeyType::P256);
    let kur = CertificationRequest {
        old_cert: Some(old.clone()),
        old_cert_id: Some(old_id.clone()),
        ..request(RequestKind::Kur, &CertRequestBuilder::new(spki(&new_key)))
    };
    let g = granted(ca.certify(&kur, 0, at));
    assert!(g.ca_pubs.is_empty());
    let tbs = g.certificate.tbs_certificate();
    assert_eq!(tbs.subject(), old.tbs_certificate().subject());
    assert_eq!(tbs.subject_public_key_info(), &spki(&new_key));
    let (_, got_san) = tbs
        .get_extension::<SubjectAltName>()
        .expect("decodes")
        .expect("SAN kept");
    assert_eq!(got_san, san("device.example"));

    // The same key again is no update.
    let same = CertificationRequest {
        old_cert: Some(old.clone()),
        old_cert_id: Some(old_id),
        ..request(RequestKind::Kur, &CertRequestBuilder::new(spki(&old_key)))
    };
    let refusal = refused(ca.certify(&same, 0, at));
    assert_eq!(refusal.fail_info, PkiFailureInfo::BAD_REQUEST);
}

#[test]
fn general_messages_answer_ca_certs_key_types_template_and_crls() {
    let ca = ca();
    let at = now();
    let ask = |id| ca.general_info(&InfoTypeAndValue::request(id), at);

    let answer = ask(oid::IT_CA_CERTS).expect("caCerts answered");
    assert_eq!(answer.info_type, oid::IT_CA_CERTS);
    assert_eq!(
        answer.ca_certs().expect("decodes"),
        Some(vec![ca.issuing().clone(), ca.root().clone()])
    );

    let answer = ask(oid::IT_SIGN_KEY_PAIR_TYPES).expect("signKeyPairTypes answered");
    let algs = answer
        .sign_key_pair_types()
        .expect("decodes")
        .expect("value");
    let curve = |a: &spki::AlgorithmIdentifierOwned| {
        a.parameters
            .as_ref()
            .map(|p| p.decode_as::<ObjectIdentifier>().expect("curve OID"))
    };
    let described: Vec<(ObjectIdentifier, Option<ObjectIdentifier>)> = algs
        .iter()
        .map(|a| {
            let params = if a.oid == oid::EC_PUBLIC_KEY {
                curve(a)
            } else {
                None
            };
            (a.oid, params)
        })
        .collect();
    assert_eq!(
        described,
        vec![
            (oid::EC_PUBLIC_KEY, Some(oid::SECP256R1)),
            (oid::EC_PUBLIC_KEY, Some(oid::SECP384R1)),
            (oid::RSA_ENCRYPTION, None),
            (oid::ED25519, None),
        ]
    );

    let answer = ask(oid::IT_CERT_REQ_TEMPLATE).expect("certReqTemplate answered");
    answer
        .cert_req_template()
        .expect("decodes")
        .expect("a template");

    let revoked = issue(&ca, &key(KeyType::P256), "CN=listed.example", at);
    ca.revoke(&revocation(&ca, &revoked, None), at)
        .expect("revoke");
    for id in [oid::IT_CRLS, oid::IT_CRL_STATUS_LIST] {
        let answer = ask(id).expect("CRLs answered");
        assert_eq!(answer.info_type, oid::IT_CRLS);
        let crls = answer.crls().expect("decodes").expect("CRLs");
        assert_eq!(crls.len(), 1);
        let entries = crls[0]
            .tbs_cert_list
            .revoked_certificates
            .as_deref()
            .unwrap_or_default();
        assert_eq!(
            entries.first().map(|e| &e.serial_number),
            Some(revoked.tbs_certificate().serial_number())
        );
    }

    assert!(ask(oid::IT_PREFERRED_SYMM_ALG).is_none(), "not offered");
}

/// RFC 9480 §2.15 (RFC 4210 §5.3.19.15): `GenRep: {id-it 18}, RootCaKeyUpdateContent |
/// < absent >` — a CA whose root has not changed answers without a value. Answering
/// with newWithNew = the current root and no newWithOld makes our own client's
/// `root_ca_update` fail ("newWithOld is absent") instead of returning `None`.
#[test]
fn root_ca_update_is_absent_when_the_root_is_current() {
    let ca = ca();
    let answer = ca
        .general_info(
            &InfoTypeAndValue::root_ca_cert(ca.root()).expect("rootCaCert"),
            now(),
        )
        .or_else(|| {
            ca.general_info(
                &InfoTypeAndValue::request(oid::IT_ROOT_CA_KEY_UPDATE),
                now(),
            )
        })
        .expect("answered");
    assert_eq!(answer.info_type, oid::IT_ROOT_CA_KEY_UPDATE);
    assert_eq!(answer.root_ca_key_update().expect("decodes"), None);
}

/// RFC 5280 §5.2.3: cRLNumber is a monotonically increasing sequence number; two CRLs
/// with different contents must not share one.
#[test]
fn an_expired_certificate_leaves_the_crl_after_one_crl_past_its_expiry() {
    // Finding 7 of issue 16: revoked serials were never pruned, so the CRL only grew.
    let ca = ca_with(TestCaConfig::default());
    let at = now();
    let cert = issue(&ca, &key(KeyType::P256), "CN=expiring.example", at);
    ca.revoke(&revocation(&ca, &cert, Some(1)), at)
        .expect("revoke");
    let listed = |when: SystemTime| {
        ca.crl(when)
            .expect("CRL")
            .tbs_cert_list
            .revoked_certificates
            .unwrap_or_default()
            .iter()
            .any(|e| &e.serial_number == cert.tbs_certificate().serial_number())
    };
    let not_after = cert.tbs_certificate().validity().not_after.to_system_time();
    let day = Duration::from_secs(86_400);
    assert!(listed(at));
    // RFC 5280 §3.3: still on a CRL issued after it expired...
    assert!(listed(not_after + Duration::from_secs(60)));
    // ...and gone from the CRLs after that one's validity, for good.
    assert!(!listed(not_after + day + Duration::from_secs(60)));
    assert!(!listed(at), "pruned, not just hidden");
}

#[test]
fn a_new_crl_after_a_revocation_has_a_higher_number() {
    let ca = ca();
    let at = now();
    let number = |crl: &CertificateList| {
        let ext = crl
            .tbs_cert_list
            .crl_extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
            .expect("cRLNumber")
            .extn_value
            .as_bytes()
            .to_vec();
        let number = CrlNumber::from_der(&ext).expect("cRLNumber").0;
        number
            .as_bytes()
            .iter()
            .fold(0u128, |n, b| (n << 8) | u128::from(*b))
    };
    let before = ca.crl(at).expect("CRL");
    let cert = issue(&ca, &key(KeyType::P256), "CN=late.example", at);
    ca.revoke(&revocation(&ca, &cert, None), at)
        .expect("revoke");
    let after = ca.crl(at).expect("CRL");
    assert!(number(&after) > number(&before));
}

#[cfg(unix)]
#[test]
fn key_files_are_created_fresh_owner_only_and_never_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt as _;
    // Finding 8 of issue 16: a world-readable key file stayed world-readable, and a
    // symlink planted as a key file had the key written where it pointed.
    let dir = Scratch::new("key-files");
    let ca_dir = dir.path("ca");
    std::fs::create_dir_all(&ca_dir).expect("dir");
    std::fs::write(ca_dir.join("root.key"), "old").expect("old key");
    std::fs::set_permissions(
        ca_dir.join("root.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let victim = dir.path("victim.txt");
    std::fs::write(&victim, "not a key").expect("victim");
    std::os::unix::fs::symlink(&victim, ca_dir.join("issuing.key")).expect("symlink");

    let _ca = ca_with(TestCaConfig {
        directory: Some(ca_dir.clone()),
        ..TestCaConfig::default()
    });
    for name in ["root.key", "issuing.key", "server.key"] {
        let meta = std::fs::symlink_metadata(ca_dir.join(name)).expect("key file");
        assert!(meta.file_type().is_file(), "{name} is a plain file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "not a key"
    );

    // A directory the CA creates is its owner's only.
    let fresh = dir.path("fresh/ca");
    let _ca = ca_with(TestCaConfig {
        directory: Some(fresh.clone()),
        ..TestCaConfig::default()
    });
    let mode = std::fs::metadata(&fresh).expect("dir").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn the_ca_issues_neither_its_own_names_nor_cmp_authority_certificates() {
    // Finding 4 of issue 16: the test CA issued a certificate named as its CMP server, and
    // with it a proxy re-signed answers that a client took for the CA's.
    let ca = ca_with(TestCaConfig::default());
    let at = now();
    let server = ca
        .server_certificate()
        .tbs_certificate()
        .subject()
        .to_string();
    for name in [server, ca.issuing().tbs_certificate().subject().to_string()] {
        let refusal = refused(ca.certify(
            &simple_request(RequestKind::Cr, &key(KeyType::P256), &name),
            0,
            at,
        ));
        assert!(
            refusal.fail_info.contains(PkiFailureInfo::NOT_AUTHORIZED),
            "{name}"
        );
    }
    let cmc = |ca: &TestCa| {
        let builder = CertRequestBuilder::new(spki(&key(KeyType::P256)))
            .subject(dn("CN=wants-to-be-an-ra.example"))
            .extension(false, &ExtendedKeyUsage(vec![oid::KP_CMC_RA]))
            .expect("EKU");
        ca.certify(&request(RequestKind::Cr, &builder), 0, at)
    };
    let refusal = refused(cmc(&ca));
    assert!(refusal.fail_info.contains(PkiFailureInfo::NOT_AUTHORIZED));
    // Unless the policy allows it.
    let lenient = ca_with(TestCaConfig {
        issue_cmp_authority_certificates: true,
        ..TestCaConfig::default()
    });
    granted(cmc(&lenient));
    // The CA's own CMP server says what it is.
    let eku = ca
        .server_certificate()
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .expect("decodes")
        .expect("an EKU")
        .1;
    assert_eq!(eku.0, vec![oid::KP_CMC_RA]);
}

#[test]
fn restart_from_the_directory_keeps_the_ca_and_its_revocations() {
    let dir = Scratch::new("restart");
    let config = TestCaConfig {
        directory: Some(dir.path("ca")),
        ..TestCaConfig::default()
    };
    let at = now();
    let first = ca_with(config.clone());
    let revoked = issue(&first, &key(KeyType::P256), "CN=gone.example", at);
    let kept = issue(&first, &key(KeyType::P256), "CN=stays.example", at);
    first
        .revoke(&revocation(&first, &revoked, Some(1)), at)
        .expect("revoke");
    let (root, issuing, server) = (
        first.root().to_der().expect("DER"),
        first.issuing().to_der().expect("DER"),
        first.server_name(),
    );
    let ca_pem = first.ca_pem().expect("ca.pem");
    drop(first);

    for file in [
        "root.pem",
        "root.key",
        "issuing.pem",
        "issuing.key",
        "server.pem",
        "server.key",
        "ca.pem",
        "issued.log",
        "revoked.log",
    ] {
        assert!(dir.path("ca").join(file).is_file(), "{file} written");
    }
    #[cfg(unix)]
    for file in ["root.key", "issuing.key", "server.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path("ca").join(file))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} readable by its owner only");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path("ca").join("ca.pem")).expect("ca.pem"),
        ca_pem
    );

    let second = ca_with(config);
    assert_eq!(second.root().to_der().expect("DER"), root);
    assert_eq!(second.issuing().to_der().expect("DER"), issuing);
    assert_eq!(second.server_name(), server);
    assert_eq!(second.issued_count(), 2);
    assert!(second.is_revoked(revoked.tbs_certificate().serial_number()));
    let issuer = second.issuing().tbs_certificate().subject().clone();
    assert!(second.is_current(&issuer, kept.tbs_certificate().serial_number(), at));
    let crl = second.crl(at).expect("CRL");
    let entries = crl.tbs_cert_list.revoked_certificates.unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        &entries[0].serial_number,
        revoked.tbs_certificate().serial_number()
    );
    // The restarted CA still knows what it issued before.
    let refusal = second
        .revoke(&revocation(&second, &revoked, None), at)
        .expect_err("already revoked");
    assert_eq!(refusal.fail_info, PkiFailureInfo::CERT_REVOKED);
    second
        .revoke(&revocation(&second, &kept, None), at)
        .expect("issued before the restart");
    // Certificates issued after the restart still chain to the same root.
    let later = issue(&second, &key(KeyType::P256), "CN=later.example", at);
    let out = openssl_verify(&dir, &second, &later, &[]);
    assert!(out.contains("leaf.pem: OK"), "{out}");
}

#[test]
fn corrupt_directory_files_are_reported_by_name_and_line() {
    let dir = Scratch::new("corrupt");
    let config = TestCaConfig {
        directory: Some(dir.path("ca")),
        ..TestCaConfig::default()
    };
    let first = ca_with(config.clone());
    issue(&first, &key(KeyType::P256), "CN=fine.example", now());
    drop(first);

    let log = dir.path("ca").join("issued.log");
    let mut text = std::fs::read_to_string(&log).expect("issued.log");
    text.push_str("not-a-serial 12\n");
    std::fs::write(&log, text).expect("write issued.log");
    match TestCa::new(config.clone()) {
        Err(TestCaError::Corrupt { path, line, .. }) => {
            assert_eq!(path, log);
            assert_eq!(line, 2);
        }
        other => panic!("expected a corrupt issued.log, got {other:?}"),
    }
    std::fs::write(&log, "").expect("truncate issued.log");

    // A key that is not the certificate's.
    let key_path = dir.path("ca").join("issuing.key");
    let stranger = key(KeyType::P256).to_pkcs8_pem().expect("PEM");
    std::fs::write(&key_path, stranger.as_bytes()).expect("write issuing.key");
    let err = TestCa::new(config.clone()).expect_err("wrong key");
    assert!(
        matches!(&err, TestCaError::Corrupt { path, .. } if path == &key_path),
        "{err:?}"
    );
    assert!(err.to_string().contains("issuing.key"), "{err}");

    std::fs::write(dir.path("ca").join("root.pem"), "garbage").expect("write root.pem");
    let err = TestCa::new(config).expect_err("garbage root.pem");
    assert!(err.to_string().contains("root.pem"), "{err}");
}

#[test]
fn rsa_2048_ca_keys_sign_what_openssl_verifies() {
    let ca = ca_with(TestCaConfig {
        key_type: KeyType::Rsa(2048),
        ..TestCaConfig::default()
    });
    assert_eq!(
        ca.issuing()
            .tbs_certificate()
            .subject_public_key_info()
            .algorithm
            .oid,
        oid::RSA_ENCRYPTION
    );
    let at = now();
    let cert = issue(&ca, &key(KeyType::P256), "CN=under-rsa.example", at);
    let dir = Scratch::new("rsa");
    let out = openssl_verify(&dir, &ca, &cert, &[]);
    assert!(out.contains("leaf.pem: OK"), "{out}");

    ca.revoke(&revocation(&ca, &cert, None), at)
        .expect("revoke");
    dir.write_crl("crl.pem", &ca.crl(at).expect("CRL"));
    dir.write_certs("cas.pem", &[ca.issuing(), ca.root()]);
    let out = openssl_ok(
        &dir.0,
        &[
            "crl", "-in", "crl.pem", "-CAfile", "cas.pem", "-verify", "-noout",
        ],
    );
    assert!(out.contains("verify OK"), "{out}");
}
