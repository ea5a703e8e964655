//! OpenSSL's mock server from `crates/openssl-peer`, and the fixture key material
//! typed as cmp-proto values.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

use cmp_proto::der::DecodePem;
use cmp_proto::protection::SigningKey;
use cmp_proto::x509_cert::Certificate;

pub use openssl_peer::{MockServer, secret};

pub fn keys() -> PathBuf {
    openssl_peer::keys_dir()
}

pub fn key(file: &str) -> SigningKey {
    SigningKey::from_pem(&std::fs::read_to_string(keys().join(file)).expect("key"))
        .expect("key parses")
}

pub fn cert(file: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(keys().join(file)).expect("cert")).expect("cert parses")
}
