package cmpinterop;

import static cmpinterop.Common.BC;
import static cmpinterop.Common.check;
import static cmpinterop.Common.hex;

import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.cmp.CMPCertificate;
import org.bouncycastle.asn1.cmp.CMPObjectIdentifiers;
import org.bouncycastle.asn1.cmp.CertRepMessage;
import org.bouncycastle.asn1.cmp.CertResponse;
import org.bouncycastle.asn1.cmp.ErrorMsgContent;
import org.bouncycastle.asn1.cmp.GenMsgContent;
import org.bouncycastle.asn1.cmp.GenRepContent;
import org.bouncycastle.asn1.cmp.InfoTypeAndValue;
import org.bouncycastle.asn1.cmp.PKIBody;
import org.bouncycastle.asn1.cmp.PKIFailureInfo;
import org.bouncycastle.asn1.cmp.PKIHeader;
import org.bouncycastle.asn1.cmp.PKIStatus;
import org.bouncycastle.asn1.cmp.PKIStatusInfo;
import org.bouncycastle.asn1.cmp.RevDetails;
import org.bouncycastle.asn1.cmp.RevRepContent;
import org.bouncycastle.asn1.cmp.RevReqContent;
import org.bouncycastle.asn1.crmf.CertId;
import org.bouncycastle.asn1.crmf.CertReqMessages;
import org.bouncycastle.asn1.crmf.CertTemplateBuilder;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.cmp.CertificateConfirmationContent;
import org.bouncycastle.cert.cmp.CertificateConfirmationContentBuilder;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.cert.crmf.CertificateRepMessage;
import org.bouncycastle.cert.crmf.CertificateRequestMessageBuilder;
import org.bouncycastle.cert.crmf.CertificateResponse;
import org.bouncycastle.cert.crmf.OldCertIDControl;
import org.bouncycastle.cert.crmf.jcajce.JcaCertificateRequestMessageBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * BouncyCastle as a CMP client against a CMP server (here: {@code cmpv2 serve}). Every answer is
 * checked: DER, pvno, transactionID, recipNonce, protection (MAC with the shared secret or a
 * signature by a certificate chaining to the trust anchors), body type, certReqId, status, the
 * certificate's key, subject and chain, certConf/pkiConf, rp and genp contents.
 *
 * <pre>
 * BcClient --server URL --ref REF --secret TEXT --trusted CA.pem --out DIR [--other-cert PEM --other-key PEM]
 * </pre>
 * --other-cert/--other-key: a client certificate of another CA that the server trusts, for one
 * more signed case.
 * Prints "PASS name" or "FAIL name: reason" per case and "N passed, N failed"; exits 1 on a failure.
 */
public final class BcClient {
    private final URI server;
    private final byte[] ref;
    private final char[] secret;
    /** Every certificate of --trusted (intermediates for chains). */
    private final List<X509Certificate> caCerts;
    /** The self-signed ones: the trust anchors. */
    private final List<X509Certificate> anchors = new ArrayList<>();
    private final Path out;
    private int passed;
    private int failed;

    /** A certificate of another CA that the server trusts (--trusted on its side), or null. */
    private final Issued other;

    private BcClient(URI server, String ref, String secret, Path trusted, Path out, Path otherCert, Path otherKey)
            throws Exception {
        this.server = server;
        this.ref = ref.getBytes(StandardCharsets.UTF_8);
        this.secret = secret.toCharArray();
        this.caCerts = Common.readCerts(trusted);
        for (X509Certificate c : caCerts) {
            if (Common.selfSigned(c)) {
                anchors.add(c);
            }
        }
        check(!anchors.isEmpty(), "no self-signed certificate in %s", trusted);
        this.out = out;
        Files.createDirectories(out);
        if (otherCert != null) {
            X509Certificate c = Common.readCerts(otherCert).get(0);
            this.other = new Issued(c, new KeyPair(c.getPublicKey(), Common.readKey(otherKey)));
        } else {
            this.other = null;
        }
    }

    /** Who protects a request: a MAC with the shared secret, or a certificate and its key. */
    private record Cred(Common.Protection kind, X509Certificate cert, PrivateKey key, char[] secret) {
        static Cred mac(Common.Protection kind) {
            return new Cred(kind, null, null, null);
        }

        /** A MAC with another secret than the server's. */
        static Cred wrongSecret() {
            return new Cred(Common.Protection.PBMAC1, null, null, "not-the-secret".toCharArray());
        }

        static Cred sig(Issued by) throws Common.CheckFailed {
            check(by != null, "needs a certificate issued by an earlier case");
            return new Cred(Common.Protection.SIGNATURE, by.cert, by.key.getPrivate(), null);
        }
    }

    /** A verified error message from the server. */
    private static final class ErrorAnswer extends Common.CheckFailed {
        private static final long serialVersionUID = 1L;
        final transient PKIStatusInfo status;

        ErrorAnswer(PKIStatusInfo status) {
            super("error answer: " + Common.statusText(status));
            this.status = status;
        }
    }

    /** A certificate we hold, with its key. */
    private record Issued(X509Certificate cert, KeyPair key) {}

    /** One transaction: a transactionID and the nonce chain. */
    private final class Txn {
        final String name;
        final Cred cred;
        final GeneralName sender;
        final GeneralName recipient;
        final byte[] tid = Common.random(16);
        byte[] recipNonce;
        int count;
        /** How messageTime is written. */
        Common.Time time = Common.Time.SECONDS;

        Txn(String name, Cred cred, X500Name senderName) {
            this.name = name;
            this.cred = cred;
            this.sender = new GeneralName(cred.cert != null ? Common.subject(cred.cert) : senderName);
            // The CA: the issuer of our certificate, else the first certificate of --trusted.
            this.recipient = new GeneralName(cred.cert != null ? Common.issuer(cred.cert)
                    : Common.subject(caCerts.get(0)));
        }

        /** Sends {@code body}, checks the answer's header and protection, returns it. */
        ProtectedPKIMessage exchange(PKIBody body, int expectedType) throws Exception {
            byte[] nonce = Common.random(16);
            ProtectedPKIMessage req;
            if (cred.kind == Common.Protection.SIGNATURE) {
                req = Common.build(PKIHeader.CMP_2000, sender, recipient, tid, nonce, recipNonce, Common.ski(cred.cert),
                        time, body, new Common.Protector(null, Common.signer(cred.key), List.of(cred.cert)));
            } else {
                req = Common.build(PKIHeader.CMP_2000, sender, recipient, tid, nonce, recipNonce, ref, time, body,
                        new Common.Protector(Common.mac(cred.kind, cred.secret != null ? cred.secret : secret), null,
                                List.of()));
            }
            byte[] reqDer = Common.der(req);
            String prefix = name + "." + (++count) + ".";
            Files.write(out.resolve(prefix + Common.bodyName(body.getType()) + ".der"), reqDer);

            byte[] rspDer = Common.post(server, reqDer);
            GeneralPKIMessage g = new GeneralPKIMessage(rspDer);
            int type = g.getBody().getType();
            Files.write(out.resolve(prefix + Common.bodyName(type) + ".der"), rspDer);

            check(Arrays.equals(g.toASN1Structure().getEncoded(ASN1Encoding.DER), rspDer),
                    "the %s is not DER (or has trailing data)", Common.bodyName(type));
            PKIHeader h = g.getHeader();
            int pvno = h.getPvno().intValueExact();
            check(pvno == 2 || pvno == 3, "pvno %d", pvno);
            check(h.getTransactionID() != null && Arrays.equals(h.getTransactionID().getOctets(), tid),
                    "transactionID %s is not ours %s",
                    h.getTransactionID() == null ? "absent" : hex(h.getTransactionID().getOctets()), hex(tid));
            check(h.getRecipNonce() != null && Arrays.equals(h.getRecipNonce().getOctets(), nonce),
                    "recipNonce %s is not our senderNonce %s",
                    h.getRecipNonce() == null ? "absent" : hex(h.getRecipNonce().getOctets()), hex(nonce));
            check(h.getSenderNonce() != null && h.getSenderNonce().getOctets().length >= 16,
                    "senderNonce absent or shorter than 16 bytes");
            check(recipNonce == null || !Arrays.equals(h.getSenderNonce().getOctets(), recipNonce),
                    "senderNonce repeated from the previous answer");
            if (h.getMessageTime() != null) {
                long skew = Math.abs(h.getMessageTime().getDate().getTime() - System.currentTimeMillis());
                check(skew < 300_000, "messageTime %s is %d ms off", h.getMessageTime().getTimeString(), skew);
            }
            check(g.hasProtection(), "the %s is unprotected", Common.bodyName(type));
            ProtectedPKIMessage p = new ProtectedPKIMessage(g);
            Common.Protection got = Common.Protection.of(p.getProtectionAlgorithm());
            if (got == Common.Protection.SIGNATURE) {
                Common.verifySignature(p, anchors, caCerts);
            } else {
                check(cred.kind != Common.Protection.SIGNATURE,
                        "a signed request was answered with %s", got.label);
                Common.verifyMac(p, secret);
            }
            if (type == PKIBody.TYPE_ERROR) {
                ErrorMsgContent e = ErrorMsgContent.getInstance(g.getBody().getContent());
                throw new ErrorAnswer(e.getPKIStatusInfo());
            }
            check(type == expectedType, "answered with %s, expected %s", Common.bodyName(type),
                    Common.bodyName(expectedType));
            recipNonce = h.getSenderNonce().getOctets();
            return p;
        }
    }

    // ---- the operations -----------------------------------------------------------------

    /** ir, cr or kur for a fresh P-256 key, then certConf/pkiConf. */
    private Issued enrollCrmf(String name, int type, Cred cred, X500Name subject, Issued old) throws Exception {
        return enrollCrmf(name, type, cred, subject, old, Common.Time.SECONDS);
    }

    private Issued enrollCrmf(String name, int type, Cred cred, X500Name subject, Issued old, Common.Time time)
            throws Exception {
        KeyPair key = Common.newP256();
        CertificateRequestMessageBuilder rb = new JcaCertificateRequestMessageBuilder(BigInteger.ZERO)
                .setPublicKey(key.getPublic())
                .setSubject(subject)
                .setProofOfPossessionSigningKeySigner(Common.signer(key.getPrivate()));
        if (old != null) {
            rb.addControl(new OldCertIDControl(new CertId(new GeneralName(Common.issuer(old.cert)),
                    old.cert.getSerialNumber())));
        }
        PKIBody body = new PKIBody(type, new CertReqMessages(rb.build().toASN1Structure()));
        int expected = switch (type) {
            case PKIBody.TYPE_INIT_REQ -> PKIBody.TYPE_INIT_REP;
            case PKIBody.TYPE_KEY_UPDATE_REQ -> PKIBody.TYPE_KEY_UPDATE_REP;
            default -> PKIBody.TYPE_CERT_REP;
        };
        Txn t = new Txn(name, cred, subject);
        t.time = time;
        return finishEnrollment(t, t.exchange(body, expected), BigInteger.ZERO, key, subject);
    }

    /** p10cr with a PKCS#10 request BouncyCastle made, then certConf/pkiConf. */
    private Issued enrollP10(String name, Cred cred, X500Name subject) throws Exception {
        KeyPair key = Common.newP256();
        PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(subject, key.getPublic())
                .build(Common.signer(key.getPrivate()));
        PKIBody body = new PKIBody(PKIBody.TYPE_P10_CERT_REQ, csr.toASN1Structure());
        Txn t = new Txn(name, cred, subject);
        // RFC 9483 §4.1.4: the cp for a p10cr carries certReqId -1.
        return finishEnrollment(t, t.exchange(body, PKIBody.TYPE_CERT_REP), BigInteger.valueOf(-1), key, subject);
    }

    private Issued finishEnrollment(Txn t, ProtectedPKIMessage rsp, BigInteger certReqId, KeyPair key,
            X500Name subject) throws Exception {
        CertificateRepMessage rep = CertificateRepMessage.fromPKIBody(rsp.getBody());
        CertificateResponse[] responses = rep.getResponses();
        check(responses.length == 1, "%d CertResponses, expected 1", responses.length);
        CertResponse r = responses[0].toASN1Structure();
        BigInteger id = r.getCertReqId().getValue();
        if (!id.equals(certReqId)) {
            throw new Common.CheckFailed("certReqId " + id + ", expected " + certReqId);
        }
        int status = r.getStatus().getStatus().intValueExact();
        check(status == PKIStatus.GRANTED || status == PKIStatus.GRANTED_WITH_MODS,
                "not granted: %s", Common.statusText(r.getStatus()));
        check(r.getCertifiedKeyPair() != null, "granted without a certificate");
        check(!responses[0].hasEncryptedCertificate(), "encrypted certificate (not requested)");
        CMPCertificate issuedCmp = responses[0].getCertificate();
        X509Certificate cert = Common.x509(issuedCmp);
        check(Common.sameKey(cert.getPublicKey(), key.getPublic()), "the certificate is for another key");
        check(Common.subject(cert).equals(subject), "subject %s, asked for %s", Common.subject(cert), subject);
        List<X509Certificate> pool = new ArrayList<>();
        for (X509CertificateHolder c : rsp.getCertificates()) {
            pool.add(Common.x509(c));
        }
        CMPCertificate[] caPubs = CertRepMessage.getInstance(rsp.getBody().getContent()).getCaPubs();
        if (caPubs != null) {
            for (CMPCertificate c : caPubs) {
                pool.add(Common.x509(c));
            }
        }
        // The chain must be completable from what the answer carries, up to our anchors.
        Common.validateChain(cert, pool, anchors);
        cert.checkValidity();

        CertificateConfirmationContent conf = new CertificateConfirmationContentBuilder()
                .addAcceptedCertificate(Common.holder(cert), id)
                .build(new JcaDigestCalculatorProviderBuilder().setProvider(BC).build());
        ProtectedPKIMessage pkiConf = t.exchange(new PKIBody(PKIBody.TYPE_CERT_CONFIRM, conf.toASN1Structure()),
                PKIBody.TYPE_CONFIRM);
        check(pkiConf.getBody().getContent().toASN1Primitive() instanceof ASN1Null, "pkiConf is not NULL");
        Common.writePem(out.resolve(t.name + ".cert.pem"), cert);
        Common.writePem(out.resolve(t.name + ".key.pem"), key.getPrivate());
        return new Issued(cert, key);
    }

    /** rr for {@code victim}, reason unspecified; checks the rp. */
    private void revoke(String name, Cred cred, Issued victim) throws Exception {
        check(victim != null, "needs a certificate issued by an earlier case");
        X509Certificate c = victim.cert;
        RevDetails details = new RevDetails(
                new CertTemplateBuilder()
                        .setIssuer(Common.issuer(c))
                        .setSerialNumber(new ASN1Integer(c.getSerialNumber()))
                        .build(),
                new Extensions(new Extension(Extension.reasonCode, false,
                        CRLReason.lookup(CRLReason.unspecified).getEncoded())));
        Txn t = new Txn(name, cred, Common.subject(c));
        ProtectedPKIMessage rsp = t.exchange(new PKIBody(PKIBody.TYPE_REVOCATION_REQ, new RevReqContent(details)),
                PKIBody.TYPE_REVOCATION_REP);
        RevRepContent rp = RevRepContent.getInstance(rsp.getBody().getContent());
        PKIStatusInfo[] status = rp.getStatus();
        check(status.length == 1, "%d statuses in the rp, expected 1", status.length);
        check(status[0].getStatus().intValueExact() == PKIStatus.GRANTED, "not revoked: %s",
                Common.statusText(status[0]));
        CertId[] ids = rp.getRevCerts();
        if (ids != null) {
            check(ids.length == 1, "%d revCerts", ids.length);
            check(ids[0].getSerialNumber().getValue().equals(c.getSerialNumber())
                    && X500Name.getInstance(ids[0].getIssuer().getName()).equals(Common.issuer(c)),
                    "revCerts names another certificate");
        }
    }

    /** genm caCerts; the genp must carry the trust anchor. */
    private void genmCaCerts(String name, Cred cred) throws Exception {
        Txn t = new Txn(name, cred, new X500Name("CN=bc-client " + name));
        ProtectedPKIMessage rsp = t.exchange(new PKIBody(PKIBody.TYPE_GEN_MSG,
                new GenMsgContent(new InfoTypeAndValue(CMPObjectIdentifiers.id_it_caCerts))), PKIBody.TYPE_GEN_REP);
        InfoTypeAndValue[] info = GenRepContent.getInstance(rsp.getBody().getContent()).toInfoTypeAndValueArray();
        check(info.length == 1, "%d InfoTypeAndValues in the genp", info.length);
        check(info[0].getInfoType().equals(CMPObjectIdentifiers.id_it_caCerts), "infoType %s",
                info[0].getInfoType());
        ASN1Encodable value = info[0].getInfoValue();
        check(value != null, "caCerts without a value");
        List<byte[]> got = new ArrayList<>();
        for (ASN1Encodable e : ASN1Sequence.getInstance(value)) {
            got.add(Common.x509(CMPCertificate.getInstance(e)).getEncoded());
        }
        check(!got.isEmpty(), "empty caCerts");
        for (X509Certificate a : anchors) {
            boolean found = false;
            for (byte[] g : got) {
                found |= Arrays.equals(g, a.getEncoded());
            }
            check(found, "caCerts lacks the root %s", a.getSubjectX500Principal());
        }
    }

    // ---- the cases ----------------------------------------------------------------------------

    @FunctionalInterface
    private interface Case {
        void run() throws Exception;
    }

    private void run(String name, Case c) {
        try {
            c.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Exception e) {
            failed++;
            String why = e instanceof Common.CheckFailed ? e.getMessage() : e.toString();
            System.out.println("FAIL " + name + ": " + why.replace('\n', ' '));
        }
        System.out.flush();
    }

    private Issued ir;
    private Issued irPbmac1;
    private Issued irSig;
    private Issued crSig;
    private Issued crPbmac1;
    private Issued p10;
    private Issued p10Sig;

    private void runAll() {
        final Common.Protection pbm = Common.Protection.PBM;
        final Common.Protection pbmac1 = Common.Protection.PBMAC1;
        run("bc-client ir PasswordBasedMac + certConf", () ->
                ir = enrollCrmf("ir-pbm", PKIBody.TYPE_INIT_REQ, Cred.mac(pbm), new X500Name("CN=bc-ir-pbm"), null));
        run("bc-client ir PBMAC1 + certConf", () ->
                irPbmac1 = enrollCrmf("ir-pbmac1", PKIBody.TYPE_INIT_REQ, Cred.mac(pbmac1),
                        new X500Name("CN=bc-ir-pbmac1,O=BouncyCastle"), null));
        run("bc-client ir PBMAC1, messageTime with milliseconds + certConf", () ->
                enrollCrmf("ir-pbmac1-ms", PKIBody.TYPE_INIT_REQ, Cred.mac(pbmac1), new X500Name("CN=bc-ir-pbmac1-ms"),
                        null, Common.Time.MILLIS));
        run("bc-client ir without messageTime (ProtectedPKIMessageBuilder's default) is refused: "
                + "KNOWN DIFFERENCE, cmpv2 serve requires messageTime", () -> {
            try {
                enrollCrmf("ir-no-time", PKIBody.TYPE_INIT_REQ, Cred.mac(pbm), new X500Name("CN=bc-ir-no-time"), null,
                        Common.Time.NONE);
            } catch (ErrorAnswer e) {
                check(e.status.getFailInfo() != null
                        && (e.status.getFailInfo().intValue() & PKIFailureInfo.missingTimeStamp) != 0,
                        "refused, but not with missingTimeStamp: %s", e.getMessage());
                return;
            }
            throw new Common.CheckFailed("accepted: the known difference is gone, make this an ordinary case");
        });
        run("bc-client ir signature + certConf", () ->
                irSig = enrollCrmf("ir-sig", PKIBody.TYPE_INIT_REQ, Cred.sig(ir), new X500Name("CN=bc-ir-sig"), null));
        run("bc-client cr signature + certConf", () ->
                crSig = enrollCrmf("cr-sig", PKIBody.TYPE_CERT_REQ, Cred.sig(ir), new X500Name("CN=bc-cr-sig"), null));
        if (other != null) {
            run("bc-client cr signed by a certificate of another CA the server trusts + certConf", () ->
                    enrollCrmf("cr-sig-other-ca", PKIBody.TYPE_CERT_REQ, Cred.sig(other),
                            new X500Name("CN=bc-cr-sig-other-ca"), null));
        }
        run("bc-client cr PBMAC1 + certConf", () ->
                crPbmac1 = enrollCrmf("cr-pbmac1", PKIBody.TYPE_CERT_REQ, Cred.mac(pbmac1),
                        new X500Name("CN=bc-cr-pbmac1"), null));
        run("bc-client kur signed with the old certificate + certConf", () -> {
            Cred c = Cred.sig(ir);
            Issued n = enrollCrmf("kur-sig", PKIBody.TYPE_KEY_UPDATE_REQ, c, Common.subject(ir.cert), ir);
            check(!n.cert.getSerialNumber().equals(ir.cert.getSerialNumber()), "same serial as the old certificate");
        });
        run("bc-client kur PBMAC1 with oldCertID + certConf", () -> {
            check(irPbmac1 != null, "needs ir PBMAC1's certificate");
            enrollCrmf("kur-pbmac1", PKIBody.TYPE_KEY_UPDATE_REQ, Cred.mac(pbmac1), Common.subject(irPbmac1.cert),
                    irPbmac1);
        });
        run("bc-client p10cr PasswordBasedMac + certConf", () ->
                p10 = enrollP10("p10cr-pbm", Cred.mac(pbm), new X500Name("CN=bc-p10cr-pbm")));
        run("bc-client p10cr signature + certConf", () ->
                p10Sig = enrollP10("p10cr-sig", Cred.sig(irSig), new X500Name("CN=bc-p10cr-sig")));
        run("bc-client genm caCerts PasswordBasedMac", () -> genmCaCerts("genm-pbm", Cred.mac(pbm)));
        run("bc-client genm caCerts PBMAC1", () -> genmCaCerts("genm-pbmac1", Cred.mac(pbmac1)));
        run("bc-client genm caCerts signature", () -> genmCaCerts("genm-sig", Cred.sig(irSig)));
        run("bc-client rr PasswordBasedMac", () -> revoke("rr-pbm", Cred.mac(pbm), p10));
        run("bc-client rr PBMAC1", () -> revoke("rr-pbmac1", Cred.mac(pbmac1), crPbmac1));
        run("bc-client rr signed by the certificate itself", () -> revoke("rr-sig", Cred.sig(crSig), crSig));
        run("bc-client ir with a wrong secret is refused with a verifiable error", () -> {
            try {
                enrollCrmf("ir-wrong-secret", PKIBody.TYPE_INIT_REQ, Cred.wrongSecret(), new X500Name("CN=bc-wrong"), null);
            } catch (ErrorAnswer e) {
                check(e.status.getStatus().intValueExact() == PKIStatus.REJECTION, "not a rejection: %s", e.getMessage());
                return;
            }
            throw new Common.CheckFailed("enrolled with a wrong secret");
        });
        // irPbmac1 was issued to the PBMAC1 account, not to irSig: not irSig's to revoke
        // (cmpv2 serve's default revocation policy: own certificates, and those issued to
        // the requester).
        run("bc-client rr signed by another certificate is refused (notAuthorized)", () -> {
            check(irPbmac1 != null, "needs ir PBMAC1's certificate");
            try {
                revoke("rr-sig-other", Cred.sig(irSig), irPbmac1);
            } catch (ErrorAnswer e) {
                check(e.status.getStatus().intValueExact() == PKIStatus.REJECTION && e.status.getFailInfo() != null
                        && (e.status.getFailInfo().intValue() & PKIFailureInfo.notAuthorized) != 0,
                        "refused, but not as notAuthorized: %s", e.getMessage());
                return;
            }
            throw new Common.CheckFailed("revoked a certificate that did not sign the rr");
        });
        System.out.println(passed + " passed, " + failed + " failed");
    }

    public static void main(String[] args) throws Exception {
        String server = null;
        String ref = null;
        String secret = null;
        String trusted = null;
        String out = null;
        String otherCert = null;
        String otherKey = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--server" -> server = args[i + 1];
                case "--ref" -> ref = args[i + 1];
                case "--secret" -> secret = args[i + 1];
                case "--trusted" -> trusted = args[i + 1];
                case "--out" -> out = args[i + 1];
                case "--other-cert" -> otherCert = args[i + 1];
                case "--other-key" -> otherKey = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (server == null || ref == null || secret == null || trusted == null || out == null
                || (otherCert == null) != (otherKey == null)) {
            System.err.println("usage: BcClient --server URL --ref REF --secret TEXT --trusted CA.pem --out DIR"
                    + " [--other-cert PEM --other-key PEM]");
            System.exit(64);
        }
        BcClient c = new BcClient(URI.create(server), ref, secret, Path.of(trusted), Path.of(out),
                otherCert == null ? null : Path.of(otherCert), otherKey == null ? null : Path.of(otherKey));
        c.runAll();
        System.exit(c.failed == 0 ? 0 : 1);
    }
}
