//! Sans-IO transactions (after rustls): a transaction takes the peer's bytes and returns
//! the next bytes to send or its result. No sockets, no clocks of its own: the caller
//! passes `now`, so the same code runs under a blocking loop, an async task, a replay of
//! captured messages or a fuzzer.

mod enrollment;
mod exchange;
mod general;
mod revocation;

pub use enrollment::{Enrolled, Enrollment, EnrollmentRequest};
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
