//! `cmpv2 serve`: the test CA behind a CMP responder, over HTTP.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cmp_proto::protection::KeyType;
use cmp_server::ca::TestCaConfig;
use cmp_server::http::{HttpOptions, bind, serve, shutdown_signal};
use cmp_server::{MacCredential, Responder, SignerAnchor, TestCa};

use crate::Failure;
use crate::client_options::{ArgParser, read_certs};
use crate::secret_source::SecretSource;

/// What `cmpv2 serve` was asked to do.
pub struct Options {
    listen: SocketAddr,
    reference: Option<String>,
    secret: Option<SecretSource>,
    mac_is_ra: bool,
    trusted: Vec<PathBuf>,
    ra_trusted: Vec<PathBuf>,
    dir: Option<PathBuf>,
    poll: u32,
    check_after: Duration,
    implicit_confirm: bool,
    key_type: KeyType,
    max_days: Option<u32>,
    max_skew: Option<Duration>,
    max_mac_iterations: Option<u32>,
    revoke_any: bool,
    threads: Option<usize>,
}

/// Parses the arguments of `serve`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("serve", args);
    let mut o = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        reference: None,
        secret: None,
        mac_is_ra: false,
        trusted: Vec::new(),
        ra_trusted: Vec::new(),
        dir: None,
        poll: 0,
        check_after: Duration::from_secs(1),
        implicit_confirm: false,
        key_type: KeyType::P256,
        max_days: None,
        max_skew: None,
        max_mac_iterations: None,
        revoke_any: false,
        threads: None,
    };
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--listen" => {
                let text = p.string(&name)?;
                o.listen = text.parse().map_err(|_| {
                    Failure::usage(format!("--listen: {text:?} is not ADDRESS:PORT"))
                })?;
            }
            "--ref" => o.reference = Some(p.string(&name)?),
            "--secret" => {
                let value = p.string(&name)?;
                o.secret = Some(
                    SecretSource::parse(&value)
                        .map_err(|e| Failure::usage(format!("--secret: {e}")))?,
                );
            }
            "--mac-ra" => {
                p.flag(&name)?;
                o.mac_is_ra = true;
            }
            "--trusted" => o.trusted.push(p.path(&name)?),
            "--ra-trusted" => o.ra_trusted.push(p.path(&name)?),
            "--dir" => o.dir = Some(p.path(&name)?),
            "--poll" => o.poll = p.number(&name)?,
            "--check-after" => o.check_after = p.seconds(&name)?,
            "--implicit-confirm" => {
                p.flag(&name)?;
                o.implicit_confirm = true;
            }
            "--ca-key-type" => {
                let text = p.string(&name)?;
                o.key_type = match text.as_str() {
                    "p256" => KeyType::P256,
                    "p384" => KeyType::P384,
                    "rsa2048" => KeyType::Rsa(2048),
                    "rsa3072" => KeyType::Rsa(3072),
                    _ => {
                        return Err(Failure::usage(format!(
                            "--ca-key-type: {text:?} is not p256, p384, rsa2048 or rsa3072"
                        )));
                    }
                };
            }
            "--max-days" => o.max_days = Some(p.number(&name)?),
            "--max-skew" => o.max_skew = Some(p.seconds(&name)?),
            "--max-mac-iterations" => o.max_mac_iterations = Some(p.number(&name)?),
            "--revoke" => {
                o.revoke_any = match p.string(&name)?.as_str() {
                    "own" => false,
                    "any" => true,
                    other => {
                        return Err(Failure::usage(format!("--revoke {other}: own or any")));
                    }
                };
            }
            "--threads" => o.threads = Some(p.number(&name)?),
            _ => return Err(p.unknown(&name)),
        }
    }
    if o.secret.is_some() != o.reference.is_some() {
        return Err(Failure::usage("--ref and --secret go together"));
    }
    if o.secret.is_none() && o.trusted.is_empty() && o.ra_trusted.is_empty() {
        return Err(Failure::usage(
            "serve needs clients: --ref REF --secret SRC (MAC), --trusted FILE or --ra-trusted FILE (signature)",
        ));
    }
    Ok(Some(o))
}

/// Creates or loads the test CA described by `o`.
fn test_ca(o: &Options) -> Result<TestCa, Failure> {
    let mut config = TestCaConfig {
        key_type: o.key_type,
        poll_count: o.poll,
        check_after: o.check_after,
        directory: o.dir.clone(),
        ..TestCaConfig::default()
    };
    if let Some(days) = o.max_days {
        config.max_validity = Duration::from_secs(u64::from(days) * 86_400);
    }
    TestCa::new(config).map_err(|e| Failure::input(format!("test CA: {e}")))
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(o: Options) -> Result<(), Failure> {
    let ca = test_ca(&o)?;
    let mut config = ca.responder_config();
    config.grant_implicit_confirm = o.implicit_confirm;
    if let Some(skew) = o.max_skew {
        config.limits.max_clock_skew = skew;
    }
    if o.revoke_any {
        config.revocation = cmp_server::RevocationPolicy::MacAccountsRevokeAny;
    }
    if let Some(n) = o.max_mac_iterations {
        // PasswordBasedMac and PBKDF2 alike: Go clients send 262,144.
        let limits = &mut config.limits.message;
        limits.max_pbm_iterations = n;
        limits.max_pbkdf2_iterations = n.max(limits.min_pbkdf2_iterations);
        limits.max_pbkdf2_work = u64::from(limits.max_pbkdf2_iterations);
    }
    if let (Some(reference), Some(secret)) = (&o.reference, &o.secret) {
        let secret = secret
            .load()
            .map_err(|e| Failure::input(format!("--secret: {e}")))?;
        config.credentials.mac.insert(
            reference.as_bytes().to_vec(),
            MacCredential {
                secret,
                may_act_as_ra: o.mac_is_ra,
            },
        );
    }
    for (files, may_act_as_ra, option) in [
        (&o.trusted, false, "--trusted"),
        (&o.ra_trusted, true, "--ra-trusted"),
    ] {
        for file in files {
            for certificate in read_certs(file, option)? {
                config.credentials.signers.push(SignerAnchor {
                    certificate,
                    may_act_as_ra,
                });
            }
        }
    }
    if let Some(dir) = &o.dir {
        eprintln!(
            "cmpv2 serve: CA certificates and the server's protection certificate in {}",
            dir.join("ca.pem").display()
        );
    }
    let responder = Arc::new(Responder::new(config, ca));
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = o.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Failure::input(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let (listener, local) = bind(o.listen)
            .await
            .map_err(|e| Failure::input(format!("--listen {}: {e}", o.listen)))?;
        // The one line scripts wait for: printed once the socket accepts connections.
        println!("cmpv2 serve: listening on http://{local}/");
        let _ = std::io::stdout().flush();
        serve(
            listener,
            responder,
            HttpOptions::default(),
            shutdown_signal(),
        )
        .await
        .map_err(|e| Failure::input(format!("serving on {local}: {e}")))
    })
}
