package cmpinterop;

import static cmpinterop.Common.BC;
import static cmpinterop.Common.hex;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.cmp.CMPObjectIdentifiers;
import org.bouncycastle.asn1.cmp.ErrorMsgContent;
import org.bouncycastle.asn1.cmp.GenMsgContent;
import org.bouncycastle.asn1.cmp.GenRepContent;
import org.bouncycastle.asn1.cmp.InfoTypeAndValue;
import org.bouncycastle.asn1.cmp.PKIBody;
import org.bouncycastle.asn1.cmp.PKIConfirmContent;
import org.bouncycastle.asn1.cmp.PKIFailureInfo;
import org.bouncycastle.asn1.cmp.PKIFreeText;
import org.bouncycastle.asn1.cmp.PKIHeader;
import org.bouncycastle.asn1.cmp.PKIStatus;
import org.bouncycastle.asn1.cmp.PKIStatusInfo;
import org.bouncycastle.asn1.cmp.RevDetails;
import org.bouncycastle.asn1.cmp.RevRepContentBuilder;
import org.bouncycastle.asn1.cmp.RevReqContent;
import org.bouncycastle.asn1.crmf.CertId;
import org.bouncycastle.asn1.crmf.CertReqMessages;
import org.bouncycastle.asn1.crmf.CertReqMsg;
import org.bouncycastle.asn1.crmf.CertTemplate;
import org.bouncycastle.asn1.crmf.CRMFObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.cmp.CertificateConfirmationContent;
import org.bouncycastle.cert.cmp.CertificateStatus;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.cert.crmf.CertificateRepMessageBuilder;
import org.bouncycastle.cert.crmf.CertificateRequestMessage;
import org.bouncycastle.cert.crmf.CertificateResponseBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.asn1.pkcs.Attribute;

/**
 * BouncyCastle as a CMP server (RFC 4210/9483 over RFC 6712 HTTP) backed by a CA it makes at
 * start: answers ir/cr/kur/p10cr (then certConf with pkiConf), rr with rp and genm caCerts with
 * genp. Requests protected by PasswordBasedMac or PBMAC1 with the shared secret are answered
 * with the same MAC; signed requests (by a certificate this CA issued) with the CA's signature.
 * On paths containing "/sig/" every answer is signed. A p10cr gets certReqId -1 (RFC 9483
 * §4.1.4), or 0 on paths containing "/p10-id-0/" (what EJBCA does). implicitConfirm is granted,
 * when asked for, on paths containing "/implicit/"; an error message from the client gets pkiConf. messageTime is BouncyCastle's
 * own encoding of {@code new Date()} (1.87: whole seconds), with milliseconds on paths containing
 * "/ms/" (see {@link Common#build}), absent on paths containing "/notime/".
 *
 * <pre>
 * BcServer --port N --ca-out CA.pem --ref REF --secret TEXT --out DIR
 * </pre>
 */
public final class BcServer {
    private final byte[] ref;
    private final char[] secret;
    private final Path out;
    private final KeyPair caKey;
    private final X509Certificate caCert;
    private final X500Name caName = new X500Name("CN=BouncyCastle Interop CA,O=cmpv2-rs interop");
    private final Map<BigInteger, X509Certificate> issued = new HashMap<>();
    private final Set<BigInteger> revoked = new HashSet<>();
    private final Map<String, Pending> pending = new HashMap<>();
    private int count;

    /** An enrollment awaiting its certConf. */
    private record Pending(X509Certificate cert, BigInteger certReqId, byte[] ourNonce, String requester) {}

    /** A refusal: becomes an error message. */
    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final int failInfo;

        Refusal(int failInfo, String text) {
            super(text);
            this.failInfo = failInfo;
        }
    }

    private BcServer(String ref, String secret, Path out, Path caOut) throws Exception {
        this.ref = ref.getBytes(StandardCharsets.UTF_8);
        this.secret = secret.toCharArray();
        this.out = out;
        Files.createDirectories(out);
        this.caKey = Common.newP256();
        long now = System.currentTimeMillis();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(caKey.getPublic().getEncoded());
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(caName, BigInteger.ONE,
                new Date(now - 3_600_000L), new Date(now + 365L * 86_400_000L), caName, spki)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true,
                        new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(spki));
        this.caCert = Common.x509(b.build(Common.signer(caKey.getPrivate())));
        Common.writePem(caOut, caCert);
    }

    // ---- HTTP -------------------------------------------------------------------------------

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            if (!"POST".equals(x.getRequestMethod())) {
                x.sendResponseHeaders(405, -1);
                return;
            }
            byte[] request;
            try (InputStream in = x.getRequestBody()) {
                request = in.readAllBytes();
            }
            byte[] response;
            synchronized (this) {
                response = answer(request, x.getRequestURI().getPath());
            }
            x.getResponseHeaders().set("Content-Type", Common.CONTENT_TYPE);
            x.sendResponseHeaders(200, response.length);
            try (OutputStream os = x.getResponseBody()) {
                os.write(response);
            }
        } catch (Exception e) {
            System.err.println("bc-server: " + e);
        }
    }

    /** Decodes, authenticates and answers one request; saves both messages. */
    private byte[] answer(byte[] request, String path) throws Exception {
        String n = String.format("%03d", ++count);
        GeneralPKIMessage g;
        try {
            g = new GeneralPKIMessage(request);
        } catch (Exception e) {
            Files.write(out.resolve(n + ".req-undecodable.der"), request);
            System.err.println("bc-server: undecodable request: " + e);
            throw e;
        }
        PKIHeader h = g.getHeader();
        int type = g.getBody().getType();
        Files.write(out.resolve(n + ".req-" + Common.bodyName(type) + ".der"), request);
        Common.Protection kind = g.hasProtection() ? Common.Protection.of(h.getProtectionAlg()) : null;
        Common.Protection answerWith = path.contains("/sig/") || kind == null ? Common.Protection.SIGNATURE : kind;
        byte[] nonce = Common.random(16);
        PKIBody body;
        try {
            String requester = authenticate(g, kind);
            body = switch (type) {
                case PKIBody.TYPE_INIT_REQ, PKIBody.TYPE_CERT_REQ, PKIBody.TYPE_KEY_UPDATE_REQ ->
                        certRequest(g, type, requester, nonce);
                case PKIBody.TYPE_P10_CERT_REQ -> p10Request(g, requester, nonce, path);
                case PKIBody.TYPE_CERT_CONFIRM -> certConf(g, requester);
                case PKIBody.TYPE_REVOCATION_REQ -> revocation(g, requester);
                case PKIBody.TYPE_GEN_MSG -> general(g);
                case PKIBody.TYPE_ERROR -> clientError(g, requester);
                default -> throw new Refusal(PKIFailureInfo.badRequest, Common.bodyName(type) + " is not handled");
            };
        } catch (Refusal r) {
            System.err.println("bc-server: refused " + Common.bodyName(type) + ": " + r.getMessage());
            body = new PKIBody(PKIBody.TYPE_ERROR, new ErrorMsgContent(new PKIStatusInfo(PKIStatus.rejection,
                    new PKIFreeText(r.getMessage()), new PKIFailureInfo(r.failInfo))));
        }
        // implicitConfirm: granted on "/implicit/" paths when asked for (RFC 9483 §4.1.1).
        List<InfoTypeAndValue> generalInfo = new ArrayList<>();
        if (path.contains("/implicit/") && asksImplicitConfirm(h) && isCertResponse(body.getType())) {
            generalInfo.add(new InfoTypeAndValue(CMPObjectIdentifiers.it_implicitConfirm, DERNull.INSTANCE));
            pending.remove(hex(h.getTransactionID().getOctets()));
        }
        Common.Time time = path.contains("/ms/") ? Common.Time.MILLIS
                : path.contains("/notime/") ? Common.Time.NONE : Common.Time.SECONDS;
        byte[] response = Common.der(protect(h, body, nonce, answerWith, time, generalInfo));
        Files.write(out.resolve(n + ".rsp-" + Common.bodyName(body.getType()) + ".der"), response);
        System.err.println("bc-server: " + Common.bodyName(type) + " (" + (kind == null ? "unprotected" : kind.label)
                + ") -> " + Common.bodyName(body.getType()) + " (" + answerWith.label + ")");
        return response;
    }

    /** The answer's header and protection, as BouncyCastle builds them. */
    private static boolean asksImplicitConfirm(PKIHeader h) {
        InfoTypeAndValue[] info = h.getGeneralInfo();
        if (info != null) {
            for (InfoTypeAndValue i : info) {
                if (i.getInfoType().equals(CMPObjectIdentifiers.it_implicitConfirm)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isCertResponse(int type) {
        return type == PKIBody.TYPE_INIT_REP || type == PKIBody.TYPE_CERT_REP || type == PKIBody.TYPE_KEY_UPDATE_REP;
    }

    private ProtectedPKIMessage protect(PKIHeader req, PKIBody body, byte[] nonce, Common.Protection with,
            Common.Time time, List<InfoTypeAndValue> generalInfo) throws Exception {
        int pvno = req.getPvno().intValueExact() == PKIHeader.CMP_2021 ? PKIHeader.CMP_2021 : PKIHeader.CMP_2000;
        byte[] tid = req.getTransactionID() == null ? Common.random(16) : req.getTransactionID().getOctets();
        byte[] recipNonce = req.getSenderNonce() == null ? null : req.getSenderNonce().getOctets();
        if (with == Common.Protection.SIGNATURE) {
            return Common.build(pvno, new GeneralName(caName), req.getSender(), tid, nonce, recipNonce,
                    Common.ski(caCert), time, generalInfo, body,
                    new Common.Protector(null, Common.signer(caKey.getPrivate()), List.of(caCert)));
        }
        return Common.build(pvno, new GeneralName(caName), req.getSender(), tid, nonce, recipNonce, ref, time,
                generalInfo, body, new Common.Protector(Common.mac(with, secret), null, List.of(caCert)));
    }

    // ---- checks on every request ---------------------------------------------------------------

    /** Checks header and protection; returns who sent it ("mac" or the signer's serial). */
    private String authenticate(GeneralPKIMessage g, Common.Protection kind) throws Refusal {
        PKIHeader h = g.getHeader();
        int pvno = h.getPvno().intValueExact();
        if (pvno != 2 && pvno != 3) {
            throw new Refusal(PKIFailureInfo.unsupportedVersion, "pvno " + pvno);
        }
        if (h.getTransactionID() == null || h.getTransactionID().getOctets().length < 16) {
            throw new Refusal(PKIFailureInfo.badDataFormat, "transactionID absent or shorter than 16 bytes");
        }
        if (h.getSenderNonce() == null || h.getSenderNonce().getOctets().length < 16) {
            throw new Refusal(PKIFailureInfo.badSenderNonce, "senderNonce absent or shorter than 16 bytes");
        }
        if (h.getMessageTime() != null) {
            try {
                long skew = Math.abs(h.getMessageTime().getDate().getTime() - System.currentTimeMillis());
                if (skew > 300_000) {
                    throw new Refusal(PKIFailureInfo.badTime, "messageTime is " + skew + " ms off");
                }
            } catch (java.text.ParseException e) {
                throw new Refusal(PKIFailureInfo.badDataFormat, "messageTime: " + e.getMessage());
            }
        }
        if (kind == null) {
            throw new Refusal(PKIFailureInfo.badMessageCheck, "the request is not protected");
        }
        ProtectedPKIMessage p = new ProtectedPKIMessage(g);
        try {
            if (kind == Common.Protection.SIGNATURE) {
                X509Certificate signer = Common.verifySignature(p, List.of(caCert), List.of());
                if (!issued.containsKey(signer.getSerialNumber()) || revoked.contains(signer.getSerialNumber())) {
                    throw new Refusal(PKIFailureInfo.signerNotTrusted, "the signer certificate is not ours or revoked");
                }
                return signer.getSerialNumber().toString();
            }
            if (h.getSenderKID() == null || !Arrays.equals(h.getSenderKID().getOctets(), ref)) {
                throw new Refusal(PKIFailureInfo.badMessageCheck, "unknown senderKID");
            }
            Common.verifyMac(p, secret);
            return "mac";
        } catch (Refusal r) {
            throw r;
        } catch (Exception e) {
            throw new Refusal(PKIFailureInfo.badMessageCheck, "protection: " + e.getMessage());
        }
    }

    // ---- enrollment ------------------------------------------------------------------------------

    private PKIBody certRequest(GeneralPKIMessage g, int type, String requester, byte[] nonce) throws Exception {
        CertReqMsg[] msgs = CertReqMessages.getInstance(g.getBody().getContent()).toCertReqMsgArray();
        if (msgs.length != 1) {
            throw new Refusal(PKIFailureInfo.badRequest, msgs.length + " CertReqMsgs, expected 1");
        }
        CertificateRequestMessage crm = new CertificateRequestMessage(msgs[0]);
        CertTemplate t = crm.getCertTemplate();
        if (t.getPublicKey() == null) {
            throw new Refusal(PKIFailureInfo.badCertTemplate, "no public key in the template");
        }
        PublicKey key = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter().setProvider(BC)
                .getPublicKey(t.getPublicKey());
        if (!crm.hasProofOfPossession() || crm.getProofOfPossessionType() != CertificateRequestMessage.popSigningKey) {
            throw new Refusal(PKIFailureInfo.badPOP, "signature proof-of-possession required");
        }
        if (!crm.isValidSigningKeyPOP(new JcaContentVerifierProviderBuilder().setProvider(BC).build(key))) {
            throw new Refusal(PKIFailureInfo.badPOP, "proof-of-possession does not verify");
        }
        X500Name subject = t.getSubject();
        if (type == PKIBody.TYPE_KEY_UPDATE_REQ) {
            X509Certificate old = oldCertificate(g, crm, requester);
            if (subject == null) {
                subject = Common.subject(old);
            }
        }
        if (subject == null) {
            throw new Refusal(PKIFailureInfo.badCertTemplate, "no subject in the template");
        }
        BigInteger certReqId = crm.getCertReqId().getValue();
        X509Certificate cert = issue(subject, t.getPublicKey(), t.getExtensions());
        pending.put(hex(g.getHeader().getTransactionID().getOctets()),
                new Pending(cert, certReqId, nonce, requester));
        int rep = switch (type) {
            case PKIBody.TYPE_INIT_REQ -> PKIBody.TYPE_INIT_REP;
            case PKIBody.TYPE_KEY_UPDATE_REQ -> PKIBody.TYPE_KEY_UPDATE_REP;
            default -> PKIBody.TYPE_CERT_REP;
        };
        // caPubs in the ip only (RFC 9483 §4.1.1).
        CertificateRepMessageBuilder b = type == PKIBody.TYPE_INIT_REQ
                ? new CertificateRepMessageBuilder(Common.holder(caCert)) : new CertificateRepMessageBuilder();
        b.addCertificateResponse(new CertificateResponseBuilder(new ASN1Integer(certReqId),
                new PKIStatusInfo(PKIStatus.granted)).withCertificate(Common.holder(cert)).build());
        return new PKIBody(rep, b.build().toASN1Structure());
    }

    /** The certificate a kur replaces: the signer's (oldCertID, when given, must name it) or oldCertID's for a MAC. */
    private X509Certificate oldCertificate(GeneralPKIMessage g, CertificateRequestMessage crm, String requester)
            throws Refusal {
        BigInteger serial = null;
        if (crm.hasControl(CRMFObjectIdentifiers.id_regCtrl_oldCertID)) {
            CertId id = CertId.getInstance(crm.getControl(CRMFObjectIdentifiers.id_regCtrl_oldCertID).getValue());
            if (!X500Name.getInstance(id.getIssuer().getName()).equals(caName)) {
                throw new Refusal(PKIFailureInfo.badCertId, "oldCertID names another issuer");
            }
            serial = id.getSerialNumber().getValue();
        }
        if (!"mac".equals(requester)) {
            BigInteger signer = new BigInteger(requester);
            if (serial != null && !serial.equals(signer)) {
                throw new Refusal(PKIFailureInfo.badCertId, "oldCertID is not the signer certificate");
            }
            serial = signer;
        }
        if (serial == null) {
            throw new Refusal(PKIFailureInfo.badCertId, "a MAC-protected kur needs oldCertID");
        }
        X509Certificate old = issued.get(serial);
        if (old == null || revoked.contains(serial)) {
            throw new Refusal(PKIFailureInfo.badCertId, "no such valid certificate " + serial);
        }
        return old;
    }

    private PKIBody p10Request(GeneralPKIMessage g, String requester, byte[] nonce, String path) throws Exception {
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(
                CertificationRequest.getInstance(g.getBody().getContent()));
        if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BC)
                .build(csr.getSubjectPublicKeyInfo()))) {
            throw new Refusal(PKIFailureInfo.badPOP, "the PKCS#10 signature does not verify");
        }
        Extensions requested = null;
        for (Attribute a : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            requested = Extensions.getInstance(a.getAttrValues().getObjectAt(0));
        }
        X509Certificate cert = issue(csr.getSubject(), csr.getSubjectPublicKeyInfo(), requested);
        // BouncyCastle has no rule of its own here: CertificateResponseBuilder takes whatever
        // certReqId the caller passes. -1 is RFC 9483 §4.1.4; 0 is what EJBCA sends.
        BigInteger certReqId = BigInteger.valueOf(path.contains("/p10-id-0/") ? 0 : -1);
        pending.put(hex(g.getHeader().getTransactionID().getOctets()), new Pending(cert, certReqId, nonce, requester));
        return new PKIBody(PKIBody.TYPE_CERT_REP, new CertificateRepMessageBuilder()
                .addCertificateResponse(new CertificateResponseBuilder(new ASN1Integer(certReqId),
                        new PKIStatusInfo(PKIStatus.granted)).withCertificate(Common.holder(cert)).build())
                .build().toASN1Structure());
    }

    /** Signs a certificate for {@code subject} and {@code key}, keeping subjectAltName if asked for. */
    private X509Certificate issue(X500Name subject, SubjectPublicKeyInfo key, Extensions requested) throws Exception {
        long now = System.currentTimeMillis();
        BigInteger serial = new BigInteger(63, Common.RANDOM).add(BigInteger.TWO);
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(caName, serial, new Date(now - 60_000L),
                new Date(now + 30L * 86_400_000L), subject, key)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key))
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
        if (requested != null && requested.getExtension(Extension.subjectAlternativeName) != null) {
            b.addExtension(requested.getExtension(Extension.subjectAlternativeName));
        }
        X509CertificateHolder h = b.build(Common.signer(caKey.getPrivate()));
        X509Certificate cert = Common.x509(h);
        issued.put(serial, cert);
        return cert;
    }

    private PKIBody certConf(GeneralPKIMessage g, String requester) throws Exception {
        PKIHeader h = g.getHeader();
        Pending p = pending.get(hex(h.getTransactionID().getOctets()));
        if (p == null) {
            throw new Refusal(PKIFailureInfo.badRequest, "certConf for no open transaction");
        }
        if (!p.requester.equals(requester)) {
            throw new Refusal(PKIFailureInfo.notAuthorized, "certConf from another requester");
        }
        if (h.getRecipNonce() == null || !Arrays.equals(h.getRecipNonce().getOctets(), p.ourNonce)) {
            throw new Refusal(PKIFailureInfo.badRecipientNonce, "recipNonce is not our last senderNonce");
        }
        CertificateStatus[] statuses = CertificateConfirmationContent.fromPKIBody(g.getBody()).getStatusMessages();
        if (statuses.length != 1) {
            throw new Refusal(PKIFailureInfo.badRequest, statuses.length + " CertStatus, expected 1");
        }
        CertificateStatus s = statuses[0];
        if (!s.getCertRequestID().equals(p.certReqId)) {
            throw new Refusal(PKIFailureInfo.badRequest, "certReqId " + s.getCertRequestID() + ", issued for "
                    + p.certReqId);
        }
        if (!s.isVerified(Common.holder(p.cert), new JcaDigestCalculatorProviderBuilder().setProvider(BC).build())) {
            throw new Refusal(PKIFailureInfo.badCertId, "certHash does not match the issued certificate");
        }
        pending.remove(hex(h.getTransactionID().getOctets()));
        if (s.getStatusInfo() != null && s.getStatusInfo().getStatus().intValueExact() != PKIStatus.GRANTED) {
            System.err.println("bc-server: the client rejected its certificate: " + Common.statusText(s.getStatusInfo()));
            revoked.add(p.cert.getSerialNumber());
        }
        return new PKIBody(PKIBody.TYPE_CONFIRM, new PKIConfirmContent());
    }

    /** An error message from the client ends its transaction; answered with pkiConf (as OpenSSL's mock server does). */
    private PKIBody clientError(GeneralPKIMessage g, String requester) {
        Pending p = pending.get(hex(g.getHeader().getTransactionID().getOctets()));
        if (p != null && p.requester.equals(requester)) {
            pending.remove(hex(g.getHeader().getTransactionID().getOctets()));
            revoked.add(p.cert.getSerialNumber());
        }
        ErrorMsgContent e = ErrorMsgContent.getInstance(g.getBody().getContent());
        System.err.println("bc-server: the client reports an error: " + Common.statusText(e.getPKIStatusInfo()));
        return new PKIBody(PKIBody.TYPE_CONFIRM, new PKIConfirmContent());
    }

    // ---- revocation and general messages ----------------------------------------------------------

    private PKIBody revocation(GeneralPKIMessage g, String requester) throws Exception {
        RevDetails[] details = RevReqContent.getInstance(g.getBody().getContent()).toRevDetailsArray();
        if (details.length != 1) {
            throw new Refusal(PKIFailureInfo.badRequest, details.length + " RevDetails, expected 1");
        }
        CertTemplate t = details[0].getCertDetails();
        if (t.getIssuer() == null || t.getSerialNumber() == null) {
            throw new Refusal(PKIFailureInfo.badCertId, "rr needs issuer and serialNumber");
        }
        BigInteger serial = t.getSerialNumber().getValue();
        if (!t.getIssuer().equals(caName) || !issued.containsKey(serial)) {
            throw new Refusal(PKIFailureInfo.badCertId, "no such certificate");
        }
        if (!"mac".equals(requester) && !requester.equals(serial.toString())) {
            throw new Refusal(PKIFailureInfo.notAuthorized, "a signer may revoke only its own certificate");
        }
        PKIStatusInfo status;
        if (revoked.contains(serial)) {
            status = new PKIStatusInfo(PKIStatus.rejection, new PKIFreeText("already revoked"),
                    new PKIFailureInfo(PKIFailureInfo.certRevoked));
        } else {
            revoked.add(serial);
            status = new PKIStatusInfo(PKIStatus.granted);
        }
        return new PKIBody(PKIBody.TYPE_REVOCATION_REP, new RevRepContentBuilder()
                .add(status, new CertId(new GeneralName(caName), serial)).build());
    }

    private PKIBody general(GeneralPKIMessage g) throws Exception {
        List<InfoTypeAndValue> answers = new ArrayList<>();
        for (InfoTypeAndValue itav : GenMsgContent.getInstance(g.getBody().getContent()).toInfoTypeAndValueArray()) {
            ASN1ObjectIdentifier type = itav.getInfoType();
            if (type.equals(CMPObjectIdentifiers.id_it_caCerts)) {
                answers.add(new InfoTypeAndValue(type, new DERSequence(new ASN1Encodable[] {Common.cmpCert(caCert)})));
            } else {
                answers.add(new InfoTypeAndValue(type));
            }
        }
        return new PKIBody(PKIBody.TYPE_GEN_REP, new GenRepContent(answers.toArray(new InfoTypeAndValue[0])));
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        String caOut = null;
        String ref = null;
        String secret = null;
        String out = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--ca-out" -> caOut = args[i + 1];
                case "--ref" -> ref = args[i + 1];
                case "--secret" -> secret = args[i + 1];
                case "--out" -> out = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (caOut == null || ref == null || secret == null || out == null) {
            System.err.println("usage: BcServer [--port N] --ca-out CA.pem --ref REF --secret TEXT --out DIR");
            System.exit(64);
        }
        BcServer s = new BcServer(ref, secret, Path.of(out), Path.of(caOut));
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
        http.createContext("/", s::handle);
        http.setExecutor(Executors.newFixedThreadPool(2));
        http.start();
        System.out.println("bc-server: listening on http://127.0.0.1:" + http.getAddress().getPort() + "/");
        System.out.flush();
    }
}
