//! Header checks: version, transaction, nonces, sender (RFC 4210 §5.1.1, RFC 9483 §3.1).

use cmp_proto::der::asn1::OctetString;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{PVNO_CMP2000, PVNO_CMP2021, PkiHeader};

use crate::error::{Error, Result};

/// pvno is 2 or 3: both are accepted on receipt (RFC 9480 §2.20).
pub fn check_pvno(header: &PkiHeader) -> Result<()> {
    match header.pvno {
        PVNO_CMP2000 | PVNO_CMP2021 => Ok(()),
        pvno => Err(Error::UnsupportedPvno { pvno }),
    }
}

/// The transactionID is the one of our request (RFC 4210 §5.1.1).
pub fn check_transaction_id(header: &PkiHeader, ours: &OctetString) -> Result<()> {
    match &header.transaction_id {
        Some(id) if id == ours => Ok(()),
        _ => Err(Error::TransactionIdMismatch),
    }
}

/// The recipNonce echoes one of `accepted`: our last senderNonce, or, for the final
/// response after polling, the first request's (RFC 9483 §4.4).
pub fn check_recip_nonce(header: &PkiHeader, accepted: &[&OctetString]) -> Result<()> {
    match &header.recip_nonce {
        Some(nonce) if accepted.contains(&nonce) => Ok(()),
        _ => Err(Error::RecipNonceMismatch),
    }
}

/// A senderNonce of at least 128 bits is present (RFC 9483 §3.1); it becomes the
/// recipNonce of our next message.
pub fn check_sender_nonce(header: &PkiHeader) -> Result<OctetString> {
    match &header.sender_nonce {
        Some(nonce) if nonce.as_bytes().len() >= 16 => Ok(nonce.clone()),
        _ => Err(Error::BadSenderNonce),
    }
}

/// The peer's senderNonce is fresh: not the one of its previous message in this
/// transaction (RFC 4210 §5.1.1: each message gets a new nonce, against replay). A
/// pkiConf that repeats the ip's senderNonce is a replayed or forged answer.
pub fn check_fresh_sender_nonce(nonce: &OctetString, previous: Option<&OctetString>) -> Result<()> {
    if previous == Some(nonce) {
        Err(Error::SenderNonceReused)
    } else {
        Ok(())
    }
}

/// The sender is the expected one, when one is configured: the same RDNs in the same
/// order, or in exactly the reverse order. A DN typed as text is ambiguous in its order
/// (RFC 4514 writes the last RDN first, OpenSSL's `/C=../CN=..` the first), and EJBCA
/// encodes its CA's name CN first: `CN=ManagementCA,O=EJBCA Sample,C=SE` must match it
/// whichever way it was meant. No other name matches.
pub fn check_sender(header: &PkiHeader, expected: Option<&Name>) -> Result<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match &header.sender {
        GeneralName::DirectoryName(name) if name == expected || reversed(name, expected) => Ok(()),
        other => Err(Error::UnexpectedSender {
            sender: describe(other),
            expected: expected.to_string(),
        }),
    }
}

/// Whether `a` holds the RDNs of `b` in reverse order.
pub(crate) fn reversed(a: &Name, b: &Name) -> bool {
    let a: Vec<_> = a.iter_rdn().collect();
    let mut b: Vec<_> = b.iter_rdn().collect();
    b.reverse();
    a == b
}

/// A GeneralName for error messages.
pub(crate) fn describe(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(n) => n.to_string(),
        GeneralName::DnsName(n) => format!("DNS:{}", n.as_str()),
        GeneralName::Rfc822Name(n) => format!("email:{}", n.as_str()),
        GeneralName::UniformResourceIdentifier(n) => format!("URI:{}", n.as_str()),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::header;
    use std::str::FromStr;

    #[test]
    fn rejects_a_sender_nonce_repeated_from_the_previous_answer() {
        let first = OctetString::new(vec![1; 16]).expect("nonce");
        let second = OctetString::new(vec![2; 16]).expect("nonce");
        assert!(check_fresh_sender_nonce(&first, None).is_ok());
        assert!(check_fresh_sender_nonce(&second, Some(&first)).is_ok());
        assert!(matches!(
            check_fresh_sender_nonce(&first, Some(&first)),
            Err(Error::SenderNonceReused)
        ));
    }

    #[test]
    fn expected_sender_matches_in_either_rdn_order_and_nothing_else() {
        let mut h = header();
        let expected = Name::from_str("CN=ManagementCA,O=EJBCA Sample,C=SE").expect("DN");
        // EJBCA's encoding (CN first) is what OpenSSL's slash form writes.
        let ejbca = Name::from_str("C=SE,O=EJBCA Sample,CN=ManagementCA").expect("DN");
        for sender in [expected.clone(), ejbca] {
            h.sender = GeneralName::DirectoryName(sender);
            assert!(check_sender(&h, Some(&expected)).is_ok());
        }
        for other in [
            "CN=ManagementCA,O=Other,C=SE",
            "O=EJBCA Sample,CN=ManagementCA,C=SE",
        ] {
            h.sender = GeneralName::DirectoryName(Name::from_str(other).expect("DN"));
            assert!(
                matches!(
                    check_sender(&h, Some(&expected)),
                    Err(Error::UnexpectedSender { .. })
                ),
                "{other}"
            );
        }
    }

    #[test]
    fn rejects_unsupported_pvno() {
        let mut h = header();
        h.pvno = 1;
        assert!(matches!(
            check_pvno(&h),
            Err(Error::UnsupportedPvno { pvno: 1 })
        ));
        h.pvno = 3;
        assert!(check_pvno(&h).is_ok());
    }

    #[test]
    fn rejects_response_with_wrong_transaction_id() {
        let h = header();
        let ours = h.transaction_id.clone().expect("tid");
        assert!(check_transaction_id(&h, &ours).is_ok());
        let other = OctetString::new(vec![9; 16]).expect("octets");
        assert!(matches!(
            check_transaction_id(&h, &other),
            Err(Error::TransactionIdMismatch)
        ));
        let mut missing = h.clone();
        missing.transaction_id = None;
        assert!(matches!(
            check_transaction_id(&missing, &ours),
            Err(Error::TransactionIdMismatch)
        ));
    }

    #[test]
    fn rejects_response_with_wrong_or_missing_recip_nonce() {
        let h = header();
        let ours = h.recip_nonce.clone().expect("nonce");
        assert!(check_recip_nonce(&h, &[&ours]).is_ok());
        let replayed = OctetString::new(vec![7; 16]).expect("octets");
        assert!(matches!(
            check_recip_nonce(&h, &[&replayed]),
            Err(Error::RecipNonceMismatch)
        ));
        let mut missing = h;
        missing.recip_nonce = None;
        assert!(matches!(
            check_recip_nonce(&missing, &[&ours]),
            Err(Error::RecipNonceMismatch)
        ));
    }

    #[test]
    fn rejects_short_or_missing_sender_nonce() {
        let mut h = header();
        assert!(check_sender_nonce(&h).is_ok());
        h.sender_nonce = Some(OctetString::new(vec![1; 8]).expect("octets"));
        assert!(matches!(check_sender_nonce(&h), Err(Error::BadSenderNonce)));
        h.sender_nonce = None;
        assert!(matches!(check_sender_nonce(&h), Err(Error::BadSenderNonce)));
    }

    #[test]
    fn rejects_unexpected_sender() {
        let h = header();
        let ca = Name::from_str("CN=CA").expect("DN");
        assert!(check_sender(&h, Some(&ca)).is_ok());
        assert!(check_sender(&h, None).is_ok());
        let other = Name::from_str("CN=Mallory").expect("DN");
        assert!(matches!(
            check_sender(&h, Some(&other)),
            Err(Error::UnexpectedSender { .. })
        ));
    }
}
