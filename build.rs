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
    git_commit();
}

/// The commit the core is built from (`SNNCONV_GIT_COMMIT`, empty outside a git
/// checkout, e.g. from an sdist), with "+dirty" when tracked files differ from it:
/// results record it even when the package is installed from a wheel, where no
/// checkout is left to ask at run time.
fn git_commit() {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])
        .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_default();
    let dirty = !commit.is_empty()
        && git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let value = if dirty {
        format!("{commit}+dirty")
    } else {
        commit
    };
    println!("cargo:rustc-env=SNNCONV_GIT_COMMIT={value}");
    // Rebuilt when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        for file in ["HEAD", "logs/HEAD"] {
            let p = std::path::Path::new(&dir).join(file);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
}
