//! What a client and a server spend per message: decode + verify of an ip (MAC and
//! ECDSA), and build + protect of an ir (with its signature POP).
//!
//! `cargo bench -p cmp-proto --bench protocol`; figures go in docs/benchmarks.md.

use std::path::Path;
use std::str::FromStr;

use cmp_proto::builder::{CertRequestBuilder, HeaderBuilder};
use cmp_proto::der::{DecodePem, Encode};
use cmp_proto::protection::{
    MacAlgorithm, Protector, SharedSecret, SigningKey, verify_mac, verify_signature,
};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{Limits, PkiBody, ReceivedMessage};
use criterion::{Criterion, criterion_group, criterion_main};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .expect("fixture")
}

fn key(file: &str) -> SigningKey {
    SigningKey::from_pem(&String::from_utf8(fixture(&format!("keys/{file}"))).expect("utf8"))
        .expect("key")
}

fn cert(file: &str) -> Certificate {
    Certificate::from_pem(fixture(&format!("keys/{file}"))).expect("cert")
}

fn secret() -> SharedSecret {
    SharedSecret::new(fixture("keys/secret.txt"))
}

fn decode_verify(c: &mut Criterion) {
    let limits = Limits::default();
    let mac_ip = fixture("mac/ir/ip.der");
    let secret = secret();
    c.bench_function("decode+verify ip (PBM: SHA-256 x500, HMAC-SHA1)", |b| {
        b.iter(|| {
            let msg = ReceivedMessage::decode(&mac_ip, &limits).expect("decodes");
            verify_mac(&msg, &secret, &limits).expect("verifies");
        })
    });
    let sig_ip = fixture("sig/ir/ip.der");
    let server = cert("server.pem");
    let spki = server.tbs_certificate().subject_public_key_info().clone();
    c.bench_function("decode+verify ip (ECDSA P-256)", |b| {
        b.iter(|| {
            let msg = ReceivedMessage::decode(&sig_ip, &limits).expect("decodes");
            verify_signature(&msg, &spki, &limits).expect("verifies");
        })
    });
    c.bench_function("decode ip (no verification)", |b| {
        b.iter(|| ReceivedMessage::decode(&sig_ip, &limits).expect("decodes"))
    });
}

fn build_protect(c: &mut Criterion) {
    let ee_key = key("ee.key");
    let subject = Name::from_str("CN=CMP End Entity").expect("DN");
    let sender = GeneralName::DirectoryName(subject.clone());
    let recipient = GeneralName::DirectoryName(Name::from_str("CN=CA").expect("DN"));
    let mac = Protector::Mac {
        secret: secret(),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let sig = Protector::Signature {
        key: key("client.key"),
        certificate: Box::new(cert("client.pem")),
        chain: vec![],
    };
    for (name, protector) in [
        ("build+protect ir (P-256 POP, PBM)", &mac),
        ("build+protect ir (P-256 POP, ECDSA P-256)", &sig),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let req = CertRequestBuilder::new(ee_key.public_key_info().expect("spki"))
                    .subject(subject.clone())
                    .sign_pop(&ee_key)
                    .expect("POP");
                HeaderBuilder::new(sender.clone(), recipient.clone())
                    .expect("header")
                    .build(PkiBody::Ir(vec![req]), Some(protector))
                    .expect("builds")
                    .to_der()
                    .expect("encodes")
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(50);
    targets = decode_verify, build_protect
}
criterion_main!(benches);
