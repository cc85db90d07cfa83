//! `--config FILE`: options from a TOML file.
//!
//! Precedence, highest first: a flag on the command line, its `CARDFILE_*` environment variable,
//! the config file, the built-in default. The file's values become clap defaults, so clap still
//! parses and checks every value, and `--help` shows the values the file set.
//!
//! ```toml
//! db = "/var/lib/cardfile/cardfile.db"   # top level: the global options
//! account = "acme"
//! base_url = "https://people.example.com"
//!
//! [serve]                                # the options of `cardfile serve`
//! listen = "0.0.0.0:8443"
//! tls_cert = "/etc/cardfile/cert.pem"
//! tls_key = "/etc/cardfile/key.pem"
//! rate_limit = "50/2"
//!
//! smtp_url = "smtp://bot%40example.com@mail.example.com"  # also used by `outbox test`
//!
//! [init]                                 # how `init` (or the first `serve`) sets up a database
//! admin_email = "it@example.com"
//! ```
//!
//! Relative paths are relative to the file's directory. An unknown key, a value of the wrong
//! kind or an unreadable file is an error that names the file and the key.

use std::path::{Path, PathBuf};

use clap::Command;

/// Keys whose values are file paths, resolved against the config file's directory.
const PATH_KEYS: &[&str] =
    &["db", "db_password_file", "tls_cert", "tls_key", "smtp_password_file", "smtp_ca", "sms_token_file"];

/// The `--config` path: the last `--config X` / `--config=X` before a lone `--`, else
/// `CARDFILE_CONFIG`. Read before clap parses, because the file's values become clap defaults.
pub(crate) fn path_from(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut found = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            found = iter.next().map(PathBuf::from);
        } else if let Some(value) = text.strip_prefix("--config=") {
            found = Some(PathBuf::from(value));
        }
    }
    found.or_else(|| std::env::var_os("CARDFILE_CONFIG").map(PathBuf::from))
}

/// Reads the file and makes its values the defaults of `cmd`'s arguments.
pub(crate) fn apply(cmd: Command, file: &Path) -> Result<Command, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the config file {}: {e}", file.display()))?;
    let table: toml::Table =
        text.parse().map_err(|e| format!("the config file {} is not valid TOML: {e}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut cmd = cmd;
    for (key, value) in &table {
        match value {
            toml::Value::Table(section) => {
                let sub_names: &[&str] = match key.as_str() {
                    "serve" => &["serve"],
                    // `serve` initialises an empty database with the same options as `init`.
                    "init" => &["init", "serve"],
                    _ => return Err(unknown(file, key, "")),
                };
                for (sub_key, sub_value) in section {
                    let id = sub_key.replace('-', "_");
                    let value = scalar(file, &format!("{key}.{sub_key}"), sub_value, base, &id)?;
                    let mut known = false;
                    for name in sub_names {
                        if cmd.find_subcommand(name).is_some_and(|sub| has_arg(sub, &id)) {
                            known = true;
                            let value = value.clone();
                            cmd =
                                cmd.mut_subcommand(name, |sub| sub.mut_arg(&id, |a| a.default_value(value)));
                        }
                    }
                    // `outbox test` sends through the transport `[serve]` configures.
                    let test = |c: &Command| {
                        c.find_subcommand("outbox")
                            .and_then(|o| o.find_subcommand("test"))
                            .is_some_and(|t| has_arg(t, &id))
                    };
                    if key == "serve" && test(&cmd) {
                        let value = value.clone();
                        cmd = cmd.mut_subcommand("outbox", |o| {
                            o.mut_subcommand("test", |t| t.mut_arg(&id, |a| a.default_value(value)))
                        });
                    }
                    if !known {
                        return Err(unknown(file, sub_key, &format!("[{key}] ")));
                    }
                }
            }
            _ => {
                let id = key.replace('-', "_");
                if id == "config" || !has_arg(&cmd, &id) {
                    return Err(unknown(file, key, ""));
                }
                let value = scalar(file, key, value, base, &id)?;
                cmd = cmd.mut_arg(&id, |a| a.default_value(value));
            }
        }
    }
    Ok(cmd)
}

fn has_arg(cmd: &Command, id: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == id && !a.is_positional())
}

fn unknown(file: &Path, key: &str, section: &str) -> String {
    format!(
        "the config file {} has an unknown key {section}{key} (known: db, account, base_url, json, \
         [serve] listen/tls_cert/tls_key/tls_self_signed/require_https/rate_limit/mmap_mib/query_cache_mib/\
         header_timeout/body_timeout/idle_timeout/max_connections …, \
         [init] admin_email/slug/name)",
        file.display()
    )
}

/// A TOML scalar as the text clap would have been given on the command line.
fn scalar(file: &Path, key: &str, value: &toml::Value, base: &Path, id: &str) -> Result<String, String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        _ => {
            return Err(format!(
                "the config file {}: {key} is a TOML {}; it takes a string, number or boolean",
                file.display(),
                value.type_str()
            ))
        }
    };
    // (A database URL is no path.)
    if PATH_KEYS.contains(&id) && !text.contains("://") && Path::new(&text).is_relative() {
        return Ok(base.join(text).to_string_lossy().into_owned());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(Into::into).collect()
    }

    #[test]
    fn the_config_path_is_found_in_either_spelling_and_not_after_a_double_dash() {
        assert_eq!(path_from(&args(&["cardfile", "--config", "a.toml", "serve"])), Some("a.toml".into()));
        assert_eq!(path_from(&args(&["cardfile", "user", "--config=b.toml", "list"])), Some("b.toml".into()));
        assert_eq!(
            path_from(&args(&["cardfile", "--config", "a.toml", "--config", "c.toml"])),
            Some("c.toml".into())
        );
        let after_dash = path_from(&args(&["cardfile", "user", "add", "--", "--config=x"]));
        assert_ne!(after_dash, Some("x".into()));
    }
}
