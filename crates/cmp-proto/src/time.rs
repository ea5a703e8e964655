//! GeneralizedTime as CMP peers write it: whole seconds, or with fractional seconds.
//!
//! CMP's `messageTime` is a plain ASN.1 GeneralizedTime ([RFC 4210 §5.1.1]), not the
//! RFC 5280 profile of it that `der`'s [`GeneralizedTime`] implements. DER allows a
//! fraction of a second ([X.690 §11.7]): `YYYYMMDDHHMMSS[.f…]Z` with no trailing zero in
//! the fraction, and BouncyCastle-based peers (EJBCA, Siemens' RA) write milliseconds:
//! `20240217171209.589Z`. [`GenTime`] reads both and writes back exactly what it read, so
//! a re-encoded message is byte for byte the one received.
//!
//! [RFC 4210 §5.1.1]: https://www.rfc-editor.org/rfc/rfc4210#section-5.1.1
//! [X.690 §11.7]: https://www.itu.int/rec/T-REC-X.690

use std::fmt;
use std::time::{Duration, SystemTime};

use der::asn1::GeneralizedTime;
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};

/// Most fraction digits read: nanoseconds. BouncyCastle writes three.
pub const MAX_FRACTION_DIGITS: usize = 9;

/// A GeneralizedTime in DER: whole seconds in UTC, with an optional fraction.
///
/// ```text
/// GeneralizedTime ::= [UNIVERSAL 24] IMPLICIT VisibleString
///     -- DER (X.690 §11.7): YYYYMMDDHHMMSS, then optionally "." and the fraction
///     -- without trailing zeros, then "Z"
/// ```
///
/// ```
/// use cmp_proto::der::{Decode, Encode};
/// use cmp_proto::time::GenTime;
///
/// # fn main() -> Result<(), cmp_proto::der::Error> {
/// let der = b"\x18\x1320240217171209.589Z";
/// let time = GenTime::from_der(der)?;
/// assert_eq!(time.to_string(), "2024-02-17T17:12:09.589Z");
/// assert_eq!(time.fraction(), Some("589"));
/// assert_eq!(time.to_der()?, der); // written back as read
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenTime {
    whole: GeneralizedTime,
    /// The fraction's ASCII digits, `fraction_len` of them used.
    fraction: [u8; MAX_FRACTION_DIGITS],
    fraction_len: u8,
}

impl GenTime {
    /// The time `time`, to the whole second (what this crate writes).
    pub fn from_system_time(time: SystemTime) -> der::Result<Self> {
        GeneralizedTime::from_system_time(time).map(Self::from)
    }

    /// The time, fraction included (to the nanosecond).
    pub fn to_system_time(&self) -> SystemTime {
        self.whole.to_system_time() + Duration::from_nanos(u64::from(self.subsec_nanos()))
    }

    /// The whole seconds, as RFC 5280 writes times.
    pub fn whole_seconds(&self) -> GeneralizedTime {
        self.whole
    }

    /// The fraction's digits as written (`"589"` for `.589`), if there is one.
    pub fn fraction(&self) -> Option<&str> {
        let digits = &self.fraction[..usize::from(self.fraction_len)];
        // Only ASCII digits are ever stored.
        (!digits.is_empty()).then(|| std::str::from_utf8(digits).unwrap_or_default())
    }

    /// The fraction in nanoseconds.
    pub fn subsec_nanos(&self) -> u32 {
        let digits = &self.fraction[..usize::from(self.fraction_len)];
        let value = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        value * 10u32.pow((MAX_FRACTION_DIGITS - digits.len()) as u32)
    }
}

impl From<GeneralizedTime> for GenTime {
    fn from(whole: GeneralizedTime) -> Self {
        Self {
            whole,
            fraction: [0; MAX_FRACTION_DIGITS],
            fraction_len: 0,
        }
    }
}

impl fmt::Display for GenTime {
    /// RFC 3339: `2024-02-17T17:12:09.589Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.whole.to_date_time().to_string();
        match (self.fraction(), text.strip_suffix('Z')) {
            (Some(fraction), Some(seconds)) => write!(f, "{seconds}.{fraction}Z"),
            _ => f.write_str(&text),
        }
    }
}

/// Length of `YYYYMMDDHHMMSSZ`.
const WHOLE_LEN: usize = 15;

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length())?;
        // Whole seconds, or whole seconds + "." + 1..=9 digits.
        if len != WHOLE_LEN && !(WHOLE_LEN + 2..=WHOLE_LEN + 1 + MAX_FRACTION_DIGITS).contains(&len)
        {
            return Err(reader.error(Self::TAG.value_error()));
        }
        let mut value = [0u8; WHOLE_LEN + 1 + MAX_FRACTION_DIGITS];
        let value = &mut value[..len];
        reader.read_into(value)?;
        let (seconds, rest) = value.split_at(WHOLE_LEN - 1);
        let mut time = Self::from(whole_seconds(seconds).map_err(|e| reader.error(e.kind()))?);
        match rest {
            [b'Z'] => {}
            [b'.', digits @ .., b'Z']
                if digits.iter().all(u8::is_ascii_digit) && digits.last() != Some(&b'0') =>
            {
                time.fraction[..digits.len()].copy_from_slice(digits);
                time.fraction_len = digits.len() as u8;
            }
            // A comma, trailing zeros, a missing Z or a local time are not DER.
            _ => return Err(reader.error(Self::TAG.value_error())),
        }
        Ok(time)
    }
}

/// `YYYYMMDDHHMMSS` read as the whole-seconds GeneralizedTime it starts.
fn whole_seconds(digits: &[u8]) -> der::Result<GeneralizedTime> {
    let mut der = Vec::with_capacity(WHOLE_LEN + 2);
    // Tag 0x18 (UNIVERSAL 24), then the length.
    der.extend_from_slice(&[0x18, WHOLE_LEN as u8]);
    der.extend_from_slice(digits);
    der.push(b'Z');
    der::Decode::from_der(&der)
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        let fraction = match self.fraction_len {
            0 => 0,
            n => 1 + usize::from(n),
        };
        Length::try_from(WHOLE_LEN + fraction)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let mut whole = Vec::with_capacity(WHOLE_LEN);
        self.whole.encode_value(&mut whole)?;
        let Some((b'Z', seconds)) = whole.split_last() else {
            return Err(Self::TAG.value_error().into());
        };
        writer.write(seconds)?;
        if let Some(fraction) = self.fraction() {
            writer.write_byte(b'.')?;
            writer.write(fraction.as_bytes())?;
        }
        writer.write_byte(b'Z')
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

/// `Time` as a CRMF template carries it (RFC 4211 §5, from RFC 5280):
///
/// ```text
/// Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
/// ```
///
/// with the GeneralizedTime read as [`GenTime`], so a requested validity with fractional
/// seconds (BouncyCastle-style) decodes and re-encodes byte for byte. RFC 5280's
/// whole-seconds profile binds certificates and CRLs, not the requests for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, der::Choice)]
pub enum TemplateTime {
    /// UTCTime: years 1950–2049.
    #[asn1(type = "UTCTime")]
    UtcTime(der::asn1::UtcTime),
    /// GeneralizedTime, fraction included.
    GeneralTime(GenTime),
}

impl TemplateTime {
    /// The time, fraction included.
    pub fn to_system_time(&self) -> SystemTime {
        match self {
            Self::UtcTime(t) => t.to_system_time(),
            Self::GeneralTime(t) => t.to_system_time(),
        }
    }

    /// The time since the Unix epoch, fraction included (as `x509_cert`'s `Time` has it).
    pub fn to_unix_duration(&self) -> Duration {
        self.to_system_time()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

impl From<x509_cert::time::Time> for TemplateTime {
    fn from(time: x509_cert::time::Time) -> Self {
        match time {
            x509_cert::time::Time::UtcTime(t) => Self::UtcTime(t),
            x509_cert::time::Time::GeneralTime(t) => Self::GeneralTime(t.into()),
        }
    }
}

impl fmt::Display for TemplateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UtcTime(t) => write!(f, "{}", t.to_date_time()),
            Self::GeneralTime(t) => write!(f, "{t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};

    use super::*;

    fn tlv(value: &str) -> Vec<u8> {
        let mut der = vec![0x18, value.len() as u8];
        der.extend_from_slice(value.as_bytes());
        der
    }

    #[test]
    fn reads_and_rewrites_milliseconds_as_bouncycastle_writes_them() {
        let der = tlv("20240217171209.589Z");
        let time = GenTime::from_der(&der).expect("decodes");
        assert_eq!(time.subsec_nanos(), 589_000_000);
        assert_eq!(time.to_der().expect("encodes"), der);
        let whole = GenTime::from_der(&tlv("20240217171209Z")).expect("decodes");
        assert_eq!(
            time.to_system_time()
                .duration_since(whole.to_system_time())
                .expect("later"),
            Duration::from_millis(589)
        );
    }

    #[test]
    fn reads_whole_seconds_and_every_fraction_length_up_to_nanoseconds() {
        for value in [
            "20240217171209Z",
            "20240217171209.5Z",
            "20240217171209.123456789Z",
        ] {
            let der = tlv(value);
            let time = GenTime::from_der(&der).expect(value);
            assert_eq!(time.to_der().expect("encodes"), der, "{value}");
        }
        let ns = GenTime::from_der(&tlv("20240217171209.000000001Z")).expect("ns");
        assert_eq!(ns.subsec_nanos(), 1);
    }

    #[test]
    fn refuses_what_der_does_not_allow() {
        for value in [
            "20240217171209.580Z",        // trailing zero (X.690 §11.7.3)
            "20240217171209.Z",           // a point without digits
            "20240217171209,589Z",        // comma
            "20240217171209.589",         // no Z: local time
            "202402171712Z",              // no seconds
            "20240217171209.1234567891Z", // ten digits: past our bound
            "20241317171209Z",            // month 13
            "20240217171209.5a9Z",
        ] {
            assert!(GenTime::from_der(&tlv(value)).is_err(), "{value} accepted");
        }
    }

    #[test]
    fn a_template_time_is_either_choice_and_keeps_a_fraction() {
        let general = tlv("20240217171209.5Z");
        let t = TemplateTime::from_der(&general).expect("GeneralizedTime");
        assert!(matches!(t, TemplateTime::GeneralTime(g) if g.subsec_nanos() == 500_000_000));
        assert_eq!(t.to_der().expect("encodes"), general);
        let mut utc = vec![0x17, 13];
        utc.extend_from_slice(b"240217171209Z");
        let t = TemplateTime::from_der(&utc).expect("UTCTime");
        assert!(matches!(t, TemplateTime::UtcTime(_)));
        assert_eq!(t.to_der().expect("encodes"), utc);
    }

    #[test]
    fn writes_whole_seconds_from_the_clock() {
        let time = GenTime::from_system_time(SystemTime::now()).expect("now");
        assert_eq!(time.fraction(), None);
        assert_eq!(time.to_der().expect("encodes").len(), 2 + WHOLE_LEN);
    }
}
