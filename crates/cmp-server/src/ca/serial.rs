//! Serial numbers that prove themselves: the test CA recognises its own certificates
//! without keeping a record of each, so its memory does not grow with what it issues.
//!
//! A serial is 16 bytes (RFC 5280 §4.1.2.2: positive, at most 20 octets):
//!
//! ```text
//! 0..6    random (first byte 0x01..=0x7f: positive, no leading zero)
//! 6..10   notAfter, Unix seconds, big-endian (u32: until 2106)
//! 10..16  the first 6 bytes of HMAC-SHA256(key, bytes 0..10)
//! ```
//!
//! The key is derived from the issuing CA's private key, so it survives restarts and is
//! known to nobody else: a serial that verifies was made by this CA, and says until when
//! the certificate is valid. 48 random bits and a 48-bit tag make serials unpredictable
//! and a forged one a 2^-48 guess.

use std::time::SystemTime;

use cmp_proto::protection::{HashAlg, SigningKey};
use x509_cert::serial_number::SerialNumber;
use zeroize::Zeroizing;

use super::TestCaError;

/// The key that tags serials.
pub(crate) struct SerialKey(Zeroizing<Vec<u8>>);

impl SerialKey {
    /// Derived from the issuing CA's key.
    pub fn derive(issuing_key: &SigningKey) -> Result<Self, TestCaError> {
        let der = issuing_key.to_pkcs8_der().map_err(TestCaError::Key)?;
        let mut input = Zeroizing::new(b"cmpv2 test CA serial key\0".to_vec());
        input.extend_from_slice(&der);
        Ok(Self(Zeroizing::new(HashAlg::Sha256.digest(&input))))
    }

    fn tag(&self, body: &[u8]) -> [u8; 6] {
        let mac = HashAlg::Sha256.hmac(&self.0, body);
        let mut tag = [0u8; 6];
        tag.copy_from_slice(&mac[..6]);
        tag
    }

    /// A fresh serial for a certificate valid until `not_after`.
    pub fn issue(&self, not_after: SystemTime) -> Result<(u128, SerialNumber), TestCaError> {
        let mut bytes = [0u8; 16];
        let random = cmp_proto::builder::random_bytes(6).map_err(TestCaError::Key)?;
        bytes[..6].copy_from_slice(&random);
        bytes[0] = (bytes[0] & 0x7f).max(1);
        bytes[6..10].copy_from_slice(&unix_u32(not_after).to_be_bytes());
        let tag = self.tag(&bytes[..10]);
        bytes[10..].copy_from_slice(&tag);
        let serial = SerialNumber::new(&bytes).map_err(|source| TestCaError::Encode {
            what: "serial number",
            source,
        })?;
        Ok((u128::from_be_bytes(bytes), serial))
    }

    /// If `serial` was made with this key: its value and the notAfter it carries.
    /// The notAfter (Unix seconds) carried by a serial this CA issued, without checking
    /// its tag (for serials already known to be ours, such as revoked ones).
    pub fn not_after_of(value: u128) -> u32 {
        let bytes = value.to_be_bytes();
        u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]])
    }

    pub fn open(&self, serial: &SerialNumber) -> Option<(u128, u32)> {
        let value = value_of(serial)?;
        let bytes = value.to_be_bytes();
        let expected = self.tag(&bytes[..10]);
        // Constant time is not needed: serials are public, the tag is not a secret.
        if expected != bytes[10..] {
            return None;
        }
        Some((value, Self::not_after_of(value)))
    }
}

/// A serial number as a `u128`, if it fits.
pub(crate) fn value_of(serial: &SerialNumber) -> Option<u128> {
    let bytes = serial.as_bytes();
    let bytes = bytes.strip_prefix(&[0]).unwrap_or(bytes);
    let mut padded = [0u8; 16];
    let start = 16usize.checked_sub(bytes.len())?;
    padded[start..].copy_from_slice(bytes);
    Some(u128::from_be_bytes(padded))
}

/// Unix seconds as u32, saturating (the test CA issues nothing past 2106).
pub(crate) fn unix_u32(at: SystemTime) -> u32 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_proto::protection::KeyType;
    use std::time::Duration;

    #[test]
    fn serials_open_with_their_key_only() {
        let key =
            SerialKey::derive(&SigningKey::generate(KeyType::P256).expect("key")).expect("derive");
        let other =
            SerialKey::derive(&SigningKey::generate(KeyType::P256).expect("key")).expect("derive");
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let (value, serial) = key.issue(until).expect("serial");
        assert_eq!(key.open(&serial), Some((value, 2_000_000_000)));
        assert_eq!(other.open(&serial), None);
        // One bit changed: no longer ours.
        let forged = SerialNumber::new(&(value ^ 1 << 20).to_be_bytes()).expect("serial");
        assert_eq!(key.open(&forged), None);
        // Positive, 16 bytes, no leading zero.
        assert_eq!(serial.as_bytes().len(), 16);
        assert!(serial.as_bytes()[0] >= 1 && serial.as_bytes()[0] <= 0x7f);
    }
}
