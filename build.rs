//! Build-time probe of the compiler: the AVX-512 builds of the CoLaNET step
//! (`rust/colanet/lanes.rs`, `neuron.rs`, `network.rs`) need Rust ≥ 1.89, where the
//! AVX-512 target features and intrinsics are stable. Older compilers (down to the
//! crate's `rust-version`) build without them; the results are the same either way.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(snnconv_avx512)");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // "rustc 1.95.0 (…)": the minor version of a 1.x compiler.
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            let version = v.split_whitespace().nth(1)?.to_owned();
            let mut parts = version.split('.');
            (parts.next()? == "1").then_some(())?;
            parts.next()?.parse::<u32>().ok()
        });
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=snnconv_avx512");
    }
}
