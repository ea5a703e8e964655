//! No input makes decoding panic or recurse without bound (issue: "no panic on any
//! input"). Arbitrary bytes, and real messages with random damage, must decode to a
//! value or to an error.

mod common;

use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{SharedSecret, verify_mac};
use cmp_proto::{Limits, PkiMessage, ReceivedMessage};
use proptest::prelude::*;

fn fixture_messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in [
        "mac/ir",
        "mac/poll",
        "mac/rr",
        "mac/genm",
        "sig/kur",
        "sig/p10cr",
        "mac/error",
    ] {
        for entry in std::fs::read_dir(common::fixtures().join(dir)).expect("fixture dir") {
            out.push(std::fs::read(entry.expect("entry").path()).expect("fixture"));
        }
    }
    out
}

/// Decodes, and when that succeeds, re-encodes and checks the protection: every path a
/// received message takes through this crate.
fn exercise(bytes: &[u8]) {
    if let Ok(received) = ReceivedMessage::decode(bytes, &Limits::default()) {
        let again = received
            .message
            .to_der()
            .expect("a decoded message re-encodes");
        assert_eq!(
            again, bytes,
            "DER is canonical: what decodes re-encodes exactly"
        );
        let _ = verify_mac(&received, &SharedSecret::from("x"), &Limits::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn damaged_real_messages_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
        cut in any::<u16>(),
    ) {
        let messages = fixture_messages();
        let mut bytes = messages[which % messages.len()].clone();
        for (at, value) in edits {
            let at = at as usize % bytes.len();
            bytes[at] = value;
        }
        let keep = bytes.len() - (cut as usize % 4);
        bytes.truncate(keep);
        exercise(&bytes);
    }
}

#[test]
fn deeply_nested_message_does_not_recurse() {
    // 200,000 nested [20] bodies in 1.4 MB: decoding must not follow them.
    let inner = std::fs::read(common::fixtures().join("mac/genm/genm.der")).expect("fixture");
    let msg = PkiMessage::from_der(&inner).expect("fixture decodes");
    let mut bytes = inner.clone();
    for _ in 0..200_000 {
        // SEQUENCE { header, [20] { SEQUENCE OF { bytes } } }, header taken from genm.
        let header = msg.header.to_der().expect("header");
        let seq_of = tlv(0x30, &bytes);
        let nested = tlv(0xB4, &seq_of);
        let mut content = header;
        content.extend_from_slice(&nested);
        bytes = tlv(0x30, &content);
        if bytes.len() > 1_400_000 {
            break;
        }
    }
    let limits = Limits {
        max_message_size: 2 << 20,
        ..Limits::default()
    };
    let received = ReceivedMessage::decode(&bytes, &limits).expect("one level decodes");
    let cmp_proto::PkiBody::Nested(nested) = &received.message.body else {
        panic!("nested")
    };
    assert_eq!(
        nested.messages(&limits).expect("next level decodes").len(),
        1
    );
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}
