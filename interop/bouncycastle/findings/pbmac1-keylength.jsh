// BouncyCastle 1.87's PBMAC1 keyLength: the PBKDF2 keyLength field against the octets derived.
// Run from interop/bouncycastle after a build:
//   jshell --class-path 'target/lib/*' -R-Dout=findings findings/pbmac1-keylength.jsh
// Prints, for JcePBMac1CalculatorBuilder("HmacSHA256", bits) with bits 256, 512 and 4096, the
// keyLength written and the length of the key actually derived, and writes a genm protected with
// the 4096-bit variant (secret cmp-fixture-secret, senderKID 1234) to $out/genm-pbmac1-keylength512.der.
import java.security.Security;
import java.nio.file.*;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.pkcs.jcajce.*;
import org.bouncycastle.asn1.pkcs.*;
import org.bouncycastle.asn1.cmp.*;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.cmp.*;
import org.bouncycastle.operator.*;

Security.addProvider(new BouncyCastleProvider());
char[] secret = "cmp-fixture-secret".toCharArray();
for (int bits : new int[] {256, 512, 4096}) {
    MacCalculator m = new JcePBMac1CalculatorBuilder("HmacSHA256", bits).setProvider("BC").build(secret);
    PBKDF2Params k = PBKDF2Params.getInstance(
            PBMAC1Params.getInstance(m.getAlgorithmIdentifier().getParameters()).getKeyDerivationFunc().getParameters());
    System.out.println("keySize " + bits + " bits: keyLength field " + k.getKeyLength() + ", derived "
            + ((byte[]) m.getKey().getRepresentation()).length + " octets, iterations " + k.getIterationCount()
            + ", salt " + k.getSalt().length + " octets");
}
java.security.SecureRandom random = new java.security.SecureRandom();
byte[] tid = new byte[16];
byte[] nonce = new byte[16];
random.nextBytes(tid);
random.nextBytes(nonce);
ProtectedPKIMessageBuilder builder = new ProtectedPKIMessageBuilder(new GeneralName(new X500Name("CN=bc-probe")),
        new GeneralName(new X500Name("CN=any CA")));
builder.setTransactionID(tid).setSenderNonce(nonce).setSenderKID("1234".getBytes()).setMessageTime(new java.util.Date());
builder.setBody(new PKIBody(PKIBody.TYPE_GEN_MSG, new GenMsgContent(new InfoTypeAndValue(CMPObjectIdentifiers.id_it_caCerts))));
ProtectedPKIMessage msg = builder.build(new JcePBMac1CalculatorBuilder("HmacSHA256", 4096).setProvider("BC").build(secret));
System.out.println("BouncyCastle verifies it: " + msg.verify(new JcePBMac1CalculatorProviderBuilder().setProvider("BC").build(), secret));
Files.write(Path.of(System.getProperty("out", "."), "genm-pbmac1-keylength512.der"), msg.toASN1Structure().getEncoded("DER"));
/exit
