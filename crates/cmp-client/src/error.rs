//! The client's error type, split by who is to blame: the peer misbehaved (a response
//! failed a check), the peer refused, our configuration, the transport, or encoding.

use core::fmt;

use cmp_proto::protection::ProtectionKind;
use cmp_proto::{BodyType, ErrorMsgContent, PkiFailureInfo, PkiStatusInfo};

use crate::transaction::Enrolled;
use crate::transport::TransportError;

/// Everything a CMP exchange can end in, other than success.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    // --- The peer misbehaved: the response must not be trusted. ---
    /// The response does not decode, trails bytes, or breaks a [`cmp_proto::Limits`] bound.
    Malformed(cmp_proto::Error),
    /// pvno is neither 2 nor 3 (RFC 9480 §2.20).
    UnsupportedPvno {
        /// What the peer sent.
        pvno: u8,
    },
    /// The transactionID is absent or not ours (RFC 4210 §5.1.1).
    TransactionIdMismatch,
    /// The recipNonce is absent or not our last senderNonce (RFC 4210 §5.1.1).
    RecipNonceMismatch,
    /// The senderNonce is absent or shorter than 128 bits (RFC 9483 §3.1).
    BadSenderNonce,
    /// The response's senderNonce repeats the one of the peer's previous message.
    SenderNonceReused,
    /// The sender is not the one configured as expected.
    UnexpectedSender {
        /// The header's sender.
        sender: String,
        /// The name we expected.
        expected: String,
    },
    /// The response is unprotected and this is not allowed for it (RFC 4210 §5.1.3).
    Unprotected {
        /// The body that came unprotected.
        body: BodyType,
    },
    /// MAC protection where a signature is required, or the reverse.
    ProtectionKindMismatch {
        /// What our trust configuration can verify.
        expected: &'static str,
        /// What the response carries.
        got: ProtectionKind,
    },
    /// The MAC or signature does not verify, or its parameters are refused.
    ProtectionInvalid(cmp_proto::Error),
    /// A signed response carries no signer certificate in extraCerts.
    NoSignerCertificate,
    /// The signer certificate's subject is not the header's sender.
    SignerNameMismatch {
        /// The header's sender.
        sender: String,
        /// The certificate's subject.
        subject: String,
    },
    /// The senderKID is not the signer certificate's subjectKeyIdentifier.
    SignerKidMismatch,
    /// The signer certificate is not valid at this time.
    SignerNotValidNow {
        /// The certificate's subject.
        subject: String,
    },
    /// The signer certificate's keyUsage lacks digitalSignature.
    SignerKeyUsage {
        /// The certificate's subject.
        subject: String,
    },
    /// The signer certificate does not chain to a trust anchor.
    SignerUntrusted {
        /// The certificate's subject.
        subject: String,
        /// Why the chain failed.
        reason: String,
    },
    /// The body is not one that may answer our request.
    UnexpectedBody {
        /// What may answer.
        expected: &'static str,
        /// What came.
        got: BodyType,
    },
    /// A certificate response holds other than exactly one CertResponse (RFC 9483 §4.1).
    ResponseCount {
        /// How many it holds.
        got: usize,
    },
    /// The certReqId is not the one of our request.
    CertReqIdMismatch {
        /// Ours.
        expected: i64,
        /// Theirs.
        got: i64,
    },
    /// The request was granted but no certificate came.
    MissingCertificate,
    /// The certificate came encrypted (indirect POP), which this client does not do.
    EncryptedCertificate,
    /// The certificate's public key is not the key we asked to certify.
    PublicKeyMismatch,
    /// The issued certificate does not chain to the trust anchors configured for it.
    CertificateUntrusted {
        /// Why.
        reason: String,
    },
    /// A pollRep holds other than one entry for our request.
    PollRepMismatch,
    /// checkAfter is negative or beyond the configured maximum.
    CheckAfterOutOfRange {
        /// What the peer asked for, in seconds.
        seconds: i64,
        /// The most we wait.
        max: u64,
    },
    /// Polling would pass the transaction's overall deadline.
    PollingDeadline,
    /// "waiting" again after polling ended (RFC 9483 §4.4).
    WaitingAgain,
    /// An rp holds other than one status, or names another certificate.
    RevocationResponseMismatch {
        /// What is wrong.
        reason: &'static str,
    },

    /// A root CA key update does not link the new root to the old one (RFC 9480 §2.15).
    RootUpdateInvalid {
        /// Which link is broken.
        reason: &'static str,
    },
    /// A root CA key update is signed with an algorithm we cannot verify, so it can be
    /// neither believed nor refused as forged.
    RootUpdateUnsupportedAlgorithm {
        /// Which certificate of the update (newWithNew, newWithOld, oldWithNew).
        certificate: &'static str,
        /// The algorithm, as cmp-proto names it.
        source: cmp_proto::Error,
    },
    /// The genp lacks the info type asked for.
    MissingInfo {
        /// The info type's name.
        info_type: &'static str,
    },
    /// An info value in the genp does not decode as its type.
    BadInfoValue(cmp_proto::Error),

    // --- The peer refused. ---
    /// The CA rejected the request (rejection status in ip/cp/kup/rp).
    Rejected {
        /// The body that carried the rejection.
        body: BodyType,
        /// The status with failInfo and text.
        status: PkiStatusInfo,
    },
    /// The peer answered with an error message (RFC 4210 §5.3.21).
    ErrorMessage {
        /// Its content.
        content: ErrorMsgContent,
    },

    // --- Unknown: the CA may or may not have done it. ---
    /// A certConf sent again by [`Enrollment::resume`](crate::transaction::Enrollment::resume)
    /// was not answered with a valid pkiConf, so whether the CA holds `enrolled`'s
    /// certificate as confirmed is unknown.
    ///
    /// If the first certConf reached the CA, the CA confirmed the certificate, answered
    /// pkiConf (which was lost) and closed the transaction (RFC 4210 §5.3.18); a CA
    /// then answers the second certConf with an error, or with something that fails our
    /// checks because it no longer knows the transaction. If the first certConf never
    /// arrived, the CA refused the second one or answered it wrongly, and it withdraws
    /// or revokes the unconfirmed certificate (RFC 9483 §4.1.1). The two cannot be told
    /// apart from here, so this is neither success nor a plain failure: do not start a
    /// second enrollment for the same request as if nothing had been issued, and do not
    /// use the certificate as if confirmed without finding out (its revocation status,
    /// the CA's records, a person).
    ConfirmationOutcomeUnknown {
        /// The certificate, checked as on first receipt and again on resume.
        enrolled: Box<Enrolled>,
        /// What came instead of the pkiConf.
        cause: Box<Error>,
    },

    // --- Ours. ---
    /// An [`InFlightEnrollment`](crate::transaction::InFlightEnrollment) does not
    /// decode, breaks a bound, or cannot be encoded within one.
    Checkpoint {
        /// What is wrong.
        reason: String,
    },
    /// The client is configured in a way that cannot work.
    Config {
        /// What to fix.
        reason: String,
    },
    /// A request could not be built.
    Build(cmp_proto::Error),
    /// The transport failed.
    Transport(TransportError),
}

impl Error {
    /// The CA's own answer when it refused: the status of a rejected ip/cp/kup/rp, or of
    /// an error message (RFC 4210 §5.3.21), with its failInfo and text. `None` for every
    /// other failure.
    pub fn refusal(&self) -> Option<&PkiStatusInfo> {
        match self {
            Self::Rejected { status, .. } => Some(status),
            Self::ErrorMessage { content } => Some(&content.pki_status_info),
            _ => None,
        }
    }

    /// Whether the peer is to blame for a response that must not be trusted (as
    /// opposed to a refusal, a local mistake or a network failure).
    pub fn is_forged_or_broken_response(&self) -> bool {
        self.fail_info().is_some()
    }

    /// The failInfo bit (RFC 4210 §5.2.3) that names this problem in an error message
    /// to the peer, for the problems the peer is to blame for; `None` for a refusal by
    /// the peer, our own mistakes and transport failures.
    ///
    /// The bits are the ones a CA answers the same faults in a request with (RFC 9483
    /// §3.5, and `cmp-server`'s responder): a bad protection is badMessageCheck, a
    /// wrong recipNonce badRecipientNonce, a message of the wrong shape badDataFormat,
    /// and so on. An enrollment sends them in the error message that ends a transaction
    /// the CA may still hold open ([`Failed`](crate::transaction::Failed)).
    pub fn fail_info(&self) -> Option<PkiFailureInfo> {
        use PkiFailureInfo as F;
        Some(match self {
            Self::Malformed(_) => F::BAD_DATA_FORMAT,
            Self::UnsupportedPvno { .. } => F::UNSUPPORTED_VERSION,
            Self::TransactionIdMismatch => F::BAD_REQUEST,
            Self::RecipNonceMismatch => F::BAD_RECIPIENT_NONCE,
            Self::BadSenderNonce | Self::SenderNonceReused => F::BAD_SENDER_NONCE,
            Self::Unprotected { .. } | Self::NoSignerCertificate => F::BAD_MESSAGE_CHECK,
            Self::ProtectionInvalid(cmp_proto::Error::UnsupportedAlgorithm { .. }) => F::BAD_ALG,
            Self::ProtectionInvalid(_) => F::BAD_MESSAGE_CHECK,
            Self::ProtectionKindMismatch { .. } => F::WRONG_INTEGRITY,
            Self::UnexpectedSender { .. }
            | Self::SignerNameMismatch { .. }
            | Self::SignerKidMismatch
            | Self::SignerNotValidNow { .. }
            | Self::SignerKeyUsage { .. }
            | Self::SignerUntrusted { .. } => F::SIGNER_NOT_TRUSTED,
            // Not the answer our request allows, or "waiting" when polling is over.
            Self::UnexpectedBody { .. } | Self::WaitingAgain => F::BAD_REQUEST,
            // We cannot decrypt: indirect proof-of-possession is not supported.
            Self::EncryptedCertificate => F::BAD_REQUEST,
            Self::ResponseCount { .. }
            | Self::CertReqIdMismatch { .. }
            | Self::MissingCertificate
            | Self::PollRepMismatch
            | Self::CheckAfterOutOfRange { .. }
            | Self::RevocationResponseMismatch { .. }
            | Self::MissingInfo { .. }
            | Self::BadInfoValue(_) => F::BAD_DATA_FORMAT,
            // As in the certConf that rejects such a certificate (RFC 4210 §5.3.18).
            Self::PublicKeyMismatch
            | Self::CertificateUntrusted { .. }
            | Self::RootUpdateInvalid { .. } => F::INCORRECT_DATA,
            Self::RootUpdateUnsupportedAlgorithm { .. } => F::BAD_ALG,
            // The CA did not decide in the time we wait: it is unavailable to us.
            Self::PollingDeadline => F::SYSTEM_UNAVAIL,
            Self::ConfirmationOutcomeUnknown { cause, .. } => return cause.fail_info(),
            Self::Rejected { .. }
            | Self::ErrorMessage { .. }
            | Self::Checkpoint { .. }
            | Self::Config { .. }
            | Self::Build(_)
            | Self::Transport(_) => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed response: {e}"),
            Self::UnsupportedPvno { pvno } => write!(f, "response has unsupported pvno {pvno}"),
            Self::TransactionIdMismatch => f.write_str("response transactionID is not ours"),
            Self::RecipNonceMismatch => f.write_str(
                "response recipNonce does not echo our senderNonce (replayed or misdirected)",
            ),
            Self::BadSenderNonce => {
                f.write_str("response senderNonce is missing or shorter than 128 bits")
            }
            Self::SenderNonceReused => f.write_str(
                "response senderNonce repeats the CA's previous one: a replayed or forged answer",
            ),
            Self::UnexpectedSender { sender, expected } => {
                write!(
                    f,
                    "response sender {sender:?} is not the expected {expected:?}"
                )
            }
            Self::Unprotected { body } => write!(
                f,
                "unprotected {body} response refused (allow unprotected errors only if the CA needs it)"
            ),
            Self::ProtectionKindMismatch { expected, got } => {
                write!(
                    f,
                    "response is protected by {got:?}, but only {expected} can be verified"
                )
            }
            Self::ProtectionInvalid(e) => write!(f, "response protection invalid: {e}"),
            Self::NoSignerCertificate => {
                f.write_str("signed response has no signer certificate in extraCerts")
            }
            Self::SignerNameMismatch { sender, subject } => {
                write!(
                    f,
                    "response sender {sender:?} is not the signer certificate's subject {subject:?}"
                )
            }
            Self::SignerKidMismatch => f.write_str(
                "response senderKID is not the signer certificate's subjectKeyIdentifier",
            ),
            Self::SignerNotValidNow { subject } => {
                write!(f, "signer certificate {subject:?} is not valid now")
            }
            Self::SignerKeyUsage { subject } => {
                write!(
                    f,
                    "signer certificate {subject:?} lacks the digitalSignature key usage"
                )
            }
            Self::SignerUntrusted { subject, reason } => {
                write!(f, "signer certificate {subject:?} is not trusted: {reason}")
            }
            Self::UnexpectedBody { expected, got } => write!(f, "expected {expected}, got {got}"),
            Self::ResponseCount { got } => {
                write!(f, "expected one certificate response, got {got}")
            }
            Self::CertReqIdMismatch { expected, got } => {
                write!(f, "response is for certReqId {got}, not our {expected}")?;
                if (*expected, *got) == (-1, 0) {
                    // Only a strict policy refuses this (ResponsePolicy).
                    f.write_str(
                        " (the CA answers a p10cr with 0, as EJBCA does: \
                         drop the strict p10cr certReqId setting to accept it)",
                    )?;
                }
                Ok(())
            }
            Self::MissingCertificate => {
                f.write_str("request granted but no certificate in the response")
            }
            Self::EncryptedCertificate => {
                f.write_str("the certificate came encrypted, which is not supported")
            }
            Self::PublicKeyMismatch => {
                f.write_str("the issued certificate's public key is not the one requested")
            }
            Self::CertificateUntrusted { reason } => {
                write!(f, "issued certificate is not trusted: {reason}")
            }
            Self::PollRepMismatch => {
                f.write_str("pollRep does not hold exactly one entry for our request")
            }
            Self::CheckAfterOutOfRange { seconds, max } => {
                write!(f, "checkAfter of {seconds} s is outside 0..={max} s")
            }
            Self::PollingDeadline => {
                f.write_str("the CA did not answer before the polling deadline")
            }
            Self::WaitingAgain => f.write_str("the CA said 'waiting' again after polling"),
            Self::RevocationResponseMismatch { reason } => {
                write!(f, "revocation response: {reason}")
            }
            Self::RootUpdateInvalid { reason } => write!(f, "root CA key update refused: {reason}"),
            Self::RootUpdateUnsupportedAlgorithm {
                certificate,
                source,
            } => write!(
                f,
                "root CA key update: {certificate} cannot be verified: {source}"
            ),
            Self::MissingInfo { info_type } => {
                write!(f, "the general response holds no {info_type}")
            }
            Self::BadInfoValue(e) => write!(f, "bad value in the general response: {e}"),
            Self::Rejected { body, status } => {
                write!(f, "the CA rejected the request ({body}): {status}")
            }
            Self::ErrorMessage { content } => {
                write!(
                    f,
                    "the CA answered with an error: {}",
                    content.pki_status_info
                )?;
                if let Some(code) = content.error_code {
                    write!(f, " [code {code}]")?;
                }
                if let Some(details) = &content.error_details {
                    write!(f, " {}", details.joined())?;
                }
                Ok(())
            }
            Self::ConfirmationOutcomeUnknown { cause, .. } => write!(
                f,
                "the certConf sent again after a restart got no pkiConf, so the certificate \
                 may or may not be confirmed at the CA: {cause}"
            ),
            Self::Checkpoint { reason } => write!(f, "enrollment checkpoint: {reason}"),
            Self::Config { reason } => write!(f, "configuration: {reason}"),
            Self::Build(e) => write!(f, "cannot build the request: {e}"),
            Self::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e)
            | Self::ProtectionInvalid(e)
            | Self::Build(e)
            | Self::BadInfoValue(e) => Some(e),
            Self::Transport(e) => Some(e),
            Self::ConfirmationOutcomeUnknown { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_peers_faults_name_a_fail_info() {
        let ours = [
            Error::Config {
                reason: "no secret".into(),
            },
            Error::Transport(TransportError::Timeout {
                target: "http://ca".into(),
            }),
            Error::Rejected {
                body: BodyType::Ip,
                status: PkiStatusInfo::accepted(),
            },
            Error::Checkpoint {
                reason: "truncated".into(),
            },
        ];
        for error in ours {
            assert_eq!(error.fail_info(), None, "{error}");
            assert!(!error.is_forged_or_broken_response());
        }
        assert_eq!(
            Error::RecipNonceMismatch.fail_info(),
            Some(PkiFailureInfo::BAD_RECIPIENT_NONCE)
        );
        assert_eq!(
            Error::PollingDeadline.fail_info(),
            Some(PkiFailureInfo::SYSTEM_UNAVAIL)
        );
        assert!(Error::PollingDeadline.is_forged_or_broken_response());
    }
}
