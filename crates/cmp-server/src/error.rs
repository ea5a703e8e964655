//! Why a request was refused, and the failInfo each reason is answered with
//! (RFC 4210 §5.2.3, RFC 9483 §3.5 and §3.6.4).

use std::fmt;

use cmp_proto::{BodyType, PkiFailureInfo};

/// A request the responder refuses before (or instead of) asking the CA.
///
/// Each variant becomes an error message whose failInfo is [`Error::fail_info`] and whose
/// status text is the `Display` form, so the requester learns what to fix.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request does not decode as a PKIMessage, or breaks a size limit.
    Malformed(cmp_proto::Error),
    /// pvno other than 2 or 3.
    UnsupportedVersion(u8),
    /// A header field RFC 9483 §3.1 requires is missing or malformed.
    BadHeader(&'static str),
    /// messageTime too far from our clock (RFC 4210 §5.1.1).
    BadTime,
    /// No messageTime, and the responder requires it.
    MissingMessageTime,
    /// No protection, and this request needs it (RFC 9483 §3.2).
    Unprotected,
    /// The MAC reference (senderKID) names no credential we hold. Answered exactly as a
    /// MAC that does not verify, so that references cannot be enumerated; only the
    /// label (logs, metrics) tells them apart.
    UnknownReference,
    /// The protection did not verify.
    BadProtection(cmp_proto::Error),
    /// The signer is not trusted, or its certificate is unfit.
    UntrustedSigner(String),
    /// The request is signed with a certificate the CA has revoked.
    SignerRevoked,
    /// The protection kind is not allowed for this request (RFC 9483 §4.1.3: kur needs a
    /// signature by the certificate being updated).
    WrongIntegrity(&'static str),
    /// A new transaction reused a transactionID (in flight or recently finished): a replay.
    TransactionIdInUse,
    /// certConf, pollReq or error for a transaction we do not hold (expired, finished,
    /// or never started).
    UnknownTransaction,
    /// recipNonce is not the senderNonce of our last message in the transaction.
    BadRecipientNonce,
    /// A follow-up message came from another requester than the one that started the
    /// transaction.
    NotTheRequester,
    /// The body is not one we answer, or not one expected at this point.
    UnexpectedBody(BodyType),
    /// The request's content is not acceptable (wrong count, missing key, bad IDs).
    BadRequest(&'static str),
    /// The proof-of-possession is missing or does not verify.
    BadPop(String),
    /// raVerified from a requester not registered as an RA.
    RaVerifiedNotAllowed,
    /// The requester may not revoke this certificate (the revocation policy).
    RevocationNotAllowed,
    /// certConf names another certificate than the one issued.
    BadCertHash,
    /// The certificate to update or revoke is unknown, revoked or not the requester's.
    BadCertId(&'static str),
    /// Too many transactions in flight.
    Busy,
    /// Too many transactions in flight for this requester.
    RequesterBusy,
    /// Something on our side failed (randomness, encoding).
    Internal(cmp_proto::Error),
}

impl Error {
    /// The failInfo bit the error message carries.
    pub fn fail_info(&self) -> PkiFailureInfo {
        match self {
            Self::Malformed(_) => PkiFailureInfo::BAD_DATA_FORMAT,
            Self::UnsupportedVersion(_) => PkiFailureInfo::UNSUPPORTED_VERSION,
            Self::BadHeader(_) | Self::BadRequest(_) | Self::UnknownTransaction => {
                PkiFailureInfo::BAD_REQUEST
            }
            Self::UnexpectedBody(_) => PkiFailureInfo::BAD_REQUEST,
            Self::BadTime => PkiFailureInfo::BAD_TIME,
            Self::MissingMessageTime => PkiFailureInfo::MISSING_TIME_STAMP,
            Self::Unprotected | Self::UnknownReference | Self::BadProtection(_) => {
                PkiFailureInfo::BAD_MESSAGE_CHECK
            }
            Self::UntrustedSigner(_) => PkiFailureInfo::SIGNER_NOT_TRUSTED,
            Self::SignerRevoked => PkiFailureInfo::CERT_REVOKED,
            Self::WrongIntegrity(_) => PkiFailureInfo::WRONG_INTEGRITY,
            Self::TransactionIdInUse => PkiFailureInfo::TRANSACTION_ID_IN_USE,
            Self::BadRecipientNonce => PkiFailureInfo::BAD_RECIPIENT_NONCE,
            Self::NotTheRequester | Self::RaVerifiedNotAllowed | Self::RevocationNotAllowed => {
                PkiFailureInfo::NOT_AUTHORIZED
            }
            Self::BadPop(_) => PkiFailureInfo::BAD_POP,
            Self::BadCertHash | Self::BadCertId(_) => PkiFailureInfo::BAD_CERT_ID,
            Self::Busy | Self::RequesterBusy => PkiFailureInfo::SYSTEM_UNAVAIL,
            Self::Internal(_) => PkiFailureInfo::SYSTEM_FAILURE,
        }
    }

    /// Whether the request failed to authenticate: a wrong or missing MAC or signature,
    /// an unknown reference, an untrusted or revoked signer. What a rate limit on
    /// failures counts.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            Self::Unprotected
                | Self::UnknownReference
                | Self::BadProtection(_)
                | Self::UntrustedSigner(_)
                | Self::SignerRevoked
        )
    }

    /// A short fixed label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::BadHeader(_) => "bad_header",
            Self::BadTime => "bad_time",
            Self::MissingMessageTime => "missing_message_time",
            Self::Unprotected => "unprotected",
            Self::UnknownReference => "unknown_reference",
            Self::BadProtection(_) => "bad_protection",
            Self::UntrustedSigner(_) => "untrusted_signer",
            Self::SignerRevoked => "signer_revoked",
            Self::WrongIntegrity(_) => "wrong_integrity",
            Self::TransactionIdInUse => "transaction_id_in_use",
            Self::UnknownTransaction => "unknown_transaction",
            Self::BadRecipientNonce => "bad_recipient_nonce",
            Self::NotTheRequester => "not_the_requester",
            Self::UnexpectedBody(_) => "unexpected_body",
            Self::BadRequest(_) => "bad_request",
            Self::BadPop(_) => "bad_pop",
            Self::RaVerifiedNotAllowed => "ra_verified_not_allowed",
            Self::RevocationNotAllowed => "revocation_not_allowed",
            Self::BadCertHash => "bad_cert_hash",
            Self::BadCertId(_) => "bad_cert_id",
            Self::Busy => "busy",
            Self::RequesterBusy => "requester_busy",
            Self::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed request: {e}"),
            Self::UnsupportedVersion(v) => write!(f, "pvno {v} is not supported (2 or 3)"),
            Self::BadHeader(what) => write!(f, "bad header: {what}"),
            Self::BadTime => f.write_str("messageTime is too far from the server's clock"),
            Self::MissingMessageTime => f.write_str(
                "messageTime is required (it bounds how long a request can be replayed)",
            ),
            Self::Unprotected => f.write_str("the request is not protected"),
            Self::UnknownReference => write!(f, "the protection does not verify: {WRONG_MAC}"),
            Self::BadProtection(e) => write!(f, "the protection does not verify: {e}"),
            Self::UntrustedSigner(why) => write!(f, "signer not trusted: {why}"),
            Self::SignerRevoked => f.write_str("the signer's certificate is revoked"),
            Self::WrongIntegrity(why) => write!(f, "wrong protection: {why}"),
            Self::TransactionIdInUse => f.write_str("transactionID already in use"),
            Self::UnknownTransaction => {
                f.write_str("no open transaction with this transactionID (finished or expired?)")
            }
            Self::BadRecipientNonce => {
                f.write_str("recipNonce is not the senderNonce of the server's last message")
            }
            Self::NotTheRequester => {
                f.write_str("the transaction was started by another requester")
            }
            Self::UnexpectedBody(body) => write!(f, "{} is not expected here", body.name()),
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::BadPop(why) => write!(f, "proof-of-possession failed: {why}"),
            Self::RaVerifiedNotAllowed => {
                f.write_str("raVerified proof-of-possession from a requester that is not an RA")
            }
            Self::RevocationNotAllowed => f.write_str(
                "these credentials may not revoke this certificate: it was not issued to them",
            ),
            Self::BadCertHash => f.write_str("certHash does not match the issued certificate"),
            Self::BadCertId(why) => write!(f, "bad certificate: {why}"),
            Self::Busy => f.write_str("too many transactions in flight; retry later"),
            Self::RequesterBusy => f.write_str(
                "too many transactions in flight for these credentials; finish or abandon one",
            ),
            Self::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

/// What a MAC that does not verify says (cmp-proto's words), for an unknown reference too.
const WRONG_MAC: cmp_proto::Error = cmp_proto::Error::ProtectionInvalid { kind: "MAC" };

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) | Self::BadProtection(e) | Self::Internal(e) => Some(e),
            _ => None,
        }
    }
}
