//! CertificateRequests carrying CSRs made by `openssl req` (tests/fixtures/csr/, made by
//! its `make.sh`) turned into CMP requests: every field of the spec and the CSR checked
//! in the CRMF template as it decodes from the wire, p10cr forwarded byte for byte,
//! tampered, weak and malformed input refused with its own error and never a panic, and
//! the requests issued by the test CA in process.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::{Transport, TransportError};
use cmp_client::{Client, ClientConfig};
use cmp_proto::crmf::{CertReqMsg, ProofOfPossession};
use cmp_proto::oid;
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};
use cmp_server::ca::TestCaConfig;
use cmp_server::{Credentials, MacCredential, Responder, TestCa};
use cmpv2_issuer::api::RequestType;
use cmpv2_issuer::cert_manager::{CertificateRequestSpec, IssuerRef};
use cmpv2_issuer::csr::{self, CsrError, CsrLimits, RequestedCertificate, eku};
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Any, Ia5String, OctetString};
use der::flagset::FlagSet;
use der::{Decode, Encode, Tag};
use k8s_openapi::ByteString;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::request::CertReq;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/csr/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The DER of a fixture, decoded independently of the code under test.
fn der_of(name: &str) -> Vec<u8> {
    let bytes = fixture(name);
    if name.ends_with(".der") {
        return bytes;
    }
    let (label, der) = der::pem::decode_vec(&bytes).expect("PEM fixture");
    assert_eq!(label, "CERTIFICATE REQUEST");
    der
}

fn csr_of(name: &str) -> CertReq {
    CertReq::from_der(&der_of(name)).expect("CSR fixture")
}

fn spec(
    request: Vec<u8>,
    duration: Option<&str>,
    usages: &[&str],
    is_ca: bool,
) -> CertificateRequestSpec {
    CertificateRequestSpec {
        request: ByteString(request),
        issuer_ref: IssuerRef {
            name: "ca".into(),
            kind: Some("CMPv2Issuer".into()),
            group: Some("cmpv2-issuer.dev".into()),
        },
        duration: duration.map(str::to_owned),
        usages: usages.iter().map(|u| (*u).to_owned()).collect(),
        is_ca,
    }
}

/// cert-manager's usages for the p256 fixture's keyUsage and extendedKeyUsage.
const P256_USAGES: [&str; 4] = [
    "digital signature",
    "key encipherment",
    "server auth",
    "client auth",
];

fn requested(
    name: &str,
    duration: Option<&str>,
    usages: &[&str],
    is_ca: bool,
) -> RequestedCertificate {
    RequestedCertificate::from_spec(&spec(fixture(name), duration, usages, is_ca))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn refusal(name: &str, duration: Option<&str>, usages: &[&str], is_ca: bool) -> CsrError {
    refusal_of(fixture(name), duration, usages, is_ca)
}

fn refusal_of(request: Vec<u8>, duration: Option<&str>, usages: &[&str], is_ca: bool) -> CsrError {
    match RequestedCertificate::from_spec(&spec(request, duration, usages, is_ca)) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

/// A fixed "now" with a fraction of a second, which the template must drop.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_767_225_600_250) // 2026-01-01T00:00:00.250Z
}

/// The `cr` for a request, as the CA will decode it from the wire.
fn wire_cr(requested: &RequestedCertificate) -> CertReqMsg {
    match requested.cmp_request(RequestType::Cr, now()).expect("cr") {
        EnrollmentRequest::Cr(msg) => {
            CertReqMsg::from_der(&msg.to_der().expect("encode")).expect("decode")
        }
        other => panic!("not a cr: {other:?}"),
    }
}

fn extension(msg: &CertReqMsg, id: ObjectIdentifier) -> Option<&Extension> {
    msg.cert_req
        .cert_template
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == id)
}

fn csr_extension(csr: &CertReq, id: ObjectIdentifier) -> Extension {
    let attribute = csr
        .info
        .attributes
        .iter()
        .find(|a| a.oid == x509_cert::request::ExtensionReq::OID)
        .expect("extensionRequest");
    let value = attribute.values.iter().next().expect("one value");
    let exts = Vec::<Extension>::from_der(&value.to_der().expect("der")).expect("extensions");
    exts.into_iter()
        .find(|e| e.extn_id == id)
        .expect("extension in the CSR")
}

fn ia5(s: &str) -> Ia5String {
    Ia5String::new(s).expect("IA5")
}

#[test]
fn every_field_of_the_p256_request_lands_in_the_crmf_template() {
    let requested = requested("p256.csr.pem", Some("2160h0m0s"), &P256_USAGES, false);
    let csr = csr_of("p256.csr.pem");
    let msg = wire_cr(&requested);
    let template = &msg.cert_req.cert_template;

    assert_eq!(msg.cert_req.cert_req_id, 0);
    assert_eq!(
        msg.popo,
        Some(ProofOfPossession::RaVerified(der::asn1::Null))
    );
    assert!(msg.reg_info.is_none() && msg.cert_req.controls.is_none());
    assert_eq!(template.subject.as_ref(), Some(&csr.info.subject));
    assert_eq!(
        template
            .subject
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("CN=app.example,O=Example Org")
    );
    assert_eq!(template.public_key.as_ref(), Some(&csr.info.public_key));
    assert!(template.issuer.is_none() && template.serial_number.is_none());

    // notAfter only: now + 90 days, in whole seconds.
    let validity = template.validity.as_ref().expect("validity");
    assert!(validity.not_before.is_none());
    assert_eq!(
        validity.not_after.expect("notAfter").to_unix_duration(),
        Duration::from_secs(1_767_225_600 + 2160 * 3600)
    );

    // Every SAN, in order and untouched, not critical beside a subject.
    let san = extension(&msg, SubjectAltName::OID).expect("subjectAltName");
    assert!(!san.critical);
    assert_eq!(
        san.extn_value,
        csr_extension(&csr, SubjectAltName::OID).extn_value
    );
    let names = SubjectAltName::from_der(san.extn_value.as_bytes())
        .expect("SAN")
        .0;
    let upn = OtherName {
        type_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3"),
        // [0] EXPLICIT UTF8String; `value` is what the tag wraps.
        value: Any::new(Tag::Utf8String, "app@example.org".as_bytes()).expect("UTF8String"),
    };
    assert_eq!(
        names,
        vec![
            GeneralName::DnsName(ia5("app.example")),
            GeneralName::DnsName(ia5("www.app.example")),
            GeneralName::IpAddress(OctetString::new([10, 0, 0, 1]).expect("ip")),
            GeneralName::IpAddress(
                OctetString::new(
                    "2001:db8::1"
                        .parse::<std::net::Ipv6Addr>()
                        .expect("v6")
                        .octets()
                )
                .expect("ip")
            ),
            GeneralName::Rfc822Name(ia5("ops@app.example")),
            GeneralName::UniformResourceIdentifier(ia5("spiffe://cluster.local/ns/default/sa/app")),
            GeneralName::OtherName(upn),
        ]
    );
    assert_eq!(requested.sans(), names.as_slice());

    let ku = extension(&msg, KeyUsage::OID).expect("keyUsage");
    assert!(ku.critical);
    assert_eq!(
        KeyUsage::from_der(ku.extn_value.as_bytes()).expect("KU").0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    let ext_ku = extension(&msg, ExtendedKeyUsage::OID).expect("extendedKeyUsage");
    assert!(!ext_ku.critical);
    assert_eq!(
        ExtendedKeyUsage::from_der(ext_ku.extn_value.as_bytes())
            .expect("EKU")
            .0,
        vec![eku::SERVER_AUTH, eku::CLIENT_AUTH]
    );
    assert!(extension(&msg, BasicConstraints::OID).is_none(), "not a CA");
    assert_eq!(template.extensions.as_ref().map(Vec::len), Some(3));

    // ir carries the same CertReqMsg.
    match requested.cmp_request(RequestType::Ir, now()).expect("ir") {
        EnrollmentRequest::Ir(ir) => assert_eq!(ir, msg),
        other => panic!("not an ir: {other:?}"),
    }
}

#[test]
fn empty_usages_ask_for_digital_signature_and_key_encipherment() {
    let msg = wire_cr(&requested("p384.csr.pem", Some("1h"), &[], false));
    let ku = extension(&msg, KeyUsage::OID).expect("keyUsage");
    assert_eq!(
        KeyUsage::from_der(ku.extn_value.as_bytes()).expect("KU").0,
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    );
    assert!(extension(&msg, ExtendedKeyUsage::OID).is_none());
}

#[test]
fn usages_without_key_usage_bits_send_no_key_usage() {
    let msg = wire_cr(&requested(
        "p384.csr.pem",
        None,
        &["server auth", "any", "server auth"],
        false,
    ));
    assert!(extension(&msg, KeyUsage::OID).is_none());
    let ext_ku = extension(&msg, ExtendedKeyUsage::OID).expect("extendedKeyUsage");
    assert_eq!(
        ExtendedKeyUsage::from_der(ext_ku.extn_value.as_bytes())
            .expect("EKU")
            .0,
        vec![eku::SERVER_AUTH, eku::ANY]
    );
}

#[test]
fn is_ca_asks_for_cert_sign_and_critical_basic_constraints() {
    for name in ["p384.csr.pem", "ca-p256.csr.pem"] {
        let msg = wire_cr(&requested(name, Some("8760h"), &[], true));
        let bc = extension(&msg, BasicConstraints::OID).expect("basicConstraints");
        assert!(bc.critical, "{name}");
        assert_eq!(
            BasicConstraints::from_der(bc.extn_value.as_bytes()).expect("BC"),
            BasicConstraints {
                ca: true,
                path_len_constraint: None
            },
            "{name}"
        );
        let ku = extension(&msg, KeyUsage::OID).expect("keyUsage");
        assert_eq!(
            KeyUsage::from_der(ku.extn_value.as_bytes()).expect("KU").0,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment | KeyUsages::KeyCertSign,
            "{name}"
        );
    }
}

#[test]
fn empty_subject_makes_the_subject_alt_name_critical() {
    let requested = requested("ed25519.csr.pem", Some("24h"), &[], false);
    assert!(requested.subject().is_empty());
    let msg = wire_cr(&requested);
    let san = extension(&msg, SubjectAltName::OID).expect("subjectAltName");
    assert!(san.critical);
    assert_eq!(
        SubjectAltName::from_der(san.extn_value.as_bytes())
            .expect("SAN")
            .0,
        vec![GeneralName::DnsName(ia5("ed.example"))]
    );
    assert_eq!(
        msg.cert_req
            .cert_template
            .subject
            .as_ref()
            .map(|s| s.is_empty()),
        Some(true)
    );
}

#[test]
fn other_requested_extensions_are_forwarded_as_requested() {
    let requested = requested("rsa2048.csr.pem", None, &[], false);
    let policies = csr_extension(&csr_of("rsa2048.csr.pem"), CertificatePolicies::OID);
    assert_eq!(
        requested.other_extensions(),
        std::slice::from_ref(&policies)
    );
    let msg = wire_cr(&requested);
    assert_eq!(extension(&msg, CertificatePolicies::OID), Some(&policies));
    // The extensions set from the spec come first, the forwarded ones after.
    let ids: Vec<_> = msg
        .cert_req
        .cert_template
        .extensions
        .iter()
        .flatten()
        .map(|e| e.extn_id)
        .collect();
    assert_eq!(
        ids,
        vec![SubjectAltName::OID, KeyUsage::OID, CertificatePolicies::OID]
    );
}

#[test]
fn without_duration_the_validity_is_left_to_the_ca() {
    let msg = wire_cr(&requested("p384.csr.pem", None, &[], false));
    assert!(msg.cert_req.cert_template.validity.is_none());
}

#[test]
fn validity_past_2049_is_generalized_time() {
    // 2026 + 200 years, well inside Go's 292-year limit.
    let msg = wire_cr(&requested("p384.csr.pem", Some("1753200h"), &[], false));
    let not_after = msg
        .cert_req
        .cert_template
        .validity
        .expect("validity")
        .not_after
        .expect("notAfter");
    assert!(matches!(
        not_after,
        cmp_proto::time::TemplateTime::GeneralTime(_)
    ));
    assert_eq!(
        not_after.to_unix_duration(),
        Duration::from_secs(1_767_225_600 + 1_753_200 * 3600)
    );
}

const VALID: [(&str, ObjectIdentifier, ObjectIdentifier); 6] = [
    ("p256.csr.pem", oid::EC_PUBLIC_KEY, oid::ECDSA_WITH_SHA256),
    ("p384.csr.pem", oid::EC_PUBLIC_KEY, oid::ECDSA_WITH_SHA384),
    ("rsa2048.csr.pem", oid::RSA_ENCRYPTION, oid::SHA256_WITH_RSA),
    (
        "rsa2048-sha512.csr.der",
        oid::RSA_ENCRYPTION,
        oid::SHA512_WITH_RSA,
    ),
    (
        "rsa4096-sha384.csr.pem",
        oid::RSA_ENCRYPTION,
        oid::SHA384_WITH_RSA,
    ),
    ("ed25519.csr.pem", oid::ED25519, oid::ED25519),
];

fn usages_for(name: &str) -> &'static [&'static str] {
    if name == "p256.csr.pem" {
        &P256_USAGES
    } else {
        &[]
    }
}

#[test]
fn verifies_ecdsa_rsa_and_ed25519_csrs_in_pem_and_der() {
    for (name, key, signature) in VALID {
        let csr = csr_of(name);
        // The fixture is what its name says.
        assert_eq!(
            (csr.info.public_key.algorithm.oid, csr.algorithm.oid),
            (key, signature),
            "{name}"
        );
        let requested = requested(name, Some("720h"), usages_for(name), false);
        assert_eq!(requested.public_key(), &csr.info.public_key, "{name}");
        assert_eq!(requested.csr_der(), der_of(name).as_slice(), "{name}");
    }
}

#[test]
fn p10cr_forwards_the_csr_byte_for_byte() {
    for (name, _, _) in VALID {
        let requested = requested(name, Some("720h"), usages_for(name), false);
        match requested
            .cmp_request(RequestType::P10cr, now())
            .expect("p10cr")
        {
            EnrollmentRequest::P10cr(csr) => {
                assert_eq!(csr.to_der().expect("der"), der_of(name), "{name}");
            }
            other => panic!("{name}: not a p10cr: {other:?}"),
        }
    }
    // DER in, the same DER out.
    let der = fixture("rsa2048-sha512.csr.der");
    match csr::cmp_request(
        &spec(der.clone(), None, &[], false),
        RequestType::P10cr,
        now(),
    )
    .expect("p10cr")
    {
        EnrollmentRequest::P10cr(csr) => assert_eq!(csr.to_der().expect("der"), der),
        other => panic!("not a p10cr: {other:?}"),
    }
}

#[test]
fn tampered_csr_is_refused_for_its_signature() {
    let refused = refusal("p256-tampered.csr.pem", None, &P256_USAGES, false);
    assert!(matches!(refused, CsrError::BadSignature), "{refused}");
    // The fixture differs from the genuine one in the subject only.
    assert_ne!(
        csr_of("p256-tampered.csr.pem").info.subject,
        csr_of("p256.csr.pem").info.subject
    );
    assert_eq!(
        csr_of("p256-tampered.csr.pem").signature,
        csr_of("p256.csr.pem").signature
    );

    // A flipped bit in the signature value itself, for each algorithm.
    for (name, _, _) in VALID {
        let mut der = der_of(name);
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let refused = refusal_of(der, None, usages_for(name), false);
        assert!(
            matches!(refused, CsrError::BadSignature),
            "{name}: {refused}"
        );
    }
}

#[test]
fn signature_algorithm_parameters_are_checked() {
    // The signature does not cover signatureAlgorithm, so its parameters are checked as
    // RFC 4055 §5 fixes them for RSA: NULL or absent, nothing else.
    let with_params = |name: &str, params: Option<Any>| {
        let mut csr = csr_of(name);
        csr.algorithm.parameters = params;
        csr.to_der().expect("der")
    };
    let absent = with_params("rsa2048.csr.pem", None);
    RequestedCertificate::from_spec(&spec(absent, None, &[], false)).expect("absent is allowed");
    let text = Any::new(Tag::Utf8String, "x".as_bytes()).expect("any");
    let refused = refusal_of(
        with_params("rsa2048.csr.pem", Some(text.clone())),
        None,
        &[],
        false,
    );
    assert!(
        matches!(
            refused,
            CsrError::Malformed {
                what: "signatureAlgorithm",
                ..
            }
        ),
        "{refused}"
    );
    // ECDSA and Ed25519 take none at all (RFC 5758 §3.2, RFC 8410 §3).
    for name in ["p384.csr.pem", "ed25519.csr.pem"] {
        let refused = refusal_of(with_params(name, Some(Any::null())), None, &[], false);
        assert!(
            matches!(
                refused,
                CsrError::Malformed {
                    what: "signatureAlgorithm",
                    ..
                }
            ),
            "{name}: {refused}"
        );
    }
}

#[test]
fn csr_that_names_nobody_is_refused() {
    let refused = refusal("nameless.csr.pem", None, &[], false);
    assert!(matches!(refused, CsrError::NoName), "{refused}");
}

#[test]
fn weak_and_unsupported_keys_are_refused() {
    let refused = refusal("rsa1024.csr.pem", None, &[], false);
    assert!(matches!(refused, CsrError::UnusableKey { .. }), "{refused}");
    assert!(refused.to_string().contains("2048"), "{refused}");
    let refused = refusal("p521.csr.pem", None, &[], false);
    assert!(
        matches!(refused, CsrError::UnsupportedAlgorithm { .. }),
        "{refused}"
    );
}

#[test]
fn unknown_usage_is_refused() {
    let refused = refusal(
        "p384.csr.pem",
        None,
        &["digital signature", "serverAuth"],
        false,
    );
    match refused {
        CsrError::UnknownUsage { usage } => assert_eq!(usage, "serverAuth"),
        other => panic!("{other}"),
    }
}

#[test]
fn bad_duration_is_refused() {
    for duration in ["90d", "", "-1h", "0s", "1h30", "9999999999h"] {
        let refused = refusal("p384.csr.pem", Some(duration), &[], false);
        assert!(
            matches!(refused, CsrError::BadDuration { .. }),
            "{duration:?}: {refused}"
        );
    }
}

#[test]
fn csr_usages_must_match_the_spec() {
    // The p256 CSR asks for digitalSignature, keyEncipherment, serverAuth, clientAuth.
    for usages in [
        &["digital signature", "key encipherment", "server auth"][..],
        &["digital signature", "server auth", "client auth"],
        &[],
        &[
            "digital signature",
            "key encipherment",
            "server auth",
            "client auth",
            "code signing",
        ],
    ] {
        let refused = refusal("p256.csr.pem", None, usages, false);
        assert!(
            matches!(refused, CsrError::UsagesMismatch { .. }),
            "{usages:?}: {refused}"
        );
    }
    // isCA adds cert sign, which the CSR does not ask for.
    let refused = refusal("p256.csr.pem", None, &P256_USAGES, true);
    assert!(
        matches!(refused, CsrError::UsagesMismatch { .. }),
        "{refused}"
    );
    // Order and aliases do not matter.
    requested(
        "p256.csr.pem",
        None,
        &[
            "client auth",
            "server auth",
            "key encipherment",
            "signing",
            "server auth",
        ],
        false,
    );
}

#[test]
fn csr_basic_constraints_must_match_is_ca() {
    let refused = refusal(
        "ca-p256.csr.pem",
        None,
        &["digital signature", "key encipherment", "cert sign"],
        false,
    );
    match refused {
        CsrError::IsCaMismatch { csr, spec } => assert!(csr && !spec),
        other => panic!("{other}"),
    }
}

#[test]
fn input_that_is_not_a_csr_is_refused() {
    let certificate_pem = b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    for input in [
        &b""[..],
        b"not a CSR",
        b"\x30\x03\x02\x01\x00",
        certificate_pem,
    ] {
        let refused = refusal_of(input.to_vec(), None, &[], false);
        assert!(
            matches!(refused, CsrError::NotACsr { .. }),
            "{input:?}: {refused}"
        );
    }
    // Trailing bytes after the DER CSR.
    let mut der = der_of("p384.csr.pem");
    der.push(0);
    let refused = refusal_of(der, None, &[], false);
    assert!(matches!(refused, CsrError::NotACsr { .. }), "{refused}");
    // PEM with explanatory text before it and CRLF line ends is still a CSR.
    let pem = String::from_utf8(fixture("p384.csr.pem"))
        .expect("text")
        .replace('\n', "\r\n");
    let with_text = format!("Subject: CN=p384.example\r\n{pem}");
    RequestedCertificate::from_spec(&spec(with_text.into_bytes(), None, &[], false))
        .expect("PEM with text");
}

#[test]
fn sizes_and_counts_are_bounded() {
    let refused = refusal_of(vec![0x30; 96 * 1024 + 1], None, &[], false);
    assert!(
        matches!(
            refused,
            CsrError::TooLarge {
                what: "spec.request in bytes",
                ..
            }
        ),
        "{refused}"
    );

    let parse = |limits: &CsrLimits| {
        RequestedCertificate::parse(
            &spec(fixture("p256.csr.pem"), None, &P256_USAGES, false),
            limits,
        )
    };
    let limits = CsrLimits::default();
    parse(&limits).expect("within the defaults");
    for (limits, what) in [
        (
            CsrLimits {
                max_sans: 6,
                ..limits.clone()
            },
            "subjectAltName entries",
        ),
        (
            CsrLimits {
                max_extensions: 2,
                ..limits.clone()
            },
            "requested extensions",
        ),
        (
            CsrLimits {
                max_csr_len: 400,
                ..limits.clone()
            },
            "CSR in bytes",
        ),
        (
            CsrLimits {
                max_attributes: 0,
                ..limits.clone()
            },
            "CSR attributes",
        ),
    ] {
        match parse(&limits) {
            Err(CsrError::TooLarge { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn no_input_makes_it_panic() {
    let check = |bytes: &[u8]| {
        // Anything may be refused; nothing may panic, and what is accepted is a CSR.
        if let Ok(r) =
            RequestedCertificate::from_spec(&spec(bytes.to_vec(), Some("1h"), &[], false))
        {
            let _ = r.cmp_request(RequestType::Cr, now());
        }
    };
    for name in ["p256.csr.pem", "ed25519.csr.pem", "rsa2048.csr.pem"] {
        let pem = fixture(name);
        let der = der_of(name);
        for end in 0..pem.len() {
            check(&pem[..end]);
        }
        for end in 0..der.len() {
            check(&der[..end]);
        }
        // Every single-byte change to a signed CSR is refused.
        for i in 0..der.len() {
            let mut changed = der.clone();
            changed[i] ^= 0xa5;
            let result =
                RequestedCertificate::from_spec(&spec(changed, None, usages_for(name), false));
            assert!(
                result.is_err(),
                "{name}: byte {i} changed and still accepted"
            );
        }
    }
    // Pseudo-random buffers, half of them starting as a SEQUENCE does.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let len = (next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 && !bytes.is_empty() {
            bytes[0] = 0x30;
        }
        check(&bytes);
    }
}

// The whole path against the test CA, in process, with the issuer acting as an RA.

const RA_REF: &[u8] = b"cmpv2-issuer";
const SECRET: &str = "issuer-ra-secret";

struct InProcess(Arc<Responder<TestCa>>);

impl Transport for InProcess {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.handle(request, SystemTime::now()).bytes)
    }
}

/// A client of the test CA whose MAC credential may send raVerified.
fn ra_client() -> Client<InProcess> {
    let ca = TestCa::new(TestCaConfig::default()).expect("test CA");
    let root = ca.root().clone();
    let mut rc = ca.responder_config();
    rc.credentials = Credentials::default();
    rc.credentials.mac.insert(
        RA_REF.to_vec(),
        MacCredential {
            secret: SharedSecret::from(SECRET),
            may_act_as_ra: true,
        },
    );
    let protector = Protector::Mac {
        secret: SharedSecret::from(SECRET),
        reference: Some(RA_REF.to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let trust = Trust {
        secret: Some(SharedSecret::from(SECRET)),
        anchors: vec![root],
        ..Trust::default()
    };
    Client::new(
        ClientConfig::new(protector, trust),
        InProcess(Arc::new(Responder::new(rc, ca))),
    )
}

fn certificate_extension(cert: &Certificate, id: ObjectIdentifier) -> Option<Extension> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == id)
        .cloned()
}

#[test]
fn cr_from_an_openssl_csr_is_issued_with_what_the_request_asks() {
    let csr = csr_of("p256.csr.pem");
    let requested = requested("p256.csr.pem", Some("720h"), &P256_USAGES, false);
    let start = SystemTime::now();
    let request = requested.cmp_request(RequestType::Cr, start).expect("cr");
    let enrolled = ra_client().enroll(request).expect("issued");
    assert!(!enrolled.granted_with_mods);

    let cert = &enrolled.certificate;
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.subject(), &csr.info.subject);
    assert_eq!(tbs.subject_public_key_info(), &csr.info.public_key);
    let san = certificate_extension(cert, SubjectAltName::OID).expect("subjectAltName");
    assert_eq!(
        san.extn_value,
        csr_extension(&csr, SubjectAltName::OID).extn_value
    );
    assert!(!san.critical);
    let ku = certificate_extension(cert, KeyUsage::OID).expect("keyUsage");
    assert_eq!(
        KeyUsage::from_der(ku.extn_value.as_bytes()).expect("KU").0,
        FlagSet::from(KeyUsages::DigitalSignature) | KeyUsages::KeyEncipherment
    );
    let ext_ku = certificate_extension(cert, ExtendedKeyUsage::OID).expect("extendedKeyUsage");
    assert_eq!(
        ExtendedKeyUsage::from_der(ext_ku.extn_value.as_bytes())
            .expect("EKU")
            .0,
        vec![eku::SERVER_AUTH, eku::CLIENT_AUTH]
    );
    let start_secs = start
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert_eq!(
        tbs.validity().not_after.to_unix_duration(),
        Duration::from_secs(start_secs + 720 * 3600)
    );
    assert!(tbs.validity().not_before.to_system_time() <= start);
}

#[test]
fn p10cr_from_an_openssl_csr_is_issued_for_its_key_and_names() {
    let csr = csr_of("rsa2048.csr.pem");
    let request = csr::cmp_request(
        &spec(fixture("rsa2048.csr.pem"), None, &[], false),
        RequestType::P10cr,
        SystemTime::now(),
    )
    .expect("p10cr");
    let enrolled = ra_client().enroll(request).expect("issued");
    let tbs = enrolled.certificate.tbs_certificate();
    assert_eq!(tbs.subject(), &csr.info.subject);
    assert_eq!(tbs.subject_public_key_info(), &csr.info.public_key);
    assert_eq!(
        certificate_extension(&enrolled.certificate, SubjectAltName::OID).map(|e| e.extn_value),
        Some(csr_extension(&csr, SubjectAltName::OID).extn_value)
    );
}
