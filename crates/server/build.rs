//! Link options of the `todo-server` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=TODO_SYMBOL_ORDER");
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let linux_gnu = env("CARGO_CFG_TARGET_OS") == "linux" && env("CARGO_CFG_TARGET_ENV") == "gnu";
    // Relative relocations packed as DT_RELR (glibc >= 2.36: Debian 12, the container's
    // distroless/cc-debian12): the 1.2 MB `.rela.dyn` table that the dynamic loader would read
    // at every start becomes a few KB, and its pages no longer count in the process's RSS.
    if linux_gnu {
        println!("cargo:rustc-link-arg-bin=todo-server=-Wl,-z,pack-relative-relocs");
    }
    // The functions that run at start-up and on the common requests first in `.text`, in
    // the order bench/symbol_order.py recorded: the kernel maps a file's cached pages 64 KiB
    // around each fault, so scattered start-up code kept ~10 MiB of the binary resident in an
    // idle server, and laid out together it takes 2-3 MiB (docs/performance.md, *Idle RSS*).
    // lld's option: rustc links with lld on x86_64 Linux since 1.90, unless told otherwise.
    if linux_gnu
        && env("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && env("PROFILE") == "release"
        && env("TODO_SYMBOL_ORDER") != "off"
        && links_with_rust_lld(&env)
    {
        let order = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("symbol-order.txt");
        if order.exists() {
            println!(
                "cargo:rustc-link-arg-bin=todo-server=-Wl,--symbol-ordering-file={}",
                order.display()
            );
            // Names of an older build (another rustc, a dependency updated) are skipped.
            println!("cargo:rustc-link-arg-bin=todo-server=-Wl,--no-warn-symbol-ordering");
        }
    }
}

/// Whether the binary is linked by rustc's default for x86_64 Linux (lld, since 1.90): no
/// linker chosen in the flags or the environment, and a rustc of 1.90 or later.
fn links_with_rust_lld(env: &dyn Fn(&str) -> String) -> bool {
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|flag| flags.contains(flag))
        || !env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (…)"
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
