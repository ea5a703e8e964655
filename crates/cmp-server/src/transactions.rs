//! Transactions in flight, by transactionID, and the IDs of recent ones
//! (RFC 4210 §5.1.1: one transactionID for all messages of a transaction).
//!
//! Both tables are bounded: at most [`ResponderLimits::max_transactions`] in flight, each
//! for at most its lifetime; finished IDs are remembered for the replay window only, so
//! memory stays flat under any steady load.

use std::collections::{HashMap, VecDeque};
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
    open: HashMap<Vec<u8>, Transaction>,
    /// Open transactions in expiry order (an entry may be stale: the map decides).
    open_expiry: VecDeque<(SystemTime, Vec<u8>)>,
    /// transactionIDs seen, until the end of the replay window.
    seen: HashMap<u128, SystemTime>,
    seen_expiry: VecDeque<(SystemTime, u128)>,
}

impl Transactions {
    pub fn new(limits: ResponderLimits) -> Self {
        Self {
            limits,
            open: HashMap::new(),
            open_expiry: VecDeque::new(),
            seen: HashMap::new(),
            seen_expiry: VecDeque::new(),
        }
    }

    /// Claims `transaction_id` for a new transaction: refuses one seen within the replay
    /// window (a replayed or reused ID, RFC 4210 §5.1.1) and, when `opens` is set, one
    /// that would exceed the in-flight bound.
    pub fn claim(
        &mut self,
        transaction_id: &[u8],
        now: SystemTime,
        opens: bool,
    ) -> Result<(), Error> {
        let key = fingerprint(transaction_id);
        if self.seen.contains_key(&key) || self.open.contains_key(transaction_id) {
            return Err(Error::TransactionIdInUse);
        }
        if opens && self.open.len() >= self.limits.max_transactions {
            return Err(Error::Busy);
        }
        let until = now + self.limits.replay_window;
        self.seen.insert(key, until);
        self.seen_expiry.push_back((until, key));
        Ok(())
    }

    /// Stores (or updates) an open transaction, expiring `lifetime` from `now`.
    pub fn store(
        &mut self,
        transaction_id: Vec<u8>,
        mut transaction: Transaction,
        now: SystemTime,
    ) {
        transaction.expires = now + self.limits.transaction_lifetime;
        self.open_expiry
            .push_back((transaction.expires, transaction_id.clone()));
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

    /// Returns a transaction taken by [`Self::take`] unchanged (its expiry still queued).
    pub fn put_back(&mut self, transaction_id: Vec<u8>, transaction: Transaction) {
        self.open.insert(transaction_id, transaction);
    }

    /// Removes what expired by `now`: forgotten IDs, and abandoned transactions, whose
    /// unconfirmed certificates are returned to be revoked (RFC 4210 §5.3.18).
    pub fn sweep(&mut self, now: SystemTime) -> Vec<Expired> {
        while let Some(&(until, key)) = self.seen_expiry.front() {
            if until > now {
                break;
            }
            self.seen_expiry.pop_front();
            if self.seen.get(&key).is_some_and(|t| *t <= now) {
                self.seen.remove(&key);
            }
        }
        let mut expired = Vec::new();
        while let Some((until, _)) = self.open_expiry.front() {
            if *until > now {
                break;
            }
            let Some((_, id)) = self.open_expiry.pop_front() else {
                break;
            };
            if self.open.get(&id).is_some_and(|t| t.expires <= now)
                && let Some(t) = self.open.remove(&id)
            {
                expired.push(Expired {
                    unconfirmed: match t.stage {
                        Stage::AwaitingConfirmation { certificate } => Some(certificate),
                        Stage::Polling { .. } => None,
                    },
                });
            }
        }
        expired
    }

    /// Transactions in flight.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// transactionIDs remembered for the replay window.
    pub fn seen_count(&self) -> usize {
        self.seen.len()
    }
}
