//! `cmpv2-issuer`: the controller process.

fn main() {
    eprintln!("cmpv2-issuer: not wired yet");
    std::process::exit(2);
}
