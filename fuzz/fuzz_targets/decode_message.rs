//! Decodes arbitrary bytes as a PKIMessage; when that succeeds, the message must
//! re-encode to exactly the same bytes and its protection check must return (not panic).
#![no_main]

use cmp_proto::der::Encode;
use cmp_proto::protection::{SharedSecret, verify_mac};
use cmp_proto::{Limits, ReceivedMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(received) = ReceivedMessage::decode(data, &limits) {
        let again = received.message.to_der().expect("a decoded message re-encodes");
        assert_eq!(again, data, "what decodes must re-encode exactly");
        let _ = verify_mac(&received, &SharedSecret::from("fuzz"), &limits);
        if let cmp_proto::PkiBody::Nested(nested) = &received.message.body {
            let _ = nested.messages(&limits);
        }
    }
});
