//! The certificate path search (cmp-client's `validate_chain`, also the server's signer
//! check): certificates decoded one after another from the bytes, the first as the
//! leaf, the rest as intermediates, against the fixture root, must give a result within
//! the signature budget, never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use cmp_client::checks::validate_chain;
use cmp_proto::Limits;
use cmp_proto::der::{Decode, DecodePem, Encode};
use cmp_proto::x509_cert::Certificate;
use libfuzzer_sys::fuzz_target;

fn root() -> &'static Certificate {
    static ROOT: OnceLock<Certificate> = OnceLock::new();
    ROOT.get_or_init(|| {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/cmp-proto/tests/fixtures/keys/root.pem"
        ))
        .expect("root");
        Certificate::from_pem(pem).expect("PEM")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut certs = Vec::new();
    let mut rest = data;
    while certs.len() < 33 {
        let Ok((cert, tail)) = Certificate::from_der_partial(rest) else {
            break;
        };
        certs.push(cert);
        rest = tail;
    }
    let Some((leaf, intermediates)) = certs.split_first() else {
        return;
    };
    let _ = leaf.to_der();
    let _ = validate_chain(
        leaf,
        intermediates,
        std::slice::from_ref(root()),
        SystemTime::now(),
        &Limits::default(),
    );
});
