//! Each client transaction's `receive` (cmp-client): any bytes as the answer to an ir,
//! an rr and a genm must end in a result or an error, never a panic. The first byte
//! picks the transaction.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use cmp_client::ClientConfig;
use cmp_client::checks::Trust;
use cmp_client::transaction::{Enrollment, EnrollmentRequest, GeneralMessage, Revocation};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::der::DecodePem;
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret, SigningKey};
use cmp_proto::InfoTypeAndValue;
use cmp_proto::x509_cert::Certificate;
use libfuzzer_sys::fuzz_target;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/cmp-proto/tests/fixtures/keys/");

struct Setup {
    config: ClientConfig,
    key: SigningKey,
    ee: Certificate,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let read = |f: &str| std::fs::read(format!("{KEYS}{f}")).expect("fixture");
        let secret = SharedSecret::from("cmp-fixture-secret");
        let root = Certificate::from_pem(read("root.pem")).expect("root");
        let config = ClientConfig::new(
            Protector::Mac {
                secret: secret.clone(),
                reference: Some(b"1234".to_vec()),
                algorithm: MacAlgorithm::default(),
            },
            Trust {
                secret: Some(secret),
                anchors: vec![root],
                ..Trust::default()
            },
        );
        let key = SigningKey::from_pem(std::str::from_utf8(&read("ee.key")).expect("utf-8"))
            .expect("key");
        let ee = Certificate::from_pem(read("ee.pem")).expect("ee");
        Setup { config, key, ee }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, answer)) = data.split_first() else {
        return;
    };
    let s = setup();
    let now = SystemTime::now();
    match which % 3 {
        0 => {
            let request = CertRequestBuilder::new(s.key.public_key_info().expect("spki"))
                .subject(s.ee.tbs_certificate().subject().clone())
                .sign_pop(&s.key)
                .expect("pop");
            let (tx, _) = Enrollment::start(&s.config, EnrollmentRequest::Ir(request), now)
                .expect("ir");
            let _ = tx.receive(&s.config, answer, now);
        }
        1 => {
            let (tx, _) = Revocation::start(&s.config, s.ee.clone(), None).expect("rr");
            let _ = tx.receive(&s.config, answer, now);
        }
        _ => {
            let ask = vec![InfoTypeAndValue::request(cmp_proto::oid::IT_CA_CERTS)];
            let (tx, _) = GeneralMessage::start(&s.config, ask).expect("genm");
            let _ = tx.receive(&s.config, answer, now);
        }
    }
});
