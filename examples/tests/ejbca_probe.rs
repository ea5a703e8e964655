//! `cmpv2 probe` against a real EJBCA CE 8.2 (the kit in `../shared/ejbca`): every CMP
//! alias it ships, each finding checked against what the kit's README says EJBCA does,
//! and every certificate `--enroll` got checked as revoked by EJBCA's own OCSP responder.
//!
//! Not part of `cargo test`: it needs a running EJBCA, and fails (never skips) without
//! one. `e2e/ejbca.sh test` runs it with the `ejbca` suite. By hand, with EJBCA started
//! from the kit:
//!
//! ```sh
//! cargo test -p cmpv2-examples --test ejbca_probe
//! ```
//!
//! `EJBCA_CMP_URL` (default `http://127.0.0.1:8080/ejbca/publicweb/cmp`) and `EJBCA_KIT`
//! (default `../shared/ejbca` beside the clone) say where they are.

mod ejbca_kit;

use std::process::{Command, Output};

use ejbca_kit::{CA_DN, TempDir, alias_url, authority, ejbca_is_up, kit_file, unique};
use serde_json::Value;

/// The HMAC aliases' secret (kit README).
const SECRET: &str = "pass:foo123";

fn cmpv2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(args)
        .output()
        .expect("cmpv2 runs")
}

/// The options of an HMAC alias: secret, the CA as recipient, ManagementCA as anchor.
fn mac_args(alias: &str) -> Vec<String> {
    [
        "--server",
        &alias_url(alias),
        "--ref",
        "cmpv2-probe",
        "--secret",
        SECRET,
        "--recipient",
        CA_DN,
        "--trusted",
        &kit_file("ManagementCA.pem"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `cmpv2 probe --json ARGS`: asserts exit code 0, returns the JSON.
fn probe(args: &[String]) -> Value {
    ejbca_is_up();
    let mut all = vec!["probe", "--json"];
    all.extend(args.iter().map(String::as_str));
    let out = cmpv2(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "cmpv2 {}\nstderr: {}",
        all.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn fact<'a>(report: &'a Value, key: &str) -> &'a str {
    report["facts"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no finding {key:?} in {:#}", report["facts"]))
}

/// The finding `key` whole (verdict, what was asked, the answer).
fn finding<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["key"] == key))
        .unwrap_or_else(|| panic!("no finding {key:?}"))
}

fn flags(report: &Value) -> Vec<String> {
    report["enroll_flags"]
        .as_array()
        .expect("enroll_flags")
        .iter()
        .filter_map(|f| f["flag"].as_str().map(str::to_owned))
        .collect()
}

/// What every alias shares: no genm (so no health check by genm), invalid POPs refused
/// with badPOP, and no compatibility switch needed once the recipient is the CA's DN.
fn assert_ejbca_basics(report: &Value) {
    assert_eq!(fact(report, "genm"), "unsupported");
    let genm = finding(report, "genm");
    assert!(
        genm["answer"]
            .as_str()
            .is_some_and(|a| a.contains("Can not handle message type '21'")),
        "{genm:#}"
    );
    assert_eq!(report["health_check"], "None");
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["verified"] != false),
        "every answer verifies with --trusted and the secret: {:#}",
        report["findings"]
    );
    for switch in [
        "acceptUnprotectedErrors",
        "ignoreSignerKeyUsage",
        "tolerateReversedRdns",
        "strictP10crCertReqId",
    ] {
        assert_eq!(report["compatibility"][switch], false, "{switch}");
    }
}

/// The MAC variants as EJBCA 8.2 takes them: everything up to 10,000 iterations,
/// PBMAC1 too, nothing above ("Iteration count can not exceed 10000").
fn assert_ejbca_mac_variants(report: &Value) {
    for accepted in [
        "mac.pbm-sha256-hmac-sha256-500",
        "mac.pbm-sha256-hmac-sha1-500",
        "mac.pbm-sha1-hmac-sha1-500",
        "mac.pbm-sha256-hmac-sha256-2047",
        "mac.pbm-sha256-hmac-sha256-10000",
        "mac.pbmac1-sha256-10000",
    ] {
        assert_eq!(fact(report, accepted), "accepted", "{accepted}");
    }
    assert_eq!(fact(report, "mac.pbm-sha256-hmac-sha256-262144"), "refused");
    let refused = finding(report, "mac.pbm-sha256-hmac-sha256-262144");
    assert!(
        refused["answer"]
            .as_str()
            .is_some_and(|a| a.contains("Iteration count can not exceed 10000")),
        "{refused:#}"
    );
}

/// What `--enroll` finds on every RA alias: implicitConfirm granted, p10cr answered
/// with certReqId 0, no polling, and both certificates revoked, which EJBCA's OCSP
/// responder confirms.
fn assert_ejbca_enrollment(report: &Value) {
    assert_eq!(fact(report, "implicit_confirm"), "granted");
    assert_eq!(fact(report, "p10cr_cert_req_id"), "0 (RFC 9483 says -1)");
    assert_eq!(fact(report, "polling"), "no waiting");
    assert_eq!(
        fact(report, "revocation"),
        "revoked all 2 certificates enrolled"
    );
    let flags = flags(report);
    assert!(
        flags.contains(&"--implicit-confirm".to_owned()),
        "{flags:?}"
    );
    assert!(
        !flags.contains(&"--strict-p10cr-id".to_owned()),
        "{flags:?}"
    );
    let enrolled = report["enrolled"].as_array().expect("enrolled");
    assert_eq!(enrolled.len(), 2, "{enrolled:#?}");
    for cert in enrolled {
        let serial = cert["serial"].as_str().expect("serial");
        assert_eq!(cert["revoked"], true, "{cert:#}");
        assert_revoked_by_ocsp(serial);
    }
}

/// Asks EJBCA's OCSP responder about `serial` (0x...) with `openssl ocsp`.
fn assert_revoked_by_ocsp(serial: &str) {
    let ca = kit_file("ManagementCA.pem");
    let url = format!("http://{}/ejbca/publicweb/status/ocsp", authority());
    let out = Command::new("openssl")
        .args(["ocsp", "-issuer", &ca, "-CAfile", &ca, "-serial", serial])
        .args(["-url", &url, "-timeout", "30"])
        .output()
        .expect("openssl runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{serial}: revoked")) && said.contains("cessationOfOperation"),
        "OCSP on {serial}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cmpra_signs_every_answer_to_mac_requests_and_takes_mac_up_to_10000_iterations() {
    let mut args = mac_args("cmpra");
    args.push("--enroll".to_owned());
    let report = probe(&args);
    assert_ejbca_basics(&report);
    assert_ejbca_mac_variants(&report);
    assert_eq!(fact(&report, "answers.positive"), "signature");
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    assert_eq!(
        fact(&report, "answers.unauthenticated"),
        "refused, signature"
    );
    assert_eq!(fact(&report, "pop"), "checked (refused: badPOP)");
    // No genm, so pvno 3 was asked with the invalid-POP ir: it got as far as the POP.
    assert_eq!(fact(&report, "pvno3"), "accepted");
    assert_ejbca_enrollment(&report);
    assert!(flags(&report).contains(&"--trusted FILE".to_owned()));
}

#[test]
fn cmppbe_answers_with_a_mac_but_signs_its_refusals() {
    let mut args = mac_args("cmppbe");
    args.push("--enroll".to_owned());
    let report = probe(&args);
    assert_ejbca_basics(&report);
    assert_ejbca_mac_variants(&report);
    assert_eq!(fact(&report, "answers.positive"), "MAC");
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    assert_eq!(
        fact(&report, "answers.unauthenticated"),
        "refused, signature"
    );
    assert_ejbca_enrollment(&report);
    let trusted = report["enroll_flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["flag"] == "--trusted FILE")
        .expect("--trusted is needed for the signed refusals");
    assert!(
        trusted["reason"]
            .as_str()
            .is_some_and(|r| r.contains("signs its refusals")),
        "{trusted:#}"
    );
}

#[test]
fn cmpra_raverify_sends_unprotected_errors_to_the_null_dn_recipient() {
    // Without --recipient, EJBCA answers every refusal unprotected (kit README): the
    // probe says so and suggests both ways out.
    let report = probe(&[
        "--server".to_owned(),
        alias_url("cmpra-raverify"),
        "--ref".to_owned(),
        "cmpv2-probe".to_owned(),
        "--secret".to_owned(),
        SECRET.to_owned(),
        "--trusted".to_owned(),
        kit_file("ManagementCA.pem"),
    ]);
    assert_eq!(fact(&report, "genm"), "unsupported");
    assert_eq!(fact(&report, "answers.refusal"), "unprotected");
    assert_eq!(
        fact(&report, "answers.unauthenticated"),
        "refused, unprotected"
    );
    assert_eq!(report["compatibility"]["acceptUnprotectedErrors"], true);
    let flags = flags(&report);
    assert!(
        flags.contains(&"--unprotected-errors".to_owned()),
        "{flags:?}"
    );
    // The guess comes from --trusted: ManagementCA's subject as encoded (CN first).
    assert!(
        flags.contains(&"--recipient 'C=SE,O=EJBCA Sample,CN=ManagementCA'".to_owned()),
        "{flags:?}"
    );
    // The same alias with the recipient set signs them all.
    let report = probe(&mac_args("cmpra-raverify"));
    assert_ejbca_basics(&report);
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    assert_eq!(fact(&report, "pop"), "checked (refused: badPOP)");
    assert_eq!(
        fact(&report, "implicit_confirm"),
        "not probed (needs --enroll)"
    );
}

#[test]
fn cmpra_sig_answers_the_ra_signature_with_signatures() {
    let report = probe(&[
        "--server".to_owned(),
        alias_url("cmpra-sig"),
        "--cert".to_owned(),
        kit_file("ra.crt"),
        "--key".to_owned(),
        kit_file("ra.key"),
        "--trusted".to_owned(),
        kit_file("ManagementCA.pem"),
        "--enroll".to_owned(),
    ]);
    assert_eq!(report["credentials"], "signature");
    assert_ejbca_basics(&report);
    assert_eq!(fact(&report, "mac"), "not probed (signature credentials)");
    assert_eq!(fact(&report, "answers.positive"), "signature");
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    let unauthenticated = finding(&report, "answers.unauthenticated");
    assert_eq!(unauthenticated["verdict"], "refused, signature");
    assert!(
        unauthenticated["answer"]
            .as_str()
            .is_some_and(|a| a.contains("No PKI protection is found")),
        "{unauthenticated:#}"
    );
    assert_eq!(fact(&report, "pvno3"), "accepted");
    assert_ejbca_enrollment(&report);
}

#[test]
fn cmpkur_refuses_ir_from_an_end_entity_so_pop_and_pvno_stay_unknown() {
    // An end-entity certificate from cmpra signs the probe, as a kur would be signed.
    let dir = TempDir::new("probe-kur");
    let (cert, key) = (dir.file("ee.pem"), dir.file("ee.key"));
    let mut enroll: Vec<String> = ["enroll", "--subject"].map(str::to_owned).to_vec();
    enroll.push(format!("/CN={}", unique("probe-kur")));
    enroll.extend(mac_args("cmpra"));
    enroll.extend(["--certout", &cert, "--keyout", &key].map(str::to_owned));
    ejbca_is_up();
    let out = cmpv2(&enroll.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report = probe(&[
        "--server".to_owned(),
        alias_url("cmpkur"),
        "--cert".to_owned(),
        cert.clone(),
        "--key".to_owned(),
        key.clone(),
        "--trusted".to_owned(),
        kit_file("ManagementCA.pem"),
    ]);
    assert_ejbca_basics(&report);
    // Client mode: the ir names an end entity EJBCA does not know.
    let pop = finding(&report, "pop");
    assert_eq!(pop["verdict"], "unknown: refused for another reason");
    assert!(
        pop["answer"]
            .as_str()
            .is_some_and(|a| a.contains("Wrong username or password")),
        "{pop:#}"
    );
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    assert_eq!(
        fact(&report, "pvno3"),
        "unknown (no genm, and POP refusals do not tell)"
    );

    // Leave nothing behind: the end entity's certificate is revoked through cmpra.
    let mut revoke: Vec<String> = vec!["revoke".to_owned(), "--oldcert".to_owned(), cert];
    revoke.extend(mac_args("cmpra"));
    revoke.extend(["--revreason", "5"].map(str::to_owned));
    let out = cmpv2(&revoke.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
