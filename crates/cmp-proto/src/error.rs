//! The crate's error type, split by who is to blame.

use core::fmt;

/// Everything that can go wrong while decoding, building, protecting or verifying a
/// message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed encoding of the named structure.
    Decode {
        /// The ASN.1 structure being decoded.
        what: &'static str,
        /// What `der` found wrong, with its position.
        source: der::Error,
    },
    /// A structure could not be encoded (a value out of range, a length overflow).
    Encode {
        /// The ASN.1 structure being encoded.
        what: &'static str,
        /// What `der` reported.
        source: der::Error,
    },
    /// Bytes follow the end of the message.
    TrailingData {
        /// How many bytes trail.
        len: usize,
    },
    /// A peer-controlled size, count or cost exceeds our [`Limits`](crate::Limits).
    LimitExceeded {
        /// What exceeded its bound.
        what: &'static str,
        /// The value the peer asked for.
        value: u64,
        /// The bound it broke.
        limit: u64,
    },
    /// A peer-controlled value is below the minimum we accept.
    BelowMinimum {
        /// What fell short.
        what: &'static str,
        /// The value the peer asked for.
        value: u64,
        /// The minimum.
        minimum: u64,
    },
    /// An algorithm we do not implement (or refuse for being too weak for this use).
    UnsupportedAlgorithm {
        /// Where the algorithm appeared (protectionAlg, OWF, MAC, PRF, POP, ...).
        context: &'static str,
        /// The algorithm's OID in dotted form, with its name when known.
        oid: String,
    },
    /// Algorithm parameters are missing or malformed.
    BadAlgorithmParameters {
        /// Which algorithm's parameters.
        algorithm: &'static str,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The message carries no protection but protection was asked to be verified.
    Unprotected,
    /// The protection value does not verify: the message was altered or the key is wrong.
    ProtectionInvalid {
        /// Which kind of protection failed (MAC or signature).
        kind: &'static str,
    },
    /// A key could not be parsed or does not fit the algorithm.
    Key {
        /// What is wrong with the key.
        reason: String,
    },
    /// Signing failed inside the signature implementation.
    Signing {
        /// What the implementation reported.
        reason: String,
    },
    /// A builder was given a combination of inputs that cannot form a valid message.
    InvalidInput {
        /// What is missing or inconsistent.
        reason: &'static str,
    },
    /// The operating system's random source failed.
    Random,
}

impl Error {
    /// Wraps a `der` decoding error with the structure that was being decoded.
    pub fn decode(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Decode { what, source }
    }

    /// Wraps a `der` encoding error with the structure that was being encoded.
    pub fn encode(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Encode { what, source }
    }

    /// An unsupported algorithm seen in `context`.
    pub fn unsupported(context: &'static str, oid: &const_oid::ObjectIdentifier) -> Self {
        let oid = match crate::oid::name(oid) {
            Some(name) => format!("{name} ({oid})"),
            None => oid.to_string(),
        };
        Self::UnsupportedAlgorithm { context, oid }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode { what, source } => write!(f, "malformed {what}: {source}"),
            Self::Encode { what, source } => write!(f, "cannot encode {what}: {source}"),
            Self::TrailingData { len } => {
                write!(f, "{len} unexpected bytes after the end of the PKIMessage")
            }
            Self::LimitExceeded { what, value, limit } => {
                write!(f, "{what} is {value}, above the limit of {limit}")
            }
            Self::BelowMinimum {
                what,
                value,
                minimum,
            } => write!(f, "{what} is {value}, below the minimum of {minimum}"),
            Self::UnsupportedAlgorithm { context, oid } => {
                write!(f, "unsupported algorithm {oid} in {context}")
            }
            Self::BadAlgorithmParameters { algorithm, reason } => {
                write!(f, "bad {algorithm} parameters: {reason}")
            }
            Self::Unprotected => f.write_str("the message carries no protection"),
            Self::ProtectionInvalid { kind } => write!(
                f,
                "{kind} protection does not verify: the message was altered or the key or secret is wrong"
            ),
            Self::Key { reason } => write!(f, "unusable key: {reason}"),
            Self::Signing { reason } => write!(f, "signing failed: {reason}"),
            Self::InvalidInput { reason } => write!(f, "invalid input: {reason}"),
            Self::Random => f.write_str("the operating system's random source failed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode { source, .. } | Self::Encode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
