//! A shared secret that never reaches logs.

use core::fmt;

use zeroize::Zeroizing;

/// The shared secret of MAC protection (RFC 4210 §5.1.3.1).
///
/// Wiped from memory on drop; `Debug` prints its length only.
#[derive(Clone)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// Takes the secret's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// The secret's bytes, for computing a MAC.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedSecret(<{} bytes redacted>)", self.0.len())
    }
}

impl From<&str> for SharedSecret {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}
