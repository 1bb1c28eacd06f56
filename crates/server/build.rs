//! Link options of the `todo-server` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    // Relative relocations packed as DT_RELR (glibc >= 2.36: Debian 12, the container's
    // distroless/cc-debian12): the 1.2 MB `.rela.dyn` table that the dynamic loader would read
    // at every start becomes a few KB, and its pages no longer count in the process's RSS.
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bin=todo-server=-Wl,-z,pack-relative-relocs");
    }
}
