//! The in-flight checkpoint decoder (cmp-client): any bytes, as an issuer would read them
//! back from an annotation, decode to a checkpoint or an error; a checkpoint re-encodes
//! and resumes (or refuses to) without a panic.
#![no_main]

use std::time::SystemTime;

use cmp_client::ClientConfig;
use cmp_client::checks::Trust;
use cmp_client::transaction::{Enrollment, InFlightEnrollment};
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(in_flight) = InFlightEnrollment::from_bytes(data) else {
        return;
    };
    let again = in_flight.to_bytes().expect("a decoded checkpoint encodes");
    InFlightEnrollment::from_bytes(&again).expect("and decodes again");
    let secret = SharedSecret::from("fuzz");
    let config = ClientConfig::new(
        Protector::Mac {
            secret: secret.clone(),
            reference: Some(b"fuzz".to_vec()),
            algorithm: MacAlgorithm::default(),
        },
        Trust {
            secret: Some(secret),
            ..Trust::default()
        },
    );
    let _ = Enrollment::resume(&config, in_flight, SystemTime::now());
});
