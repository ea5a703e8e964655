//! PKIStatus, PKIFailureInfo and PKIStatusInfo.

use core::fmt;

use der::asn1::BitString;
use der::{Enumerated, Sequence};

use crate::header::FreeText;

/// The outcome of a request.
///
/// [RFC 4210 §5.2.3](https://www.rfc-editor.org/rfc/rfc4210#section-5.2.3):
/// ```text
/// PKIStatus ::= INTEGER {
///     accepted               (0),
///     grantedWithMods        (1),
///     rejection              (2),
///     waiting                (3),
///     revocationWarning      (4),
///     revocationNotification (5),
///     keyUpdateWarning       (6) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum PkiStatus {
    /// Granted as asked.
    Accepted = 0,
    /// Granted with changes the requester must check.
    GrantedWithMods = 1,
    /// Refused; failInfo and statusString say why.
    Rejection = 2,
    /// Not yet decided; poll for the answer.
    Waiting = 3,
    /// A revocation is imminent.
    RevocationWarning = 4,
    /// A revocation has occurred.
    RevocationNotification = 5,
    /// The requested key update has already been done.
    KeyUpdateWarning = 6,
}

impl PkiStatus {
    /// The RFC's name for the status.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::GrantedWithMods => "grantedWithMods",
            Self::Rejection => "rejection",
            Self::Waiting => "waiting",
            Self::RevocationWarning => "revocationWarning",
            Self::RevocationNotification => "revocationNotification",
            Self::KeyUpdateWarning => "keyUpdateWarning",
        }
    }

    /// Whether the request was granted (accepted or grantedWithMods).
    pub fn is_granted(self) -> bool {
        matches!(self, Self::Accepted | Self::GrantedWithMods)
    }
}

impl fmt::Display for PkiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The reasons for a failure, as a set of named bits.
///
/// [RFC 4210 §5.2.3](https://www.rfc-editor.org/rfc/rfc4210#section-5.2.3):
/// ```text
/// PKIFailureInfo ::= BIT STRING {
///     badAlg (0), badMessageCheck (1), badRequest (2), badTime (3), badCertId (4),
///     badDataFormat (5), wrongAuthority (6), incorrectData (7), missingTimeStamp (8),
///     badPOP (9), certRevoked (10), certConfirmed (11), wrongIntegrity (12),
///     badRecipientNonce (13), timeNotAvailable (14), unacceptedPolicy (15),
///     unacceptedExtension (16), addInfoNotAvailable (17), badSenderNonce (18),
///     badCertTemplate (19), signerNotTrusted (20), transactionIdInUse (21),
///     unsupportedVersion (22), notAuthorized (23), systemUnavail (24),
///     systemFailure (25), duplicateCertReq (26) }
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PkiFailureInfo(u32);

macro_rules! failure_bits {
    ($($(#[$doc:meta])* $name:ident = $bit:literal, $text:literal;)*) => {
        impl PkiFailureInfo {
            $( $(#[$doc])* pub const $name: Self = Self(1 << $bit); )*

            /// Every named bit with its RFC name, in bit order.
            pub const NAMED: &'static [(Self, &'static str)] = &[$((Self::$name, $text),)*];
        }
    };
}

failure_bits! {
    /// Unrecognized or unsupported algorithm identifier.
    BAD_ALG = 0, "badAlg";
    /// Integrity check failed (e.g. the signature did not verify).
    BAD_MESSAGE_CHECK = 1, "badMessageCheck";
    /// Transaction not permitted or supported.
    BAD_REQUEST = 2, "badRequest";
    /// messageTime was not sufficiently close to the system time.
    BAD_TIME = 3, "badTime";
    /// No certificate could be found matching the criteria.
    BAD_CERT_ID = 4, "badCertId";
    /// The data submitted has the wrong format.
    BAD_DATA_FORMAT = 5, "badDataFormat";
    /// The authority indicated in the request is different from this one.
    WRONG_AUTHORITY = 6, "wrongAuthority";
    /// The requester's data is incorrect (used for notary services).
    INCORRECT_DATA = 7, "incorrectData";
    /// The timestamp was missing but should be there.
    MISSING_TIME_STAMP = 8, "missingTimeStamp";
    /// The proof-of-possession failed.
    BAD_POP = 9, "badPOP";
    /// The certificate has already been revoked.
    CERT_REVOKED = 10, "certRevoked";
    /// The certificate has already been confirmed.
    CERT_CONFIRMED = 11, "certConfirmed";
    /// Invalid integrity: password-based instead of signature or vice versa.
    WRONG_INTEGRITY = 12, "wrongIntegrity";
    /// Invalid recipient nonce, either missing or wrong value.
    BAD_RECIPIENT_NONCE = 13, "badRecipientNonce";
    /// The TSA's time source is not available.
    TIME_NOT_AVAILABLE = 14, "timeNotAvailable";
    /// The requested TSA policy is not supported.
    UNACCEPTED_POLICY = 15, "unacceptedPolicy";
    /// The requested extension is not supported.
    UNACCEPTED_EXTENSION = 16, "unacceptedExtension";
    /// The additional information requested could not be understood or is not available.
    ADD_INFO_NOT_AVAILABLE = 17, "addInfoNotAvailable";
    /// Invalid sender nonce, either missing or wrong size.
    BAD_SENDER_NONCE = 18, "badSenderNonce";
    /// Invalid certificate template or missing template data.
    BAD_CERT_TEMPLATE = 19, "badCertTemplate";
    /// The signer of the message is unknown or not trusted.
    SIGNER_NOT_TRUSTED = 20, "signerNotTrusted";
    /// The transaction identifier is already in use.
    TRANSACTION_ID_IN_USE = 21, "transactionIdInUse";
    /// The version of the message is not supported.
    UNSUPPORTED_VERSION = 22, "unsupportedVersion";
    /// The sender was not authorized to make the preceding request or perform the action.
    NOT_AUTHORIZED = 23, "notAuthorized";
    /// The request cannot be handled due to system unavailability.
    SYSTEM_UNAVAIL = 24, "systemUnavail";
    /// The request cannot be handled due to system failure.
    SYSTEM_FAILURE = 25, "systemFailure";
    /// The certificate cannot be issued because a duplicate certificate already exists.
    DUPLICATE_CERT_REQ = 26, "duplicateCertReq";
}

impl PkiFailureInfo {
    /// No bit set.
    pub const NONE: Self = Self(0);

    /// The raw bit set (bit *n* of the ASN.1 BIT STRING is `1 << n`).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the bits set, in bit order; bits beyond 26 appear as `bitN`.
    pub fn names(self) -> Vec<String> {
        (0..32)
            .filter(|bit| self.0 & (1 << bit) != 0)
            .map(|bit| match Self::NAMED.get(bit as usize) {
                Some((_, name)) => (*name).to_owned(),
                None => format!("bit{bit}"),
            })
            .collect()
    }

    /// Reads the named bits of an encoded BIT STRING; bits past 31 are ignored.
    pub fn from_bit_string(bits: &BitString) -> Self {
        let mut value = 0u32;
        for (i, bit) in bits.bits().enumerate().take(32) {
            if bit {
                value |= 1 << i;
            }
        }
        Self(value)
    }

    /// Encodes the set as a DER named-bit BIT STRING (trailing zero bits removed,
    /// X.690 §11.2.2).
    pub fn to_bit_string(self) -> BitString {
        let bit_len = 32 - self.0.leading_zeros() as usize;
        let byte_len = bit_len.div_ceil(8);
        let mut bytes = vec![0u8; byte_len];
        for bit in 0..bit_len {
            if self.0 & (1 << bit) != 0 {
                bytes[bit / 8] |= 0x80 >> (bit % 8);
            }
        }
        let unused = (byte_len * 8 - bit_len) as u8;
        BitString::new(unused, bytes)
            .expect("unused bits are below 8 and bytes are non-empty when unused > 0")
    }
}

impl core::ops::BitOr for PkiFailureInfo {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for PkiFailureInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PkiFailureInfo({})", self.names().join("|"))
    }
}

impl fmt::Display for PkiFailureInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

/// A status with its explanation.
///
/// [RFC 4210 §5.2.3](https://www.rfc-editor.org/rfc/rfc4210#section-5.2.3):
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL }
/// ```
/// `failInfo` is kept as received so that re-encoding is exact; read it with
/// [`PkiStatusInfo::failure_info`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiStatusInfo {
    /// The outcome.
    pub status: PkiStatus,
    /// Text for people.
    #[asn1(optional = "true")]
    pub status_string: Option<FreeText>,
    /// Machine-readable reasons.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

impl PkiStatusInfo {
    /// A status with no text and no failure bits.
    pub fn new(status: PkiStatus) -> Self {
        Self {
            status,
            status_string: None,
            fail_info: None,
        }
    }

    /// `accepted`.
    pub fn accepted() -> Self {
        Self::new(PkiStatus::Accepted)
    }

    /// `rejection` with the given reasons and text.
    pub fn rejection(fail_info: PkiFailureInfo, text: &str) -> der::Result<Self> {
        Ok(Self {
            status: PkiStatus::Rejection,
            status_string: Some(FreeText::new(text)?),
            fail_info: (!fail_info.is_empty()).then(|| fail_info.to_bit_string()),
        })
    }

    /// The failure bits (empty when absent).
    pub fn failure_info(&self) -> PkiFailureInfo {
        self.fail_info
            .as_ref()
            .map(PkiFailureInfo::from_bit_string)
            .unwrap_or_default()
    }

    /// The status text joined into one line, if any.
    pub fn text(&self) -> Option<String> {
        self.status_string.as_ref().map(FreeText::joined)
    }
}

impl fmt::Display for PkiStatusInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        let info = self.failure_info();
        if !info.is_empty() {
            write!(f, " ({info})")?;
        }
        if let Some(text) = self.text() {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_info_round_trips_through_der_named_bits() {
        let info = PkiFailureInfo::BAD_POP | PkiFailureInfo::BAD_REQUEST;
        let bits = info.to_bit_string();
        // badRequest is bit 2, badPOP bit 9: two bytes, 6 unused bits.
        assert_eq!(bits.raw_bytes(), &[0x20, 0x40]);
        assert_eq!(bits.unused_bits(), 6);
        assert_eq!(PkiFailureInfo::from_bit_string(&bits), info);
        assert_eq!(info.names(), ["badRequest", "badPOP"]);
    }

    #[test]
    fn every_named_bit_has_its_rfc_position() {
        for (bit, (flag, _)) in PkiFailureInfo::NAMED.iter().enumerate() {
            assert_eq!(flag.bits(), 1 << bit);
        }
        assert_eq!(PkiFailureInfo::NAMED.len(), 27);
    }
}
