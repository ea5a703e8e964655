//! Real messages captured from OpenSSL 3.0 (`fixtures/capture.sh`): each decodes,
//! re-encodes byte for byte, verifies with the known secret or certificate, and fails
//! verification once altered.

use std::path::{Path, PathBuf};

use cmp_proto::der::{Decode, DecodePem, Encode};
use cmp_proto::protection::{ProtectionKind, SharedSecret, verify_mac, verify_signature};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{BodyType, Error, Limits, PkiMessage, ReceivedMessage};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn der_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture directory exists") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            out.extend(der_files(&path));
        } else if path.extension().is_some_and(|e| e == "der") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn secret() -> SharedSecret {
    let text = std::fs::read_to_string(fixtures().join("keys/secret.txt")).expect("secret.txt");
    SharedSecret::from(text.trim_end_matches(['\r', '\n']))
}

fn known_certs() -> Vec<Certificate> {
    ["client.pem", "server.pem", "ee.pem", "root.pem"]
        .iter()
        .map(|f| {
            let pem = std::fs::read(fixtures().join("keys").join(f)).expect("cert file");
            Certificate::from_pem(&pem).expect("PEM certificate")
        })
        .collect()
}

/// Verifies a message's protection: MAC with the known secret, or signature by a
/// certificate that is ours (byte-equal to one of the key files) and sits first in
/// extraCerts.
fn verify(received: &ReceivedMessage, certs: &[Certificate]) -> Result<(), Error> {
    let limits = Limits::default();
    let alg = received
        .message
        .header
        .protection_alg
        .as_ref()
        .ok_or(Error::Unprotected)?;
    match ProtectionKind::of(alg)? {
        ProtectionKind::Mac => verify_mac(received, &secret(), &limits),
        ProtectionKind::Signature => {
            let signer = received
                .message
                .extra_certs
                .as_ref()
                .and_then(|c| c.first())
                .expect("signed fixture carries its signer in extraCerts");
            assert!(
                certs.contains(signer),
                "signer must be one of the fixture certificates"
            );
            verify_signature(
                received,
                signer.tbs_certificate().subject_public_key_info(),
                &limits,
            )
        }
    }
}

fn expected_body(path: &Path) -> BodyType {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("file name");
    match stem.split('_').next().expect("non-empty") {
        "ir" => BodyType::Ir,
        "ip" => BodyType::Ip,
        "cr" => BodyType::Cr,
        "cp" => BodyType::Cp,
        "kur" => BodyType::Kur,
        "kup" => BodyType::Kup,
        "p10cr" => BodyType::P10cr,
        "rr" => BodyType::Rr,
        "rp" => BodyType::Rp,
        "genm" => BodyType::Genm,
        "genp" => BodyType::Genp,
        "certConf" => BodyType::CertConf,
        "pkiConf" => BodyType::PkiConf,
        "pollReq" => BodyType::PollReq,
        "pollRep" => BodyType::PollRep,
        "error" => BodyType::Error,
        other => panic!("fixture {other} has no expected body type"),
    }
}

#[test]
fn every_fixture_decodes_reencodes_exactly_and_verifies() {
    let certs = known_certs();
    let files = der_files(&fixtures());
    assert!(
        files.len() >= 60,
        "expected the full capture, found {} files",
        files.len()
    );
    let mut kinds = std::collections::HashSet::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("fixture readable");
        let received = ReceivedMessage::decode(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            received.message.body.body_type(),
            expected_body(path),
            "{}",
            path.display()
        );
        kinds.insert(received.message.body.body_type());
        let again = received.message.to_der().expect("re-encodes");
        assert_eq!(again, bytes, "{} re-encodes differently", path.display());
        verify(&received, &certs).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let in_dir = |d: &str| path.components().any(|c| c.as_os_str() == d);
        let alg = received
            .message
            .header
            .protection_alg
            .as_ref()
            .expect("protected");
        let kind = ProtectionKind::of(alg).expect("known algorithm");
        assert_eq!(
            kind == ProtectionKind::Mac,
            in_dir("mac"),
            "{}",
            path.display()
        );
    }
    assert_eq!(kinds.len(), 16, "every captured body type: {kinds:?}");
}

/// Flips one byte of the senderNonce: the message still decodes, but its protection
/// must no longer verify.
#[test]
fn every_fixture_fails_verification_once_altered() {
    let certs = known_certs();
    for path in der_files(&fixtures()) {
        let mut bytes = std::fs::read(&path).expect("fixture readable");
        let msg = PkiMessage::from_der(&bytes).expect("decodes");
        let nonce = msg
            .header
            .sender_nonce
            .expect("fixtures carry a senderNonce");
        let nonce = nonce.as_bytes();
        let at = bytes
            .windows(nonce.len())
            .position(|w| w == nonce)
            .expect("nonce bytes present");
        bytes[at] ^= 0x01;
        let received = ReceivedMessage::decode(&bytes, &Limits::default()).expect("still decodes");
        match verify(&received, &certs) {
            Err(Error::ProtectionInvalid { .. }) => {}
            other => panic!("{}: altered message gave {other:?}", path.display()),
        }
    }
}

#[test]
fn openssl_ip_carries_the_enrolled_certificate() {
    let bytes = std::fs::read(fixtures().join("mac/ir/ip.der")).expect("ip fixture");
    let msg = PkiMessage::from_der(&bytes).expect("decodes");
    let rep = msg.body.cert_rep().expect("ip body");
    assert_eq!(rep.response.len(), 1);
    let resp = &rep.response[0];
    assert_eq!(resp.cert_req_id, 0);
    assert!(resp.status.status.is_granted());
    let ee = Certificate::from_pem(std::fs::read(fixtures().join("keys/ee.pem")).expect("ee.pem"))
        .expect("PEM");
    assert_eq!(resp.certificate(), Some(&ee));
}

#[test]
fn openssl_rejection_carries_fail_info_and_text() {
    let bytes = std::fs::read(fixtures().join("mac/rejection/ip_rejection.der")).expect("fixture");
    let msg = PkiMessage::from_der(&bytes).expect("decodes");
    let status = &msg.body.cert_rep().expect("ip").response[0].status;
    assert_eq!(status.status, cmp_proto::PkiStatus::Rejection);
    assert!(!status.failure_info().is_empty(), "{status}");
    assert!(status.text().is_some(), "{status}");
}

/// BouncyCastle writes messageTime with milliseconds (`20261204180647.062Z`; the leading
/// zero of the fraction kept, trailing zeros dropped as DER wants): read as such, checked
/// and written back byte for byte (tests/fixtures/bouncycastle/README.md made it).
#[test]
fn bouncycastle_message_time_with_milliseconds_is_read_and_kept() {
    for (file, fraction) in [
        ("bouncycastle/mac/ir_bc-client-pbmac1-ms.der", "062"),
        ("bouncycastle/mac/ip_bc-server-ms.der", "531"),
    ] {
        let bytes = std::fs::read(fixtures().join(file)).expect("fixture");
        let received = ReceivedMessage::decode(&bytes, &Limits::default()).expect(file);
        let time = received.message.header.message_time.expect("messageTime");
        assert_eq!(time.fraction(), Some(fraction), "{file}");
        assert!(
            time.to_string().ends_with(&format!(".{fraction}Z")),
            "{time}"
        );
        verify_mac(&received, &secret(), &Limits::default()).expect(file);
        assert_eq!(
            received.message.to_der().expect("re-encodes"),
            bytes,
            "{file}"
        );
    }
}
