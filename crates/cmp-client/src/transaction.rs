//! Sans-IO transactions (after rustls): a transaction takes the peer's bytes and returns
//! the next bytes to send or its result. No sockets, no clocks of its own: the caller
//! passes `now`, so the same code runs under a blocking loop, an async task, a replay of
//! captured messages or a fuzzer.
//!
//! Driving an enrollment by hand, with any way of moving bytes:
//!
//! ```no_run
//! use std::time::SystemTime;
//! use cmp_client::transaction::{Enrollment, EnrollmentRequest, Next};
//! use cmp_client::{ClientConfig, checks::Trust};
//! use cmp_proto::builder::CertRequestBuilder;
//! use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
//!
//! # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = SharedSecret::from("insta");
//! let config = ClientConfig::new(
//!     Protector::Mac { secret: secret.clone(), reference: Some(b"1234".to_vec()), algorithm: MacAlgorithm::default() },
//!     Trust { secret: Some(secret), ..Trust::default() },
//! );
//! let key = SigningKey::generate(KeyType::P256)?;
//! let ir = CertRequestBuilder::new(key.public_key_info()?)
//!     .subject("CN=device-1".parse()?)
//!     .sign_pop(&key)?;
//! let (mut tx, mut request) = Enrollment::start(&config, EnrollmentRequest::Ir(ir), SystemTime::now())?;
//! let enrolled = loop {
//!     let response = post(&request); // HTTP, a queue, a file: the transaction does not care
//!     match tx.receive(&config, &response, SystemTime::now()) {
//!         Ok(Next::Done(enrolled)) => break enrolled,
//!         Ok(Next::Send { transaction, request: next, wait }) => {
//!             std::thread::sleep(wait); // checkAfter while polling, else zero
//!             (tx, request) = (transaction, next);
//!         }
//!         Err(failed) => {
//!             // Tell the CA, when it may still hold the transaction open; its answer
//!             // changes nothing.
//!             if let Some(error_message) = &failed.error_message {
//!                 let _ = post(error_message);
//!             }
//!             return Err(failed.error.into());
//!         }
//!     }
//! };
//! println!("{}", enrolled.certificate.tbs_certificate().subject());
//! # Ok(()) }
//! ```
//!
//! A process that may restart mid-enrollment and must not enroll twice takes
//! [`Enrollment::checkpoint`] before each request goes out, stores
//! [`InFlightEnrollment::to_bytes`], and after a restart goes on with
//! [`Enrollment::resume`], which polls or confirms again, or gives the transaction up
//! when the first answer was lost ([`Resumption`]).

mod enrollment;
mod exchange;
pub(crate) mod general;
mod revocation;

pub use enrollment::{
    Awaiting, Enrolled, Enrollment, EnrollmentRequest, Failed, InFlightEnrollment, Resumption,
};
pub use general::GeneralMessage;
pub use revocation::Revocation;

use std::time::Duration;

/// What to do after a response was accepted.
#[derive(Debug)]
pub enum Next<T, R> {
    /// Wait `wait`, then send `request` and pass the answer to `transaction`.
    Send {
        /// The transaction, in its next state.
        transaction: T,
        /// The DER request.
        request: Vec<u8>,
        /// How long to wait before sending (checkAfter while polling).
        wait: Duration,
    },
    /// The transaction is over.
    Done(R),
}
