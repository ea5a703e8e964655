//! Key material and small constructors shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cmp_proto::builder::HeaderBuilder;
use cmp_proto::der::DecodePem;
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret, SigningKey};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use std::str::FromStr;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn key(file: &str) -> SigningKey {
    let pem = std::fs::read_to_string(fixtures().join("keys").join(file)).expect("key file");
    SigningKey::from_pem(&pem).expect("key parses")
}

pub fn cert(file: &str) -> Certificate {
    let pem = std::fs::read(fixtures().join("keys").join(file)).expect("cert file");
    Certificate::from_pem(&pem).expect("certificate parses")
}

pub fn name(dn: &str) -> GeneralName {
    GeneralName::DirectoryName(Name::from_str(dn).expect("DN parses"))
}

pub fn header() -> HeaderBuilder {
    HeaderBuilder::new(name("CN=client"), name("CN=ca")).expect("header")
}

pub fn mac(algorithm: MacAlgorithm) -> Protector {
    Protector::Mac {
        secret: SharedSecret::from("correct horse"),
        reference: Some(b"ref-1".to_vec()),
        algorithm,
    }
}

pub fn signer(key_file: &str) -> Protector {
    Protector::Signature {
        key: key(key_file),
        certificate: Box::new(cert("client.pem")),
        chain: vec![cert("root.pem")],
    }
}
