//! The Auth API settings, from where the Worker's local configuration is:
//! `wrangler.toml`'s `[vars]`, then `.dev.vars` (which overrides them under
//! `wrangler dev`), then the environment (for production keys, which
//! `wrangler secret` never gives back).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shared::duo::auth_api::AuthApiClient;

/// The three settings the Auth API needs.
pub const NAMES: [&str; 3] = ["DUO_IKEY", "DUO_SKEY", "DUO_API_HOST"];

/// Settings and where each came from.
#[derive(Default)]
pub struct Settings {
    values: BTreeMap<&'static str, (String, String)>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (name, (value, from)) in &self.values {
            let shown = if *name == "DUO_SKEY" { "[redacted]" } else { value.as_str() };
            map.entry(name, &format_args!("{shown} ({from})"));
        }
        map.finish()
    }
}

impl Settings {
    /// Reads `dir/wrangler.toml`, `dir/.dev.vars` and `environment`, later ones winning.
    ///
    /// # Errors
    /// A sentence naming the file that cannot be read or parsed.
    pub fn load(dir: &Path, environment: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut settings = Self::default();
        let wrangler = dir.join("wrangler.toml");
        if let Some(text) = read(&wrangler)? {
            let parsed: toml::Table =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", wrangler.display()))?;
            if let Some(toml::Value::Table(vars)) = parsed.get("vars") {
                for name in NAMES {
                    if let Some(toml::Value::String(value)) = vars.get(name) {
                        settings.set(name, value.clone(), "wrangler.toml [vars]");
                    }
                }
            }
        }
        let dev_vars = dir.join(".dev.vars");
        if let Some(text) = read(&dev_vars)? {
            for (name, value) in dotenv(&text) {
                if let Some(known) = NAMES.iter().find(|n| **n == name) {
                    settings.set(known, value, ".dev.vars");
                }
            }
        }
        for name in NAMES {
            if let Some(value) = environment(name).filter(|v| !v.is_empty()) {
                settings.set(name, value, "the environment");
            }
        }
        Ok(settings)
    }

    fn set(&mut self, name: &'static str, value: String, from: &str) {
        self.values.insert(name, (value, from.to_owned()));
    }

    /// The API host as configured (for messages).
    pub fn host(&self) -> Option<&str> {
        self.values.get("DUO_API_HOST").map(|(v, _)| v.as_str())
    }

    /// The client, or a sentence naming the missing or invalid setting and where it came from.
    ///
    /// # Errors
    /// As described.
    pub fn client(&self) -> Result<AuthApiClient, String> {
        let get = |name: &str| {
            self.values.get(name).map(|(v, _)| v.trim().to_owned()).ok_or_else(|| {
                if name == "DUO_SKEY" {
                    "DUO_SKEY is not set: put it in .dev.vars, or in the environment (deployed, \
it is a `wrangler secret put DUO_SKEY` secret, which cannot be read back)"
                        .to_owned()
                } else {
                    format!("{name} is not set: put it in wrangler.toml [vars], .dev.vars or the environment")
                }
            })
        };
        let (ikey, skey, host) = (get("DUO_IKEY")?, get("DUO_SKEY")?, get("DUO_API_HOST")?);
        AuthApiClient::from_settings(&ikey, skey, &host).map_err(|e| {
            let from = self.values.get(e.setting()).map_or("", |(_, from)| from.as_str());
            format!("{e} (from {from})")
        })
    }
}

fn read(path: &PathBuf) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// `NAME=value` lines as wrangler reads `.dev.vars`: `#` comments, blank
/// lines, optional `export `, values optionally in single or double quotes.
fn dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            Some((name.trim().to_owned(), unquoted.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(wrangler: &str, dev_vars: Option<&str>) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("wrangler.toml"), wrangler).expect("write");
        if let Some(text) = dev_vars {
            std::fs::write(dir.path().join(".dev.vars"), text).expect("write");
        }
        dir
    }

    /// A directory removed on drop (no extra dependency for one test).
    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let mut bytes = [0u8; 8];
                getrandom::getrandom(&mut bytes).expect("randomness");
                let name = format!("{:016x}", u64::from_le_bytes(bytes));
                let path = std::env::temp_dir().join(format!("user-admin-test-{name}"));
                std::fs::create_dir_all(&path).expect("a temporary directory");
                Self(path)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const WRANGLER: &str = "name = \"x\"\n[vars]\nDUO_IKEY = \"DIEMULATORAUTHAPI001\"\nDUO_API_HOST = \"127.0.0.1:8788\"\n[env.production.vars]\nDUO_IKEY = \"DIPRODUCTION00000000\"\n";

    #[test]
    fn dev_vars_override_wrangler_toml_and_the_environment_overrides_both() {
        let dir = dir_with(
            WRANGLER,
            Some(
                "# local\nDUO_SKEY=\"EmulatorAuthApiSecretNotForProduction000\"\nexport DUO_API_HOST=127.0.0.1:9999\n",
            ),
        );
        let settings = Settings::load(dir.path(), |_| None).expect("settings");
        assert_eq!(settings.host(), Some("127.0.0.1:9999"));
        let client = settings.client().expect("a client");
        assert_eq!(
            client.integration_key().as_str(),
            "DIEMULATORAUTHAPI001",
            "top-level [vars] only"
        );
        let from_env = Settings::load(dir.path(), |name| {
            (name == "DUO_API_HOST").then(|| "api-deadbeef.duosecurity.com".to_owned())
        })
        .expect("settings");
        assert_eq!(from_env.host(), Some("api-deadbeef.duosecurity.com"));
        assert!(
            !format!("{from_env:?}").contains("EmulatorAuthApiSecret"),
            "Debug redacts DUO_SKEY"
        );
    }

    #[test]
    fn missing_and_invalid_settings_are_named_with_their_source() {
        let dir = dir_with(WRANGLER, None);
        let missing = Settings::load(dir.path(), |_| None).expect("settings").client();
        let message = missing.expect_err("no DUO_SKEY");
        assert!(
            message.starts_with("DUO_SKEY is not set") && message.contains("wrangler secret put"),
            "{message}"
        );
        let short = Settings::load(dir.path(), |name| (name == "DUO_SKEY").then(|| "short".into()))
            .expect("settings")
            .client()
            .expect_err("a short DUO_SKEY");
        assert!(short.contains("DUO_SKEY") && short.contains("from the environment"), "{short}");
        assert!(!short.contains("short\""), "the value is not echoed: {short}");
        let broken = dir_with("[vars\n", None);
        assert!(
            Settings::load(broken.path(), |_| None)
                .expect_err("bad TOML")
                .contains("wrangler.toml")
        );
    }
}
