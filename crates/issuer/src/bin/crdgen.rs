//! Writes the issuer's CRDs as YAML: `cargo run -p cmpv2-issuer --bin crdgen -- deploy/crds`.
//! With no directory, prints them to stdout. `tests/crds.rs` fails when the files in
//! `deploy/crds/` drift from the types.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let out = std::env::args_os().nth(1).map(PathBuf::from);
    for (file, yaml) in cmpv2_issuer::crds::render() {
        let result = match &out {
            Some(dir) => std::fs::write(dir.join(file), yaml),
            None => {
                print!("---\n{yaml}");
                Ok(())
            }
        };
        if let Err(e) = result {
            eprintln!("crdgen: cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
