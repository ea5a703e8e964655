//! Signing one CertificateRequest over CMP without ever obtaining two certificates for
//! it: the transaction in flight is written to a [`Journal`] (the request's annotation in
//! the cluster) before every message goes out, and a later attempt, by this process
//! after a "waiting" answer or by another after a restart, resumes from it: it polls or
//! confirms instead of enrolling again (RFC 4210 §5.3.18, §5.3.22; RFC 9483 §4.1.1,
//! §4.4).
//!
//! A "waiting" answer does not hold a worker: the checkpoint is written and the attempt
//! ends with [`Signed::Waiting`]; the controller requeues the request for when the CA
//! said to ask again.

use std::future::Future;
use std::time::{Duration, SystemTime};

use cmp_client::Error as CmpError;
use cmp_client::asynchronous::AsyncTransport;
use cmp_client::transaction::{
    Awaiting, Enrolled, Enrollment, EnrollmentRequest, InFlightEnrollment, Next, Resumption,
};
use spki::SubjectPublicKeyInfoOwned;

use crate::ca::CaClient;

/// The shortest wait before a pollReq (RFC 4210 §5.3.22). Polling never holds a worker:
/// every pollReq ends the attempt with [`Signed::Waiting`], so a CA that keeps answering
/// `checkAfter` 0 is asked once a second, not in a loop.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Where the transaction in flight for one request is kept, durably, before each
/// message is sent.
///
/// Writes are conditional on the journal being current (the cluster's journal names the
/// resourceVersion it last read): a writer that lost that race gets an error, and then
/// sends nothing.
pub trait Journal {
    /// The error of a write.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores `checkpoint` ([`InFlightEnrollment::to_bytes`]) in place of the previous
    /// one. It must be durable when this returns: the message goes out right after.
    fn record(&mut self, checkpoint: &[u8])
    -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes the checkpoint: the transaction is over at the CA, or never reached it,
    /// so the next attempt starts a fresh one.
    fn clear(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Signed {
    /// The certificate, checked and confirmed.
    Issued(Box<Enrolled>),
    /// The CA said "waiting": the checkpoint is recorded; try again after this long.
    Waiting(Duration),
}

/// Why an attempt failed.
#[derive(Debug)]
pub enum SignError {
    /// The CMP exchange failed (classify with [`crate::ca::disposition`]).
    Cmp(CmpError),
    /// The checkpoint could not be written, so nothing was sent.
    Journal(Box<dyn std::error::Error + Send + Sync>),
    /// The recorded checkpoint does not decode: whether the CA holds a transaction is
    /// unknown, so the request is not enrolled again automatically.
    CorruptCheckpoint(CmpError),
    /// The answer to the first request was lost and the request asked for implicit
    /// confirmation: the CA may hold a final certificate, and enrolling again could make
    /// a second one.
    MayAlreadyBeIssued,
    /// The recorded checkpoint is for another key than the request's CSR: it was not
    /// written for this request.
    CheckpointForAnotherKey,
    /// The CSR could not be turned into a CMP request.
    Request(String),
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cmp(e) => write!(f, "{e}"),
            Self::Journal(e) => write!(f, "cannot record the transaction before sending: {e}"),
            Self::CorruptCheckpoint(e) => write!(
                f,
                "the recorded transaction is unreadable ({e}); not enrolling again, since the \
                 CA may hold a certificate for it"
            ),
            Self::MayAlreadyBeIssued => f.write_str(
                "the answer to the first request was lost and implicit confirmation was \
                 asked for: the CA may already hold a final certificate, so the request is \
                 not enrolled again",
            ),
            Self::CheckpointForAnotherKey => f.write_str(
                "the recorded transaction is for another public key than this request's \
                 CSR; not resuming it",
            ),
            Self::Request(reason) => write!(f, "the CSR cannot be sent: {reason}"),
        }
    }
}

impl std::error::Error for SignError {}

impl From<CmpError> for SignError {
    fn from(error: CmpError) -> Self {
        Self::Cmp(error)
    }
}

/// Signs one request: resumes the transaction in `checkpoint` when there is one, else
/// starts a fresh enrollment with what `request` builds. `requested_key` is the CSR's
/// public key: a checkpoint for any other key is refused. Every message is journaled
/// before it is sent.
///
/// A transaction that is over (the CA answered and the exchange failed, or we ended it
/// with an error message) has its checkpoint cleared, so that a retry starts afresh;
/// only one whose outcome at the CA is unknown keeps it.
pub async fn sign<J: Journal>(
    client: &CaClient,
    journal: &mut J,
    checkpoint: Option<&[u8]>,
    requested_key: &SubjectPublicKeyInfoOwned,
    request: impl FnOnce() -> Result<EnrollmentRequest, String>,
) -> Result<Signed, SignError> {
    if let Some(bytes) = checkpoint {
        let in_flight =
            InFlightEnrollment::from_bytes(bytes).map_err(SignError::CorruptCheckpoint)?;
        if in_flight.requested_key() != requested_key {
            return Err(SignError::CheckpointForAnotherKey);
        }
        match Enrollment::resume(client.config(), in_flight, SystemTime::now()) {
            Ok(Resumption::Send {
                transaction,
                request,
                wait,
            }) => {
                if !wait.is_zero() {
                    // Not yet: the recorded checkpoint stays as it is.
                    return Ok(Signed::Waiting(wait));
                }
                return drive(client, journal, transaction, request).await;
            }
            Ok(Resumption::Abandoned {
                error_message,
                implicit_confirm_requested,
            }) => {
                if implicit_confirm_requested {
                    // The checkpoint stays, for a person to look at; rewriting it proves
                    // this writer is current before the CA hears from it.
                    journal_write(journal.record(bytes)).await?;
                    let _ = client.transport().send(error_message).await;
                    return Err(SignError::MayAlreadyBeIssued);
                }
                journal_write(journal.clear()).await?;
                // Best effort: the answer and any failure change nothing.
                let _ = client.transport().send(error_message).await;
            }
            Err(failed) => {
                if let Some(message) = failed.error_message {
                    journal_write(journal.clear()).await?;
                    let _ = client.transport().send(message).await;
                }
                return Err(SignError::Cmp(failed.error));
            }
        }
    }
    let request = request().map_err(SignError::Request)?;
    let (transaction, bytes) = Enrollment::start(client.config(), request, SystemTime::now())?;
    drive(client, journal, transaction, bytes).await
}

/// Sends `request` and what follows, journaling each step first, until the certificate
/// comes, the CA says to wait or a pollReq is due, or the transaction fails.
async fn drive<J: Journal>(
    client: &CaClient,
    journal: &mut J,
    mut transaction: Enrollment,
    mut request: Vec<u8>,
) -> Result<Signed, SignError> {
    loop {
        let awaiting = record(journal, &transaction).await?;
        let response = match client.transport().send(request).await {
            Ok(response) => response,
            Err(error) => {
                if awaiting == Awaiting::Certificate && error.request_undelivered() {
                    // The CA never saw the first request: nothing to resume. Best
                    // effort; a checkpoint left behind is abandoned at the next attempt.
                    let _ = journal.clear().await;
                }
                return Err(SignError::Cmp(error.into()));
            }
        };
        match transaction.receive(client.config(), &response, SystemTime::now()) {
            Ok(Next::Done(enrolled)) => return Ok(Signed::Issued(Box::new(enrolled))),
            Ok(Next::Send {
                transaction: next,
                request: next_request,
                wait,
            }) => {
                if !wait.is_zero() || next.checkpoint().awaiting() == Awaiting::PollRep {
                    record(journal, &next).await?;
                    return Ok(Signed::Waiting(wait.max(MIN_POLL_INTERVAL)));
                }
                transaction = next;
                request = next_request;
            }
            Err(failed) => return Err(ended(client, journal, failed).await),
        }
    }
}

/// The CA answered and the transaction failed: unless its outcome is unknown, the
/// checkpoint is cleared and the CA told, if it may still hold the transaction open.
async fn ended<J: Journal>(
    client: &CaClient,
    journal: &mut J,
    failed: cmp_client::transaction::Failed,
) -> SignError {
    if matches!(failed.error, CmpError::ConfirmationOutcomeUnknown { .. }) {
        return SignError::Cmp(failed.error);
    }
    // A writer that is no longer current sends nothing; the CA's own timeout ends it.
    if journal.clear().await.is_ok()
        && let Some(message) = failed.error_message
    {
        let _ = client.transport().send(message).await;
    }
    SignError::Cmp(failed.error)
}

/// Records `transaction`'s checkpoint; returns what its next request waits for.
async fn record<J: Journal>(
    journal: &mut J,
    transaction: &Enrollment,
) -> Result<Awaiting, SignError> {
    let checkpoint = transaction.checkpoint();
    let bytes = checkpoint.to_bytes()?;
    journal_write(journal.record(&bytes)).await?;
    Ok(checkpoint.awaiting())
}

async fn journal_write<E: std::error::Error + Send + Sync + 'static>(
    write: impl Future<Output = Result<(), E>>,
) -> Result<(), SignError> {
    write.await.map_err(|e| SignError::Journal(Box::new(e)))
}
