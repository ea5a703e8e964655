//! Writes the issuer's CRDs as YAML into each directory given:
//! `cargo run -p cmpv2-issuer --bin crdgen -- deploy/crds deploy/chart/cmpv2-issuer/crds`.
//! With no directory, prints them to stdout. `tests/crds.rs` fails when the files in
//! either directory drift from the types.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    for (file, yaml) in cmpv2_issuer::crds::render() {
        if dirs.is_empty() {
            print!("---\n{yaml}");
        }
        for dir in &dirs {
            if let Err(e) =
                std::fs::create_dir_all(dir).and_then(|()| std::fs::write(dir.join(file), &yaml))
            {
                eprintln!("crdgen: cannot write {}: {e}", dir.join(file).display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
