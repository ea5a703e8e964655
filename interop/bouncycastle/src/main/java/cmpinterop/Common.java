package cmpinterop;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import java.io.OutputStream;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.TimeZone;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.cmp.InfoTypeAndValue;
import org.bouncycastle.asn1.cmp.PKIHeaderBuilder;
import org.bouncycastle.asn1.cmp.PKIMessage;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessageBuilder;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.cmp.CMPCertificate;
import org.bouncycastle.asn1.cmp.CMPObjectIdentifiers;
import org.bouncycastle.asn1.cmp.PKIBody;
import org.bouncycastle.asn1.cmp.PKIFreeText;
import org.bouncycastle.asn1.cmp.PKIHeader;
import org.bouncycastle.asn1.cmp.PKIStatusInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.cert.crmf.PKMACBuilder;
import org.bouncycastle.cert.crmf.jcajce.JcePKMACValuesCalculator;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.MacCalculator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcePBMac1CalculatorBuilder;
import org.bouncycastle.pkcs.jcajce.JcePBMac1CalculatorProviderBuilder;

/** What the BouncyCastle client and server share: protection, HTTP, PEM, checks. */
final class Common {
    static final String BC = BouncyCastleProvider.PROVIDER_NAME;
    static final SecureRandom RANDOM = new SecureRandom();
    static final String CONTENT_TYPE = "application/pkixcmp";

    static {
        Security.addProvider(new BouncyCastleProvider());
    }

    private Common() {}

    /** A failed check: becomes one FAIL line. */
    static class CheckFailed extends Exception {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    static void check(boolean condition, String format, Object... args) throws CheckFailed {
        if (!condition) {
            throw new CheckFailed(String.format(format, args));
        }
    }

    static byte[] random(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    static KeyPair newP256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BC);
        g.initialize(new ECGenParameterSpec("P-256"), RANDOM);
        return g.generateKeyPair();
    }

    static ContentSigner signer(PrivateKey key) throws Exception {
        String alg = key.getAlgorithm().startsWith("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        return new JcaContentSignerBuilder(alg).setProvider(BC).build(key);
    }

    // ---- protection ----------------------------------------------------------------

    /** The three protections covered. */
    enum Protection {
        PBM("PasswordBasedMac"), PBMAC1("PBMAC1"), SIGNATURE("signature");

        final String label;

        Protection(String label) {
            this.label = label;
        }

        static Protection of(AlgorithmIdentifier alg) {
            if (alg == null) {
                return null;
            }
            ASN1ObjectIdentifier oid = alg.getAlgorithm();
            if (oid.equals(CMPObjectIdentifiers.passwordBasedMac)) {
                return PBM;
            }
            if (oid.equals(PKCSObjectIdentifiers.id_PBMAC1)) {
                return PBMAC1;
            }
            return SIGNATURE;
        }
    }

    /** PasswordBasedMac with BouncyCastle's defaults (SHA-1, 1000 iterations, HMAC-SHA1, 20-byte salt). */
    static MacCalculator passwordBasedMac(char[] secret) throws Exception {
        return new PKMACBuilder(new JcePKMACValuesCalculator().setProvider(BC)).build(secret);
    }

    /**
     * PBMAC1 as BouncyCastle's own tests and documentation build it: HMAC-SHA256 with a 256-bit key,
     * PBKDF2 with the builder's defaults (PRF hmacWithSHA256, salt as long as the MAC, 8192 iterations).
     */
    static MacCalculator pbmac1(char[] secret) throws Exception {
        return new JcePBMac1CalculatorBuilder("HmacSHA256", 256).setProvider(BC).build(secret);
    }

    static MacCalculator mac(Protection p, char[] secret) throws Exception {
        return p == Protection.PBM ? passwordBasedMac(secret) : pbmac1(secret);
    }

    /** Verifies a PasswordBasedMac or PBMAC1 protection with the shared secret. */
    static void verifyMac(ProtectedPKIMessage m, char[] secret) throws Exception {
        Protection p = Protection.of(m.getProtectionAlgorithm());
        boolean ok;
        if (p == Protection.PBM) {
            ok = m.verify(new PKMACBuilder(new JcePKMACValuesCalculator().setProvider(BC)), secret);
        } else if (p == Protection.PBMAC1) {
            ok = m.verify(new JcePBMac1CalculatorProviderBuilder().setProvider(BC).build(), secret);
        } else {
            throw new CheckFailed("not MAC-protected: " + m.getProtectionAlgorithm().getAlgorithm());
        }
        check(ok, "%s protection does not verify with the shared secret", p.label);
    }

    /**
     * Verifies a signature protection: extraCerts[0] signed it, names the header sender, matches
     * senderKID when present and chains (through extraCerts and {@code more}) to {@code anchors}.
     * Returns the signer.
     */
    static X509Certificate verifySignature(ProtectedPKIMessage m, Collection<X509Certificate> anchors,
            Collection<X509Certificate> more) throws Exception {
        X509CertificateHolder[] extra = m.getCertificates();
        check(extra.length > 0, "signed message without extraCerts");
        X509Certificate signer = x509(extra[0]);
        check(m.verify(new JcaContentVerifierProviderBuilder().setProvider(BC).build(signer)),
                "signature does not verify with extraCerts[0] (%s)", signer.getSubjectX500Principal());
        PKIHeader h = m.getHeader();
        check(h.getSender().getTagNo() == GeneralName.directoryName
                && X500Name.getInstance(h.getSender().getName()).equals(subject(signer)),
                "sender %s is not the signer %s", h.getSender(), subject(signer));
        byte[] ski = ski(signer);
        if (h.getSenderKID() != null && ski != null) {
            check(Arrays.equals(h.getSenderKID().getOctets(), ski), "senderKID %s is not the signer's SKI %s",
                    hex(h.getSenderKID().getOctets()), hex(ski));
        }
        List<X509Certificate> pool = new ArrayList<>(more);
        for (X509CertificateHolder c : extra) {
            pool.add(x509(c));
        }
        validateChain(signer, pool, anchors);
        return signer;
    }

    /** Builds and validates a path from {@code leaf} to one of {@code anchors} (no revocation checks). */
    static void validateChain(X509Certificate leaf, Collection<X509Certificate> pool,
            Collection<X509Certificate> anchors) throws Exception {
        Set<TrustAnchor> ta = new HashSet<>();
        for (X509Certificate a : anchors) {
            ta.add(new TrustAnchor(a, null));
        }
        X509CertSelector sel = new X509CertSelector();
        sel.setCertificate(leaf);
        PKIXBuilderParameters params = new PKIXBuilderParameters(ta, sel);
        params.setRevocationEnabled(false);
        List<X509Certificate> store = new ArrayList<>(pool);
        store.add(leaf);
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(store)));
        try {
            CertPathBuilder.getInstance("PKIX").build(params);
        } catch (Exception e) {
            throw new CheckFailed("certificate " + leaf.getSubjectX500Principal() + " does not chain to "
                    + "the trust anchors: " + e.getMessage());
        }
    }

    // ---- certificates and names ----------------------------------------------------

    static X509Certificate x509(X509CertificateHolder h) throws Exception {
        return new JcaX509CertificateConverter().setProvider(BC).getCertificate(h);
    }

    static X509Certificate x509(CMPCertificate c) throws Exception {
        check(c.isX509v3PKCert(), "not an X.509 certificate in a CMPCertificate");
        return x509(new X509CertificateHolder(c.getX509v3PKCert()));
    }

    static X509CertificateHolder holder(X509Certificate c) throws Exception {
        return new X509CertificateHolder(c.getEncoded());
    }

    static CMPCertificate cmpCert(X509Certificate c) throws Exception {
        return new CMPCertificate(org.bouncycastle.asn1.x509.Certificate.getInstance(c.getEncoded()));
    }

    static X500Name subject(X509Certificate c) {
        return X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
    }

    static X500Name issuer(X509Certificate c) {
        return X500Name.getInstance(c.getIssuerX500Principal().getEncoded());
    }

    static byte[] ski(X509Certificate c) {
        byte[] ext = c.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext == null) {
            return null;
        }
        return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getKeyIdentifier();
    }

    static boolean selfSigned(X509Certificate c) {
        if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
            return false;
        }
        try {
            c.verify(c.getPublicKey());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static boolean sameKey(PublicKey a, PublicKey b) {
        return Arrays.equals(a.getEncoded(), b.getEncoded());
    }

    // ---- PEM -------------------------------------------------------------------------

    static List<X509Certificate> readCerts(Path file) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            Object o;
            while ((o = p.readObject()) != null) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(x509(h));
                }
            }
        }
        return out;
    }

    static PrivateKey readKey(Path file) throws Exception {
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider(BC);
            if (o instanceof PEMKeyPair kp) {
                return conv.getKeyPair(kp).getPrivate();
            }
            if (o instanceof PrivateKeyInfo pki) {
                return conv.getPrivateKey(pki);
            }
            throw new IOException("no private key in " + file);
        }
    }

    static void writePem(Path file, Object... objects) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            for (Object o : objects) {
                pw.writeObject(o);
            }
        }
        Files.writeString(file, w.toString());
    }

    // ---- messages ----------------------------------------------------------------------

    static byte[] der(ProtectedPKIMessage m) throws IOException {
        return m.toASN1Structure().getEncoded(ASN1Encoding.DER);
    }

    /** Who protects a message: a MAC calculator or a signer (with the certificates for extraCerts). */
    record Protector(MacCalculator mac, ContentSigner signer, List<X509Certificate> extraCerts) {}

    /** How a message's messageTime is written. */
    enum Time {
        /** None: ProtectedPKIMessageBuilder's default when setMessageTime is not called. */
        NONE,
        /** setMessageTime(new Date()): BouncyCastle 1.87 writes whole seconds, "yyyyMMddHHmmssZ". */
        SECONDS,
        /** With milliseconds, "yyyyMMddHHmmss.SSSZ", through PKIHeaderBuilder (see {@link #build}). */
        MILLIS
    }

    /** "yyyyMMddHHmmss.SSSZ" now: GeneralizedTime with milliseconds (DER drops trailing zeros). */
    static ASN1GeneralizedTime millisecondsNow() {
        SimpleDateFormat f = new SimpleDateFormat("yyyyMMddHHmmss.SSS'Z'", Locale.ROOT);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        return new ASN1GeneralizedTime(f.format(new Date()));
    }

    /**
     * Builds and protects a PKIMessage. With {@link Time#NONE} or {@link Time#SECONDS} this is
     * BouncyCastle's ProtectedPKIMessageBuilder, without setMessageTime or with setMessageTime(new Date())
     * (whole seconds in 1.87). With {@link Time#MILLIS} the header comes from PKIHeaderBuilder with an
     * ASN1GeneralizedTime carrying milliseconds (as EJBCA-style BouncyCastle users write it), and the
     * protection is computed the way ProtectedPKIMessageBuilder does: over DER(SEQUENCE {header, body}).
     */
    static ProtectedPKIMessage build(int pvno, GeneralName sender, GeneralName recipient, byte[] tid, byte[] senderNonce,
            byte[] recipNonce, byte[] senderKID, Time time, PKIBody body, Protector p) throws Exception {
        return build(pvno, sender, recipient, tid, senderNonce, recipNonce, senderKID, time, List.of(), body, p);
    }

    /** As above, with generalInfo (e.g. implicitConfirm). */
    static ProtectedPKIMessage build(int pvno, GeneralName sender, GeneralName recipient, byte[] tid, byte[] senderNonce,
            byte[] recipNonce, byte[] senderKID, Time time, List<InfoTypeAndValue> generalInfo, PKIBody body,
            Protector p) throws Exception {
        if (time != Time.MILLIS) {
            ProtectedPKIMessageBuilder b = new ProtectedPKIMessageBuilder(pvno, sender, recipient)
                    .setTransactionID(tid)
                    .setSenderNonce(senderNonce)
                    .setBody(body);
            if (time == Time.SECONDS) {
                b.setMessageTime(new Date());
            }
            if (recipNonce != null) {
                b.setRecipNonce(recipNonce);
            }
            if (senderKID != null) {
                b.setSenderKID(senderKID);
            }
            for (InfoTypeAndValue i : generalInfo) {
                b.addGeneralInfo(i);
            }
            for (X509Certificate c : p.extraCerts()) {
                b.addCMPCertificate(holder(c));
            }
            return p.mac() != null ? b.build(p.mac()) : b.build(p.signer());
        }
        PKIHeaderBuilder hb = new PKIHeaderBuilder(pvno, sender, recipient)
                .setTransactionID(tid)
                .setSenderNonce(senderNonce)
                .setMessageTime(millisecondsNow())
                .setProtectionAlg(p.mac() != null ? p.mac().getAlgorithmIdentifier()
                        : p.signer().getAlgorithmIdentifier());
        if (recipNonce != null) {
            hb.setRecipNonce(recipNonce);
        }
        if (senderKID != null) {
            hb.setSenderKID(senderKID);
        }
        if (!generalInfo.isEmpty()) {
            hb.setGeneralInfo(generalInfo.toArray(new InfoTypeAndValue[0]));
        }
        PKIHeader header = hb.build();
        byte[] protectedPart = new DERSequence(new ASN1Encodable[] {header, body}).getEncoded(ASN1Encoding.DER);
        byte[] protection;
        if (p.mac() != null) {
            try (OutputStream os = p.mac().getOutputStream()) {
                os.write(protectedPart);
            }
            protection = p.mac().getMac();
        } else {
            try (OutputStream os = p.signer().getOutputStream()) {
                os.write(protectedPart);
            }
            protection = p.signer().getSignature();
        }
        CMPCertificate[] extra = null;
        if (!p.extraCerts().isEmpty()) {
            extra = new CMPCertificate[p.extraCerts().size()];
            for (int i = 0; i < extra.length; i++) {
                extra[i] = cmpCert(p.extraCerts().get(i));
            }
        }
        return new ProtectedPKIMessage(new GeneralPKIMessage(
                new PKIMessage(header, body, new DERBitString(protection), extra)));
    }

    static String bodyName(int type) {
        return switch (type) {
            case PKIBody.TYPE_INIT_REQ -> "ir";
            case PKIBody.TYPE_INIT_REP -> "ip";
            case PKIBody.TYPE_CERT_REQ -> "cr";
            case PKIBody.TYPE_CERT_REP -> "cp";
            case PKIBody.TYPE_P10_CERT_REQ -> "p10cr";
            case PKIBody.TYPE_KEY_UPDATE_REQ -> "kur";
            case PKIBody.TYPE_KEY_UPDATE_REP -> "kup";
            case PKIBody.TYPE_REVOCATION_REQ -> "rr";
            case PKIBody.TYPE_REVOCATION_REP -> "rp";
            case PKIBody.TYPE_CONFIRM -> "pkiConf";
            case PKIBody.TYPE_GEN_MSG -> "genm";
            case PKIBody.TYPE_GEN_REP -> "genp";
            case PKIBody.TYPE_ERROR -> "error";
            case PKIBody.TYPE_CERT_CONFIRM -> "certConf";
            case PKIBody.TYPE_POLL_REQ -> "pollReq";
            case PKIBody.TYPE_POLL_REP -> "pollRep";
            default -> "body" + type;
        };
    }

    /** PKIStatusInfo as text: status, failInfo bits and statusString. */
    static String statusText(PKIStatusInfo s) {
        StringBuilder b = new StringBuilder("status " + s.getStatus());
        if (s.getFailInfo() != null) {
            b.append(", failInfo 0x").append(Integer.toHexString(s.getFailInfo().intValue()));
        }
        PKIFreeText t = s.getStatusString();
        if (t != null) {
            for (int i = 0; i < t.size(); i++) {
                b.append(i == 0 ? ": " : "; ").append(t.getStringAtUTF8(i).getString());
            }
        }
        return b.toString();
    }

    // ---- HTTP (RFC 6712) ------------------------------------------------------------------

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    /** POSTs a DER PKIMessage and returns the answer's body; checks status and Content-Type. */
    static byte[] post(URI url, byte[] request) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofByteArray(request))
                .build();
        HttpResponse<byte[]> rsp = HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
        String type = rsp.headers().firstValue("Content-Type").orElse("");
        check(rsp.statusCode() == 200, "HTTP %d (%s, %d bytes)", rsp.statusCode(), type, rsp.body().length);
        check(type.toLowerCase().startsWith(CONTENT_TYPE), "Content-Type %s, not %s", type, CONTENT_TYPE);
        return rsp.body();
    }

    static BigInteger serialOf(X509Certificate c) {
        return c.getSerialNumber();
    }
}
