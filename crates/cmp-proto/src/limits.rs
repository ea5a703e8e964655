//! Bounds on what a peer can make us decode or compute.

/// Every bound a peer's message is held to while it is decoded or verified.
///
/// One value so that a caller sees, and can tune, everything a hostile peer could
/// inflate. The defaults are chosen to admit every real peer we know of with a wide
/// margin, and no more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded PKIMessage accepted, in bytes. Default 512 KiB: a message with a
    /// full chain of RSA-4096 certificates and a CRL is well under 64 KiB.
    pub max_message_size: usize,
    /// Most certificates accepted in `extraCerts` or `caPubs`. Default 32; RFC 9483 §3.3
    /// asks only for the signer's chain.
    pub max_certificates: usize,
    /// Highest PasswordBasedMac iteration count (RFC 4211 §4.4). Default 100,000:
    /// OpenSSL sends 500, some CAs refuse more than 2,047, and one SHA-256 iteration costs
    /// well under a microsecond, so the bound caps our work at a few tens of milliseconds.
    pub max_pbm_iterations: u32,
    /// Lowest PasswordBasedMac iteration count. Default 100 (RFC 4211 §4.4 says the
    /// count should be at least 100 to slow dictionary attacks).
    pub min_pbm_iterations: u32,
    /// Highest PBKDF2 iteration count for PBMAC1 (RFC 9481 §6.1.2). Default 1,000,000:
    /// the OWASP 2023 figure for PBKDF2-HMAC-SHA256 is 600,000.
    pub max_pbkdf2_iterations: u32,
    /// Lowest PBKDF2 iteration count. Default 1,000 (RFC 8018 §4.2).
    pub min_pbkdf2_iterations: u32,
    /// Shortest salt accepted in MAC parameters, in bytes. Default 8 (RFC 8018 §4.1
    /// asks for at least 64 bits).
    pub min_salt_len: usize,
    /// Longest salt accepted in MAC parameters, in bytes. Default 128.
    pub max_salt_len: usize,
    /// Longest PBKDF2 derived key accepted, in bytes. Default 1,024, BouncyCastle's own
    /// bound (its `JcePBMac1CalculatorBuilder` writes keyLength 512 for a 4096-bit key);
    /// what the derivation costs is bounded by [`Self::max_pbkdf2_work`].
    pub max_derived_key_len: usize,
    /// Most PBKDF2 work accepted: the iteration count times the PRF output blocks of the
    /// derived key (RFC 8018 §5.2: each block runs every iteration). Default 262,144:
    /// what the most demanding real peers need (Go clients' 262,144 iterations of one
    /// block; BouncyCastle's 512-octet key at 8,192 iterations is 131,072; EJBCA caps
    /// 10,000), and a quarter of what a reference alone (senderKID is no secret) could
    /// make a server compute per request before (issue 16, finding 2: a million
    /// iterations, two million with a 64-byte key).
    pub max_pbkdf2_work: u64,
    /// Smallest RSA modulus accepted for a signature, in bits. Default 2,048
    /// (RFC 9481 §3.1 via NIST SP 800-131A).
    pub min_rsa_bits: usize,
    /// Largest RSA modulus accepted for a signature, in bits. Default 8,192: larger keys
    /// exist to burn our CPU.
    pub max_rsa_bits: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 512 * 1024,
            max_certificates: 32,
            max_pbm_iterations: 100_000,
            min_pbm_iterations: 100,
            max_pbkdf2_iterations: 1_000_000,
            min_pbkdf2_iterations: 1_000,
            min_salt_len: 8,
            max_salt_len: 128,
            max_derived_key_len: 1024,
            max_pbkdf2_work: 262_144,
            min_rsa_bits: 2048,
            max_rsa_bits: 8192,
        }
    }
}
