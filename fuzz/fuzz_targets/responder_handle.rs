//! The responder's request handling (cmp-server): any bytes as a request to the test CA,
//! MAC credential and signer anchors configured, must give an answer, never a panic; an
//! answer that is not empty must decode as a PKIMessage.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use cmp_proto::protection::SharedSecret;
use cmp_proto::{Limits, ReceivedMessage};
use cmp_server::{Credentials, Responder, TestCa, TestCaConfig};
use libfuzzer_sys::fuzz_target;

fn responder() -> &'static Responder<TestCa> {
    static RESPONDER: OnceLock<Responder<TestCa>> = OnceLock::new();
    RESPONDER.get_or_init(|| {
        let ca = TestCa::new(TestCaConfig::default()).expect("test CA");
        let mut config = ca.responder_config();
        // The secret and reference of the fixtures the corpus is seeded with.
        config.credentials = Credentials::default()
            .with_mac(b"1234".to_vec(), SharedSecret::from("cmp-fixture-secret"))
            .with_signer_anchor(ca.root().clone());
        Responder::new(config, ca)
    })
}

fuzz_target!(|data: &[u8]| {
    let response = responder().handle(data, SystemTime::now());
    if !response.bytes.is_empty() {
        ReceivedMessage::decode(&response.bytes, &Limits::default())
            .expect("every answer decodes");
    }
});
