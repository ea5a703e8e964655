//! Transactions in flight, by transactionID, and the IDs of recent ones
//! (RFC 4210 §5.1.1: one transactionID for all messages of a transaction).
//!
//! Both tables are bounded: at most [`ResponderLimits::max_transactions`] in flight, each
//! for at most its lifetime; finished IDs are remembered for the replay window only, so
//! memory stays flat under any steady load.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use cmp_proto::protection::HashAlg;
use x509_cert::Certificate;

use crate::authority::{CertificationRequest, RequestKind};
use crate::config::ResponderLimits;
use crate::error::Error;

/// Where a transaction stands.
#[derive(Clone, Debug)]
pub(crate) enum Stage {
    /// The CA answered "waiting"; the requester polls (RFC 4210 §5.3.22).
    Polling {
        /// The request, to ask the CA again.
        request: Box<CertificationRequest>,
        /// pollReqs answered so far.
        attempt: u32,
    },
    /// A certificate was issued and awaits certConf (RFC 4210 §5.3.18).
    AwaitingConfirmation {
        /// The certificate issued.
        certificate: Box<Certificate>,
    },
}

/// One transaction in flight.
#[derive(Clone, Debug)]
pub(crate) struct Transaction {
    /// Which request started it.
    pub kind: RequestKind,
    /// The certReqId of the request (-1 for p10cr).
    pub cert_req_id: i64,
    /// Whether the requester asked for implicit confirmation.
    pub implicit_confirm_asked: bool,
    /// Who started it: later messages must come from the same credential.
    pub requester_id: RequesterId,
    /// The senderNonce of our last message, which the next request must echo.
    pub our_last_nonce: Vec<u8>,
    /// The stage.
    pub stage: Stage,
    /// When it is abandoned.
    pub expires: SystemTime,
}

/// A comparable identity of a requester: the MAC reference or the signer certificate's
/// DER hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequesterId {
    Mac(Vec<u8>),
    Signer([u8; 32]),
}

/// A transaction taken out of the table because it expired unconfirmed.
pub(crate) struct Expired {
    /// The certificate that was never confirmed, to be revoked.
    pub unconfirmed: Option<Box<Certificate>>,
}

/// 128 bits of SHA-256 of a transactionID: a compact key for the replay window.
fn fingerprint(transaction_id: &[u8]) -> u128 {
    let digest = HashAlg::Sha256.digest(transaction_id);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// The tables. The responder keeps them behind one mutex, held only for map operations.
#[derive(Debug)]
pub(crate) struct Transactions {
    limits: ResponderLimits,
    /// Open transactions. Few at a time (bounded by `max_transactions`); the sweep scans
    /// them, so nothing is kept for a transaction once it ends.
    open: HashMap<Vec<u8>, Transaction>,
    /// transactionIDs seen since the last rotation, and in the generation before.
    /// Rotating every replay window keeps each ID for one to two windows, at about 20
    /// bytes an ID, with no per-ID timestamp.
    seen: HashSet<u128>,
    seen_before: HashSet<u128>,
    rotated_at: SystemTime,
}

impl Transactions {
    pub fn new(limits: ResponderLimits) -> Self {
        Self {
            limits,
            open: HashMap::new(),
            seen: HashSet::new(),
            seen_before: HashSet::new(),
            rotated_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// Claims `transaction_id` for a new transaction of `requester`: refuses one seen
    /// within the replay window (a replayed or reused ID, RFC 4210 §5.1.1) and, when
    /// `opens` is set, one that would exceed the in-flight bound, overall or for this
    /// requester.
    pub fn claim(
        &mut self,
        transaction_id: &[u8],
        now: SystemTime,
        opens: Option<&RequesterId>,
    ) -> Result<(), Error> {
        self.rotate(now);
        let key = fingerprint(transaction_id);
        if self.seen.contains(&key)
            || self.seen_before.contains(&key)
            || self.open.contains_key(transaction_id)
        {
            return Err(Error::TransactionIdInUse);
        }
        if let Some(requester) = opens {
            if self.open.len() >= self.limits.max_transactions {
                return Err(Error::Busy);
            }
            // A scan of at most max_transactions entries, only for a new transaction.
            let own = self
                .open
                .values()
                .filter(|t| &t.requester_id == requester)
                .count();
            if own >= self.limits.max_transactions_per_requester {
                return Err(Error::RequesterBusy);
            }
        }
        self.seen.insert(key);
        Ok(())
    }

    /// The replay window: twice the clock skew allowed, so that a replay either meets
    /// its ID here or carries a messageTime too old to pass.
    fn replay_window(&self) -> std::time::Duration {
        self.limits.max_clock_skew * 2
    }

    /// Starts a new generation of remembered IDs once a window has passed.
    fn rotate(&mut self, now: SystemTime) {
        let window = self.replay_window();
        if now < self.rotated_at + window {
            return;
        }
        if now >= self.rotated_at + window * 2 {
            self.seen_before.clear();
        } else {
            self.seen_before = std::mem::take(&mut self.seen);
        }
        self.seen.clear();
        self.rotated_at = now;
    }

    /// Stores (or updates) an open transaction, expiring `lifetime` from `now`.
    pub fn store(
        &mut self,
        transaction_id: Vec<u8>,
        mut transaction: Transaction,
        now: SystemTime,
    ) {
        transaction.expires = now + self.limits.transaction_lifetime;
        self.open.insert(transaction_id, transaction);
    }

    /// Takes an open transaction out of the table (the caller stores it back if it goes on).
    pub fn take(&mut self, transaction_id: &[u8], now: SystemTime) -> Result<Transaction, Error> {
        match self.open.remove(transaction_id) {
            Some(t) if t.expires > now => Ok(t),
            Some(t) => {
                // Expired but not yet swept: put it back for the sweep to revoke.
                self.open.insert(transaction_id.to_vec(), t);
                Err(Error::UnknownTransaction)
            }
            None => Err(Error::UnknownTransaction),
        }
    }

    /// Returns a transaction taken by [`Self::take`] unchanged.
    pub fn put_back(&mut self, transaction_id: Vec<u8>, transaction: Transaction) {
        self.open.insert(transaction_id, transaction);
    }

    /// Removes what expired by `now`: forgotten IDs, and abandoned transactions, whose
    /// unconfirmed certificates are returned to be revoked (RFC 4210 §5.3.18).
    pub fn sweep(&mut self, now: SystemTime) -> Vec<Expired> {
        self.rotate(now);
        let mut expired = Vec::new();
        self.open.retain(|_, t| {
            if t.expires > now {
                return true;
            }
            expired.push(Expired {
                unconfirmed: match &t.stage {
                    Stage::AwaitingConfirmation { certificate } => Some(certificate.clone()),
                    Stage::Polling { .. } => None,
                },
            });
            false
        });
        expired
    }

    /// Transactions in flight.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// transactionIDs remembered for the replay window.
    pub fn seen_count(&self) -> usize {
        self.seen.len() + self.seen_before.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn table() -> Transactions {
        Transactions::new(ResponderLimits::default())
    }

    #[test]
    fn a_transaction_id_is_refused_for_at_least_the_replay_window() {
        let mut t = table();
        let start = SystemTime::now();
        let window = ResponderLimits::default().max_clock_skew * 2;
        t.claim(b"0123456789abcdef", start, None).expect("first");
        // Just before and after a rotation, still remembered.
        for later in [
            Duration::from_secs(1),
            window - Duration::from_secs(1),
            window,
        ] {
            assert!(matches!(
                t.claim(b"0123456789abcdef", start + later, None),
                Err(Error::TransactionIdInUse)
            ));
        }
        // Two windows on, forgotten: memory does not grow with time.
        t.claim(b"0123456789abcdef", start + window * 3, None)
            .expect("forgotten after the window");
        assert_eq!(t.seen_count(), 1);
    }

    #[test]
    fn new_transactions_beyond_the_bound_are_refused_busy() {
        let mut t = Transactions::new(ResponderLimits {
            max_transactions: 0,
            ..ResponderLimits::default()
        });
        let requester = RequesterId::Mac(b"r".to_vec());
        assert!(matches!(
            t.claim(b"0123456789abcdef", SystemTime::now(), Some(&requester)),
            Err(Error::Busy)
        ));
    }
}
