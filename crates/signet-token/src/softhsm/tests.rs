use std::os::unix::fs::PermissionsExt as _;

use crate::pin::PinSource;

use super::*;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signet-token-softhsm-{name}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn conf_names_a_private_absolute_token_dir() {
    let dir = scratch_dir("conf");
    let conf = dir.join("etc/softhsm2.conf");
    let tokens = dir.join("tokens");
    write_softhsm_conf(&conf, &tokens).unwrap();
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains(&format!("directories.tokendir = {}\n", tokens.display())),
        "{text}"
    );
    assert!(text.contains("objectstore.backend = file\n"), "{text}");
    assert!(text.contains("log.level = ERROR\n"), "{text}");
    let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // No temporary file is left behind, and rewriting works.
    write_softhsm_conf(&conf, &tokens).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("softhsm2.conf")]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_conf_wanted_always_matches() {
    let config = TokenConfig::new("t", PinSource::Env("X".into()));
    assert!(softhsm_env_matches(&config));
}

#[test]
fn env_is_compared_with_the_wanted_conf() {
    let mut config = TokenConfig::new("t", PinSource::Env("X".into()));
    config.softhsm2_conf = Some("/nonexistent/other/softhsm2.conf".into());
    assert!(!softhsm_env_matches(&config));
    // Cargo sets SOFTHSM2_CONF for this workspace's tests (.cargo/config.toml).
    if let Some(current) = std::env::var_os(SOFTHSM2_CONF_VAR) {
        config.softhsm2_conf = Some(PathBuf::from(current));
        assert!(softhsm_env_matches(&config));
    }
}
