//! `cmpv2`: a command-line CMP client and test CA over the `cmp-client`, `cmp-server`
//! and `cmp-proto` crates.
//!
//! Subcommands: `demo` runs a certificate's whole life against the embedded test CA;
//! `serve` runs that test CA as a CMP server over HTTP; `enroll` (ir, cr, p10cr),
//! `update` (kur), `revoke` (rr) and `genm` talk
//! to a CA over HTTP(S) with [`cmp_client::Client`]; `probe` finds out what a CA
//! supports and which options fit it; `inspect` decodes a CMP
//! `PKIMessage` (DER or PEM) and prints its contents, optionally checking MAC protection
//! with a shared secret. Arguments are parsed by hand, with the option names of
//! `openssl cmp` where the meaning is the same. See [`help`] for the interface and the
//! exit codes.
#![forbid(unsafe_code)]

mod client_options;
mod demo;
mod enroll;
mod genm;
mod inspect;
mod probe;
mod revoke;
mod secret_source;
mod serve;
mod update;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use secret_source::SecretSource;

/// The short synopsis, printed (on stderr) after a usage error and at the top of help.
const SYNOPSIS: &str = "\
Usage:
  cmpv2 demo    [--out DIR]
  cmpv2 serve   [--listen ADDR] CLIENTS [--dir DIR] [OPTIONS]
  cmpv2 enroll  --server URL CREDENTIALS --certout FILE [OPTIONS]
  cmpv2 update  --server URL --oldcert FILE --key FILE --certout FILE [OPTIONS]
  cmpv2 revoke  --server URL --oldcert FILE CREDENTIALS [--revreason N] [OPTIONS]
  cmpv2 genm    --server URL CREDENTIALS --infotype NAME [OPTIONS]
  cmpv2 probe   --server URL CREDENTIALS [--enroll] [--json] [OPTIONS]
  cmpv2 inspect FILE [--json] [--secret SRC]
  cmpv2 help [COMMAND] | COMMAND --help
  cmpv2 --version | -V
";

const HEADER: &str =
    "cmpv2: a CMP client and tools for CMPv2 messages (RFC 4210, RFC 9480, RFC 9483)\n";

const HELP_DEMO: &str = "\
cmpv2 demo: a certificate's whole life against the embedded test CA. Starts the
  test CA and its CMP server on a free loopback port, then enrolls with a shared
  secret (ir, certConf), renews by key update (kur), fetches the CA certificates
  (genm), revokes (rr) and finds the certificate on the CA's CRL.
  --out DIR             Where to write keys, certificates, the CRL and the CA's
                        state (default: a new cmpv2-demo-* folder in the temp dir).
";

const HELP_SERVE: &str = "\
cmpv2 serve: the test CA as a CMP server over HTTP (RFC 6712). POST on /, /pkix/,
  /.well-known/cmp[/p/LABEL]/OPERATION and /ejbca/publicweb/cmp/ALIAS.
  Prints 'cmpv2 serve: listening on http://ADDR/' once ready; stops on SIGINT or
  SIGTERM.
  --listen ADDR         Address and port (default 127.0.0.1:8080; port 0 picks one).
 Clients (at least one kind):
  --ref REF --secret SRC  A MAC credential: requests with senderKID REF are checked
                        with the secret (pass:TEXT, env:VAR or file:PATH).
  --mac-ra              The MAC credential may send raVerified proof-of-possession.
  --trusted FILE        Trust signers chaining to these certificates (PEM).
  --ra-trusted FILE     As --trusted, and such signers may send raVerified.
 The CA:
  --dir DIR             Keep keys, certificates and issued/revoked serials in DIR
                        (created if needed); writes DIR/ca.pem with the CA
                        certificates and the server's protection certificate, and
                        DIR/requests.log, a line per enrollment transaction:
                        time, ir|cr|kur|p10cr, transactionID, granted|waiting|rejected.
  --ca-key-type TYPE    p256 (default), p384, rsa2048 or rsa3072.
  --max-days N          Longest validity issued (default 365).
  --poll N              Answer 'waiting' N times before deciding (default 0).
  --check-after SECS    checkAfter in pollRep (default 1).
  --implicit-confirm    Grant implicit confirmation when asked.
  --revoke own|any      Who may revoke: own (default): a MAC credential the
                        certificates issued to it (and their renewals), a signer
                        its own, an RA any; any: every MAC credential any
                        certificate (EJBCA's RA mode).
  --max-mac-iterations N  Highest MAC iteration count accepted from clients
                        (default 100,000 for PasswordBasedMac, 1,000,000 for
                        PBMAC1; Go clients send 262,144).
  --max-skew SECS       Largest messageTime difference accepted (default 60); a
                        transactionID is remembered for twice as long (replays).
  --threads N           Worker threads (default: one per core).
";

const HELP_ENROLL: &str = "\
cmpv2 enroll: request a new certificate (ir, cr or p10cr) and confirm it.
  --cmd ir|cr|p10cr     Message type (default ir). p10cr needs --csr.
  --newkey FILE         The key to certify (PEM: PKCS#8, SEC1 or PKCS#1).
  --newkey-type TYPE    Generate the key: p256 (default), p384, rsa2048, rsa3072,
                        rsa4096 or ed25519. A generated key needs --keyout
                        or --p12out.
  --subject DN          Subject, /CN=x/O=y (OpenSSL style) or CN=x,O=y (RFC 4514).
                        Default: the subject of --cert.
  --san VALUE           subjectAltName, repeatable: a DNS name, an IP address, an
                        email address (has @) or a URI (has ://); DNS:, IP:, email:
                        and URI: prefixes are accepted too.
  --days N              Ask for a validity of N days (template notAfter).
  --csr FILE            PKCS#10 request for p10cr (PEM or DER), sent as is.
  --certout FILE        Write the new certificate (PEM). Required.
  --chainout FILE       Write extraCerts of the response except the new certificate.
  --cacertsout FILE     Write caPubs (CA certificates the CA suggests trusting).
  --keyout FILE         Write the new private key (PKCS#8 PEM, mode 0600).
  --p12out FILE         Write a PKCS#12 keystore: key, certificate and chain.
  --p12-truststore-out FILE
                        Write a PKCS#12 truststore: every CA certificate (caPubs,
                        CAs in extraCerts, --trusted), each its own entry.
  --p12-password SRC    PKCS#12 password: pass:TEXT, env:VAR or file:PATH. Default:
                        generated and written to FILE.pass (mode 0600).
";

const HELP_UPDATE: &str = "\
cmpv2 update: key update (kur) of a certificate, signed with it and its key.
  --oldcert FILE        The certificate to update; its subject and subjectAltName
                        are asked for again unless --subject or --san are given.
  --key FILE            The private key of --oldcert: signs the kur unless --secret
                        is given (with --cert, that certificate signs instead).
  --newkey, --newkey-type, --subject, --san, --days, --certout, --chainout,
  --cacertsout, --keyout, --p12out, --p12-truststore-out, --p12-password
                        As for enroll.
";

const HELP_REVOKE: &str = "\
cmpv2 revoke: revoke a certificate (rr).
  --oldcert FILE        The certificate to revoke. With --key (and no --secret or
                        --cert), the request is signed with it and its key.
  --revreason N         CRLReason (RFC 5280): 0 unspecified, 1 keyCompromise,
                        2 cACompromise, 3 affiliationChanged, 4 superseded,
                        5 cessationOfOperation, 6 certificateHold, 8 removeFromCRL,
                        9 privilegeWithdrawn, 10 aACompromise (default 0, as RFC
                        9483 §4.2 asks); -1 sends no reasonCode.
";

const HELP_GENM: &str = "\
cmpv2 genm: ask the CA for information (genm/genp) and print the answer.
  --infotype NAME       Repeatable; one genm/genp exchange each. caCerts,
                        signKeyPairTypes, certReqTemplate, rootCaCert (needs
                        --oldwithold), crlStatusList (needs --crlcert),
                        encKeyPairTypes, preferredSymmAlg, caKeyUpdateInfo,
                        currentCRL, caProtEncCert, or a dotted OID.
  --oldwithold FILE     The root CA certificate held now (for rootCaCert); a new
                        root is accepted only if it is linked to this one.
  --crlcert FILE        A certificate whose CRL is wanted (for crlStatusList).
  --cacertsout FILE     Write the certificates of caCerts (PEM).
  --newwithnew FILE     Write the new root CA certificate (PEM; rootCaCert).
  --crlout FILE         Write the CRLs (PEM; crlStatusList).
";

const HELP_PROBE: &str = "\
cmpv2 probe: find out what the CA does, with few messages, and which options fit
  it. Sends genm caCerts (and, if answered, certReqTemplate, signKeyPairTypes,
  currentCRL and pvno 3), an ir whose proof-of-possession is invalid on purpose
  (the CA must refuse it: its answer shows how refusals are protected), the same
  with a wrong secret (or unprotected), and with MAC credentials the same under
  each MAC variant (PasswordBasedMac SHA-256 or SHA-1, HMAC-SHA256 or -SHA1, 500 to
  262,144 iterations; PBMAC1): badPOP means the CA took the MAC. Leaves no
  certificate behind unless --enroll. Prints a table (property, verdict, what was
  asked, what came back; '(unverified)' where the answer's protection could not be
  checked), the enroll options that fit and the CMPv2Issuer spec.compatibility and
  healthCheck settings.
  --enroll              Also enroll: an ir asking for implicitConfirm and a p10cr
                        (certReqId of the cp), noting whether the CA asks to wait;
                        then revoke (rr) every certificate obtained. Needs answers
                        the client can verify (--trusted for a CA that signs).
  --json                Print one JSON object (findings, facts, flags,
                        compatibility, every exchange) instead of the table.
";

const EXIT_CODES_PROBE: &str = "\
  0   the probe ran (whatever the CA supports)
  2   an input file or secret is unusable, or the output cannot be written
  3   the CA cannot be reached at all (no CMP answer to any probe)
  64  usage error
";

const HELP_CLIENT: &str = "\
Options of enroll, update, revoke, genm and probe:
 Connection:
  --server HOST[:PORT]  The CA, or a full http:// or https:// URL (with a path).
                        HOST[:PORT] means http://, or https:// with --tls-* options.
  --path PATH           HTTP path on the server (default: the URL's path, else /).
  --tls-trusted FILE    TLS trust anchors for https (PEM or DER), kept apart from
                        the CMP trust of --trusted. Default: the Mozilla roots.
  --tls-cert FILE       TLS client certificate (PEM, chain may follow); needs
  --tls-key FILE        its key.
  --proxy URL           HTTP proxy (environment variables are not used).
  --timeout SECS        Limit for each HTTP exchange, connect to last byte (60).
  --connect-timeout SECS  Limit for connecting (10).
                        A CA answering HTTP 429 or 503 with Retry-After (at most
                        60 s) is waited out twice before the command gives up.
 Credentials (MAC or signature):
  --secret SRC          Shared secret for MAC protection: pass:TEXT, env:VAR or
                        file:PATH (first line). Also verifies MAC-protected answers.
  --ref REF             Reference of the secret (senderKID).
  --mac-alg ALG         pbm (default: PasswordBasedMac, SHA-256 and HMAC-SHA256),
                        pbm-hmac-sha1 (SHA-256 and HMAC-SHA1, as openssl cmp),
                        pbm-sha1 (SHA-1 and HMAC-SHA1, the oldest CAs) or pbmac1.
  --pbmac1              Same as --mac-alg pbmac1.
  --mac-iterations N    Iteration count, 100 to 262,144 (default 500 for PBM,
                        10,000 for PBMAC1); answers may then use as many.
  --cert FILE           Our certificate (PEM, the rest of its chain may follow).
  --key FILE            Its private key (PEM). Signs requests when no --secret.
 Trust in the CA's answers:
  --trusted FILE        Trust anchors for signed answers (PEM). Needed when the
                        CA signs; required with signature credentials.
  --untrusted FILE      Intermediate CA certificates to complete chains (PEM).
  --out-trusted FILE    Anchors the new certificate must chain to (PEM).
  --recipient DN        Recipient (the CA). Default: the issuer of --oldcert, else
                        of --cert, else the empty DN.
  --sender DN           Header sender with MAC protection. Default: the subject of
                        --cert, else the subject asked for, else that of --oldcert;
                        --sender '' sends the NULL-DN.
  --expect-sender DN    Accept answers only from this sender.
  --unprotected-errors  Accept unprotected negative answers.
  --ignore-keyusage     Do not require digitalSignature in the signer certificate.
  --tolerate-reversed-rdns  Accept a sender with its RDNs reversed (EJBCA).
  --strict-p10cr-id     Accept a p10cr answer only for certReqId -1 (RFC 9483);
                        by default 0 is accepted too (EJBCA).
 Transaction:
  --implicit-confirm    Ask to skip certConf (honoured only when granted).
  --profile NAME        certProfile to ask for (generalInfo).
  --max-check-after SECS  Longest wait the CA may ask for while polling (300).
  --poll-deadline SECS  Give up polling after this long (1800).
 Messages to and from files (one DER PKIMessage per file, as openssl cmp):
  --reqout FILES        Write the requests, comma-separated, one file each.
  --rspout FILES        Write the responses.
  --rspin FILES         Take the responses from these files instead of a server.
";

const EXIT_CODES_CLIENT: &str = "\
  0   success
  1   the CA refused: a rejection status or an error message (its text is shown)
  2   an input file or secret is unusable, an output cannot be written, or an
      answer failed a check (bad protection, wrong nonce, untrusted signer, ...)
  3   transport failure: cannot connect, TLS, HTTP status, timeout, or a
      --reqout/--rspout/--rspin file
  64  usage error
";

const HELP_INSPECT: &str = "\
cmpv2 inspect FILE [--json] [--secret SRC]
  Decode one PKIMessage from FILE (DER, or PEM with any label) and print its
  header, body, protection and extraCerts. Does no network I/O.
  --json        Print one JSON object instead of the readable dump.
  --secret SRC  Check the MAC protection (PasswordBasedMac or PBMAC1) with a shared
                secret. SRC is pass:TEXT, env:VAR or file:PATH (the file's first
                line). The secret is never printed.
";

const EXIT_CODES_INSPECT: &str = "\
  0   success (and, with --secret, the protection verified)
  1   --secret was given and the protection was not verified with it: wrong
      secret, altered message, no protection, or signature protection
  2   FILE or the secret cannot be read, FILE is not a PKIMessage, or the
      output cannot be written
  64  usage error
";

/// The help text for one command, or for all of them.
fn help(command: Option<&str>) -> String {
    let client = |section: &str| {
        [
            section,
            "\n",
            HELP_CLIENT,
            "\nExit codes:\n",
            EXIT_CODES_CLIENT,
        ]
        .concat()
    };
    let body = match command {
        Some("demo") => HELP_DEMO.to_owned(),
        Some("serve") => HELP_SERVE.to_owned(),
        Some("enroll") => client(HELP_ENROLL),
        Some("update") => client(HELP_UPDATE),
        Some("revoke") => client(HELP_REVOKE),
        Some("genm") => client(HELP_GENM),
        Some("probe") => [
            HELP_PROBE,
            "\n",
            HELP_CLIENT,
            "\nExit codes:\n",
            EXIT_CODES_PROBE,
        ]
        .concat(),
        Some("inspect") => [HELP_INSPECT, "\nExit codes:\n", EXIT_CODES_INSPECT].concat(),
        _ => [
            HELP_DEMO,
            "\n",
            HELP_SERVE,
            "\n",
            HELP_ENROLL,
            "\n",
            HELP_UPDATE,
            "\n",
            HELP_REVOKE,
            "\n",
            HELP_GENM,
            "\n",
            HELP_PROBE,
            "\n",
            HELP_CLIENT,
            "\n",
            HELP_INSPECT,
            "\nExit codes:\n enroll, update, revoke, genm:\n",
            EXIT_CODES_CLIENT,
            " probe:\n",
            EXIT_CODES_PROBE,
            " inspect:\n",
            EXIT_CODES_INSPECT,
        ]
        .concat(),
    };
    [HEADER, "\n", SYNOPSIS, "\n", &body].concat()
}

/// Exit code: success.
const EXIT_OK: u8 = 0;
/// Exit code of `inspect`: the protection did not verify with the given secret.
const EXIT_UNVERIFIED: u8 = 1;
/// Exit code of the client commands: the CA refused (rejection or error message).
const EXIT_REFUSED: u8 = 1;
/// Exit code: an input cannot be read or decoded, an output cannot be written, or a
/// response failed a check.
const EXIT_INPUT: u8 = 2;
/// Exit code of the client commands: the transport failed.
const EXIT_TRANSPORT: u8 = 3;
/// Exit code: bad command line (BSD `EX_USAGE`).
const EXIT_USAGE: u8 = 64;

/// A failure that ends the program: the message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, one line, without the `cmpv2: ` prefix.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl Failure {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    /// An input that cannot be read or decoded (or an output that cannot be written).
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_INPUT,
        }
    }

    /// A failure with an explicit exit code.
    pub fn with_code(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("cmpv2: {}", failure.message);
            if failure.code == EXIT_USAGE {
                eprintln!();
                eprint!("{SYNOPSIS}");
                eprintln!("Run 'cmpv2 help' or 'cmpv2 COMMAND --help' for the options.");
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Prints the help of `command` and returns success.
fn print_help(command: Option<&str>) -> Result<u8, Failure> {
    print!("{}", help(command));
    Ok(EXIT_OK)
}

fn run(args: Vec<OsString>) -> Result<u8, Failure> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Err(Failure::usage("missing command"));
    };
    match command.to_str() {
        Some("help" | "--help" | "-h") => {
            let topic = args.next();
            print_help(topic.as_ref().and_then(|t| t.to_str()))
        }
        Some("--version" | "-V") => {
            println!("cmpv2 {}", env!("CARGO_PKG_VERSION"));
            Ok(EXIT_OK)
        }
        Some("inspect") => match parse_inspect(args)? {
            Some(options) => Ok(match inspect::run(&options)? {
                inspect::Verdict::Done => EXIT_OK,
                inspect::Verdict::Unverified => EXIT_UNVERIFIED,
            }),
            None => print_help(Some("inspect")),
        },
        Some("demo") => match demo::parse(args)? {
            Some(options) => demo::run(options).map(|()| EXIT_OK),
            None => print_help(Some("demo")),
        },
        Some("serve") => match serve::parse(args)? {
            Some(options) => serve::run(options).map(|()| EXIT_OK),
            None => print_help(Some("serve")),
        },
        Some("enroll") => match enroll::parse(args)? {
            Some(options) => enroll::run(options).map(|()| EXIT_OK),
            None => print_help(Some("enroll")),
        },
        Some("update") => match update::parse(args)? {
            Some(options) => update::run(options).map(|()| EXIT_OK),
            None => print_help(Some("update")),
        },
        Some("revoke") => match revoke::parse(args)? {
            Some(options) => revoke::run(options).map(|()| EXIT_OK),
            None => print_help(Some("revoke")),
        },
        Some("genm") => match genm::parse(args)? {
            Some(options) => genm::run(options).map(|()| EXIT_OK),
            None => print_help(Some("genm")),
        },
        Some("probe") => match probe::parse(args)? {
            Some(options) => probe::run(options).map(|()| EXIT_OK),
            None => print_help(Some("probe")),
        },
        _ => Err(Failure::usage(format!(
            "unknown command {:?}",
            command.to_string_lossy()
        ))),
    }
}

/// Parses the arguments of `inspect`; `None` when help was asked for.
fn parse_inspect(
    mut args: impl Iterator<Item = OsString>,
) -> Result<Option<inspect::Options>, Failure> {
    let mut file: Option<PathBuf> = None;
    let mut json = false;
    let mut secret: Option<SecretSource> = None;
    let mut options_done = false;

    while let Some(arg) = args.next() {
        if !options_done
            && let Some(text) = arg.to_str()
            && text.starts_with('-')
            && text != "-"
        {
            let (name, inline_value) = match text.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (text, None),
            };
            match name {
                "--" => options_done = true,
                "-h" | "--help" => return Ok(None),
                "--json" if inline_value.is_some() => {
                    return Err(Failure::usage("--json takes no value"));
                }
                "--json" => json = true,
                "--secret" => {
                    if secret.is_some() {
                        return Err(Failure::usage("--secret given twice"));
                    }
                    let value = match inline_value {
                        Some(value) => value,
                        None => args
                            .next()
                            .ok_or_else(|| Failure::usage("--secret needs a value (SRC)"))?
                            .into_string()
                            .map_err(|_| Failure::usage("--secret: the value is not UTF-8"))?,
                    };
                    let source = SecretSource::parse(&value)
                        .map_err(|e| Failure::usage(format!("--secret: {e}")))?;
                    secret = Some(source);
                }
                _ => return Err(Failure::usage(format!("inspect: unknown option {name:?}"))),
            }
        } else if file.is_none() {
            file = Some(PathBuf::from(arg));
        } else {
            return Err(Failure::usage("inspect takes exactly one FILE"));
        }
    }
    let file = file.ok_or_else(|| Failure::usage("inspect: missing FILE"))?;
    Ok(Some(inspect::Options { file, json, secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<inspect::Options>, Failure> {
        parse_inspect(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_inspect_options_in_any_order() {
        let opts = parse(&["--json", "m.der", "--secret", "env:S"])
            .expect("valid")
            .expect("not help");
        assert_eq!(opts.file, PathBuf::from("m.der"));
        assert!(opts.json);
        assert!(matches!(opts.secret, Some(SecretSource::Env(v)) if v == "S"));

        let opts = parse(&["--secret=pass:x", "--", "-odd.der"])
            .expect("valid")
            .expect("not help");
        assert_eq!(opts.file, PathBuf::from("-odd.der"));
        assert!(!opts.json);
    }

    #[test]
    fn usage_errors_are_exit_64() {
        for args in [
            &[][..],
            &["a", "b"][..],
            &["--bogus", "a"][..],
            &["a", "--secret"][..],
            &["a", "--secret", "hunter2"][..],
            &["a", "--secret", "pass:x", "--secret", "pass:y"][..],
            &["--json=1", "a"][..],
        ] {
            let err = parse(args).map(|_| ()).expect_err("usage error");
            assert_eq!(err.code, EXIT_USAGE, "{args:?}");
            assert!(!err.message.contains("hunter2"));
        }
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
