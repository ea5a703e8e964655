//! What an enrollment leaves on disk: PEM certificate, chain, CA bundle and PKCS#8 key,
//! and PKCS#12 key and trust stores (RFC 7292).
//!
//! The PKCS#12 files are what OpenSSL 3 and Java 17 write and read by default: keys and
//! certificates encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), the whole file
//! authenticated with an HMAC-SHA256 whose key comes from the PKCS#12 KDF (RFC 7292
//! Appendix B). The truststore holds every CA as its own certificate bag with a distinct
//! friendly name and Oracle's trusted-key-usage attribute, as
//! `openssl pkcs12 -export -jdktrust anyExtendedKeyUsage` writes it, so `keytool` lists
//! each one as a `trustedCertEntry`.
//!
//! Passwords for Java must be ASCII: Java 17's PBES2 refuses any other ("Password is not
//! ASCII"), for stores it reads and for stores it writes alike; OpenSSL takes UTF-8 and
//! reads ours (`tests/output.rs`). [`generate_password`] makes ASCII ones.
//!
//! No maintained PKCS#12 crate builds on this workspace's `cms`/`der` versions
//! (`pkcs12 0.2.0-pre.0` pins `cms =0.3.0-pre.1`, and `p12-keystore` depends on it), so the
//! PFX structure and the PKCS#12 KDF are written here; PBES2 is the `pkcs5` crate's.

use core::fmt;

use cmp_proto::protection::SigningKey;
use der::asn1::{Any, BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Encode, EncodePem, Sequence, pem::LineEnding};
use hmac::{Hmac, KeyInit, Mac};
use pkcs5::EncryptionScheme;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use zeroize::Zeroizing;

/// Why an output could not be produced.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// DER or PEM encoding failed.
    Encoding(der::Error),
    /// The private key could not be serialised.
    Key(cmp_proto::Error),
    /// The private key is not the one of the certificate.
    KeyMismatch,
    /// PBES2 encryption failed.
    Encryption(pkcs5::Error),
    /// The system random generator failed.
    Random,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encoding(e) => write!(f, "encoding failed: {e}"),
            Self::Key(e) => write!(f, "private key: {e}"),
            Self::KeyMismatch => f.write_str("the private key does not match the certificate"),
            Self::Encryption(e) => write!(f, "PKCS#12 encryption failed: {e}"),
            Self::Random => f.write_str("the system random generator failed"),
        }
    }
}

impl std::error::Error for OutputError {}

impl From<der::Error> for OutputError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e)
    }
}

impl From<pkcs5::Error> for OutputError {
    fn from(e: pkcs5::Error) -> Self {
        Self::Encryption(e)
    }
}

/// Result of the output functions.
pub type Result<T> = core::result::Result<T, OutputError>;

/// PEM of one certificate.
pub fn certificate_pem(cert: &Certificate) -> Result<String> {
    Ok(cert.to_pem(LineEnding::LF)?)
}

/// PEM of a chain, in the order given (leaf first, then its issuers).
pub fn chain_pem(chain: &[Certificate]) -> Result<String> {
    let mut out = String::new();
    for cert in chain {
        out.push_str(&certificate_pem(cert)?);
    }
    Ok(out)
}

/// The issuers of `leaf` found in `pool`, nearest first: each the certificate whose
/// subject is the previous one's issuer, until a self-signed one (included) or none is
/// found. Certificates of `pool` that are not on that path (a CA's other roots, certificates
/// for other subjects) are left out, and none is taken twice, so the walk ends.
///
/// What `--chainout` and a PKCS#12 keystore should hold of a response's extraCerts and
/// caPubs, and what a signer adds to extraCerts from its untrusted certificates
/// (RFC 9483 §3.3). Names only: whether the path verifies is the chain check's business
/// ([`crate::checks::validate_chain`]).
pub fn issuer_chain(leaf: &Certificate, pool: &[Certificate]) -> Vec<Certificate> {
    let mut chain: Vec<Certificate> = Vec::new();
    let mut current = leaf;
    loop {
        let tbs = current.tbs_certificate();
        if tbs.issuer() == tbs.subject() {
            break; // self-signed: the path ends here
        }
        let Some(issuer) = pool.iter().find(|c| {
            c.tbs_certificate().subject() == tbs.issuer() && c != &leaf && !chain.contains(c)
        }) else {
            break;
        };
        chain.push(issuer.clone());
        current = issuer;
    }
    chain
}

/// PEM of a CA bundle: every certificate, duplicates (same DER) written once.
pub fn ca_bundle_pem(cas: &[Certificate]) -> Result<String> {
    chain_pem(&dedup(cas)?)
}

/// The private key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
pub fn key_pem(key: &SigningKey) -> Result<Zeroizing<String>> {
    key.to_pkcs8_pem().map_err(OutputError::Key)
}

/// A random password for generated keystores: 24 base64url characters (144 bits).
pub fn generate_password() -> Result<Zeroizing<String>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Zeroizing::new(random(18)?);
    let mut out = Zeroizing::new(String::with_capacity(24));
    for chunk in bytes.chunks(3) {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
        }
    }
    Ok(out)
}

/// A PKCS#12 keystore: the key (PKCS#8 shrouded key bag) and its certificate, both named
/// `friendly_name` and tied by a localKeyId, followed by the chain's certificates.
///
/// ```
/// use cmp_client::output::{generate_password, keystore_p12, truststore_p12};
/// use cmp_proto::protection::SigningKey;
/// use cmp_proto::x509_cert::Certificate;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../cmp-proto/tests/fixtures/keys/");
/// let key = SigningKey::from_pem(&std::fs::read_to_string(format!("{dir}ee.key"))?)?;
/// let cert = Certificate::load_pem_chain(&std::fs::read(format!("{dir}ee.pem"))?)?.remove(0);
/// let root = Certificate::load_pem_chain(&std::fs::read(format!("{dir}root.pem"))?)?.remove(0);
///
/// let password = generate_password()?;
/// let keystore = keystore_p12(&key, &cert, &[root.clone()], &password, "ee")?;
/// let truststore = truststore_p12(&[root], &password)?;
/// // DER PFX (RFC 7292) that `keytool -list -storetype PKCS12` and `openssl pkcs12` read.
/// assert_eq!(keystore[0], 0x30);
/// assert_eq!(truststore[0], 0x30);
/// # Ok(()) }
/// ```
pub fn keystore_p12(
    key: &SigningKey,
    cert: &Certificate,
    chain: &[Certificate],
    password: &str,
    friendly_name: &str,
) -> Result<Vec<u8>> {
    let spki = key.public_key_info().map_err(OutputError::Key)?;
    if spki.to_der()? != cert.tbs_certificate().subject_public_key_info().to_der()? {
        return Err(OutputError::KeyMismatch);
    }
    let cert_der = cert.to_der()?;
    let local_key_id = Sha256::digest(&cert_der).to_vec();
    let key_attrs = || -> Result<SetOfVec<Attribute>> {
        Ok(SetOfVec::try_from(vec![
            attribute(
                OID_FRIENDLY_NAME,
                Any::encode_from(&BmpString::from_utf8(friendly_name)?)?,
            ),
            attribute(
                OID_LOCAL_KEY_ID,
                Any::encode_from(&OctetString::new(local_key_id.clone())?)?,
            ),
        ])?)
    };

    let mut cert_bags = vec![cert_bag(&cert_der, Some(key_attrs()?))?];
    let leaf = cert_der.clone();
    for ca in dedup(chain)? {
        let der = ca.to_der()?;
        if der != leaf {
            cert_bags.push(cert_bag(&der, None)?);
        }
    }

    let pkcs8 = key.to_pkcs8_der().map_err(OutputError::Key)?;
    let scheme = pbes2_scheme()?;
    let encrypted = scheme.encrypt(password.as_bytes(), &pkcs8)?;
    let shrouded = EncryptedPrivateKeyInfo {
        encryption_algorithm: scheme,
        encrypted_data: OctetString::new(encrypted)?,
    };
    let key_bag = SafeBag {
        bag_id: OID_PKCS8_SHROUDED_KEY_BAG,
        bag_value: Any::encode_from(&shrouded)?,
        bag_attributes: Some(key_attrs()?),
    };

    pfx(
        vec![
            encrypted_content(&cert_bags, password)?,
            data_content(&[key_bag])?,
        ],
        password,
    )
}

/// A PKCS#12 truststore: every CA its own certificate bag, named after its subject's CN
/// (made distinct), marked trusted for any purpose for Java; no key.
pub fn truststore_p12(cas: &[Certificate], password: &str) -> Result<Vec<u8>> {
    let mut names: Vec<String> = Vec::new();
    let mut bags = Vec::new();
    for ca in dedup(cas)? {
        let base = display_name(&ca);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base} ({n})");
            n += 1;
        }
        let attrs = SetOfVec::try_from(vec![
            attribute(
                OID_FRIENDLY_NAME,
                Any::encode_from(&BmpString::from_utf8(&name)?)?,
            ),
            attribute(
                OID_ORACLE_TRUSTED_KEY_USAGE,
                Any::encode_from(&OID_ANY_EXTENDED_KEY_USAGE)?,
            ),
        ])?;
        bags.push(cert_bag(&ca.to_der()?, Some(attrs))?);
        names.push(name);
    }
    pfx(vec![encrypted_content(&bags, password)?], password)
}

// --- PKCS#12 structures (RFC 7292) ---

const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const OID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const OID_PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const OID_CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const OID_X509_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const OID_FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const OID_LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
/// Oracle's trusted key usage for trusted certificate entries (what `-jdktrust` writes).
const OID_ORACLE_TRUSTED_KEY_USAGE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113894.746875.1.1");
const OID_ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// PBKDF2 and MAC iterations (Java's default; OpenSSL's is 2048).
const ITERATIONS: u32 = 10_000;

#[derive(Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: Any,
}

#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    #[asn1(optional = "true")]
    bag_attributes: Option<SetOfVec<Attribute>>,
}

#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetString,
}

#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: EncryptionScheme,
    encrypted_data: OctetString,
}

#[derive(Sequence)]
struct EncryptedData {
    version: u8,
    encrypted_content_info: EncryptedContentInfo,
}

#[derive(Sequence)]
struct EncryptedContentInfo {
    content_type: ObjectIdentifier,
    content_encryption_algorithm: EncryptionScheme,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    encrypted_content: Option<OctetString>,
}

#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    iterations: u32,
}

#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    mac_data: MacData,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Attribute {
    let mut values = SetOfVec::new();
    values
        .insert(value)
        .expect("a set of one value is always well-formed");
    Attribute { oid, values }
}

fn cert_bag(cert_der: &[u8], attrs: Option<SetOfVec<Attribute>>) -> Result<SafeBag> {
    let bag = CertBag {
        cert_id: OID_X509_CERTIFICATE,
        cert_value: OctetString::new(cert_der)?,
    };
    Ok(SafeBag {
        bag_id: OID_CERT_BAG,
        bag_value: Any::encode_from(&bag)?,
        bag_attributes: attrs,
    })
}

/// A `data` ContentInfo holding the bags in clear (their own values may be encrypted).
fn data_content(bags: &[SafeBag]) -> Result<ContentInfo> {
    let safe_contents = bags.to_vec_der()?;
    Ok(ContentInfo {
        content_type: OID_DATA,
        content: Any::encode_from(&OctetString::new(safe_contents)?)?,
    })
}

/// An `encryptedData` ContentInfo holding the bags encrypted with PBES2.
fn encrypted_content(bags: &[SafeBag], password: &str) -> Result<ContentInfo> {
    let safe_contents = bags.to_vec_der()?;
    let scheme = pbes2_scheme()?;
    let ciphertext = scheme.encrypt(password.as_bytes(), &safe_contents)?;
    let data = EncryptedData {
        version: 0,
        encrypted_content_info: EncryptedContentInfo {
            content_type: OID_DATA,
            content_encryption_algorithm: scheme,
            encrypted_content: Some(OctetString::new(ciphertext)?),
        },
    };
    Ok(ContentInfo {
        content_type: OID_ENCRYPTED_DATA,
        content: Any::encode_from(&data)?,
    })
}

/// The PFX: the authenticated safe in a `data` ContentInfo, with the HMAC-SHA256 over it.
fn pfx(contents: Vec<ContentInfo>, password: &str) -> Result<Vec<u8>> {
    let auth_safe = contents.to_der()?;
    let salt = random(16)?;
    let mac_key = pkcs12_kdf_sha256(password, &salt, 3, ITERATIONS, 32);
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key).expect("HMAC takes keys of any length");
    mac.update(&auth_safe);
    let digest = mac.finalize().into_bytes().to_vec();
    Ok(Pfx {
        version: 3,
        auth_safe: ContentInfo {
            content_type: OID_DATA,
            content: Any::encode_from(&OctetString::new(auth_safe)?)?,
        },
        mac_data: MacData {
            mac: DigestInfo {
                digest_algorithm: AlgorithmIdentifierOwned {
                    oid: OID_SHA256,
                    parameters: Some(Any::null()),
                },
                digest: OctetString::new(digest)?,
            },
            mac_salt: OctetString::new(salt)?,
            iterations: ITERATIONS,
        },
    }
    .to_der()?)
}

/// Encoding a slice of bags as a SEQUENCE OF.
trait ToVecDer {
    fn to_vec_der(&self) -> Result<Vec<u8>>;
}

impl ToVecDer for [SafeBag] {
    fn to_vec_der(&self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        for bag in self {
            bag.encode_to_vec(&mut body)?;
        }
        let header = der::Header::new(der::Tag::Sequence, der::Length::try_from(body.len())?);
        let mut out = header.to_der()?;
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, fresh salt and IV.
fn pbes2_scheme() -> Result<EncryptionScheme> {
    let salt = random(16)?;
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&random(16)?);
    Ok(pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(ITERATIONS, &salt, iv)?.into())
}

/// The PKCS#12 key derivation (RFC 7292 Appendix B.2) with SHA-256 (u = 32, v = 64);
/// the password is the BMPString with its two zero bytes of termination.
fn pkcs12_kdf_sha256(password: &str, salt: &[u8], id: u8, iterations: u32, n: usize) -> Vec<u8> {
    const U: usize = 32;
    const V: usize = 64;
    let mut pass = Zeroizing::new(Vec::with_capacity(2 * password.len() + 2));
    for unit in password.encode_utf16() {
        pass.extend_from_slice(&unit.to_be_bytes());
    }
    pass.extend_from_slice(&[0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(len).collect()
    };
    let mut i = fill(salt);
    i.extend_from_slice(&fill(&pass));
    let mut i = Zeroizing::new(i);
    let d = [id; V];
    let mut out = Vec::with_capacity(n);
    loop {
        let mut a = Sha256::new().chain_update(d).chain_update(&*i).finalize();
        for _ in 1..iterations {
            a = Sha256::digest(a);
        }
        let take = (n - out.len()).min(U);
        out.extend_from_slice(&a[..take]);
        if out.len() == n {
            return out;
        }
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in i.chunks_mut(V) {
            // block = (block + b + 1) mod 2^(8v)
            let mut carry = 1u16;
            for k in (0..V).rev() {
                let sum = u16::from(block[k]) + u16::from(b[k]) + carry;
                block[k] = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

fn random(n: usize) -> Result<Vec<u8>> {
    cmp_proto::builder::random_bytes(n).map_err(|_| OutputError::Random)
}

/// Certificates in order, each DER once.
fn dedup(certs: &[Certificate]) -> Result<Vec<Certificate>> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for cert in certs {
        let der = cert.to_der()?;
        if !seen.contains(&der) {
            seen.push(der);
            out.push(cert.clone());
        }
    }
    Ok(out)
}

/// A friendly name for `cert`: its subject's CN, or the whole subject when it has none.
pub fn friendly_name(cert: &Certificate) -> String {
    display_name(cert)
}

/// The subject's CN, or the whole subject when it has none.
fn display_name(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate().subject();
    match subject.common_name() {
        Ok(Some(cn)) => String::from(cn),
        _ => subject.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs12_kdf_output_is_a_prefix_of_longer_output() {
        // The KDF itself is checked end to end: `openssl pkcs12` verifies our MACs
        // (tests/output.rs).
        let key = pkcs12_kdf_sha256("pass", &[1, 2, 3, 4, 5, 6, 7, 8], 3, 1, 32);
        assert_eq!(key.len(), 32);
        let long = pkcs12_kdf_sha256("pass", &[1, 2, 3, 4, 5, 6, 7, 8], 3, 1, 40);
        assert_eq!(&long[..32], &key[..]);
    }

    #[test]
    fn issuer_chain_keeps_only_the_path_of_the_leaf() {
        use crate::checks::test_support::cert;
        let (ee, root) = (cert("ee.pem"), cert("root.pem"));
        // Other certificates of the same CA and a duplicate root are not the chain.
        let pool = [
            cert("server.pem"),
            root.clone(),
            cert("client.pem"),
            root.clone(),
        ];
        assert_eq!(issuer_chain(&ee, &pool), vec![root.clone()]);
        assert_eq!(issuer_chain(&ee, &[cert("server.pem")]), vec![]);
        assert_eq!(
            issuer_chain(&root, &pool),
            vec![],
            "a self-signed leaf has none"
        );
    }

    #[test]
    fn generated_passwords_are_24_base64url_chars() {
        let a = generate_password().expect("random");
        let b = generate_password().expect("random");
        assert_eq!(a.len(), 24);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(*a, *b);
    }
}
