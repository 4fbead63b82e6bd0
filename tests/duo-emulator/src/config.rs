//! Configuration: apps (Duo "Web SDK" applications) and users, from a TOML file, CLI flags or the
//! built-in development defaults (which match the product's `wrangler.toml` and `.dev.vars`).

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Client id of the built-in development app (20 characters, like a real Duo client id).
pub const DEV_CLIENT_ID: &str = "DIEMULATORDEVCLIENT1";
/// Client secret of the built-in development app (40 characters). Not a secret: it is public,
/// and only ever accepted by the emulator.
pub const DEV_CLIENT_SECRET: &str = "EmulatorDevSecretNotForProduction0000000";
/// Default listen address (the product's `DUO_API_HOST` in development is `127.0.0.1:8788`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8788";

/// Everything the emulator is configured with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve https with a freshly generated local CA instead of plain http.
    pub tls: bool,
    /// Where to write the generated CA certificate (PEM) in TLS mode.
    pub ca_cert_path: Option<PathBuf>,
    /// Host (and port) used to build and check URLs (`aud`, `iss`); default: the request's `Host`.
    pub public_host: Option<String>,
    /// Lifetime of an authorization code, in seconds.
    pub code_ttl_seconds: u64,
    /// Leeway on a client assertion's `exp` (seconds). Duo's is undocumented; default 0.
    pub exp_leeway_seconds: i64,
    /// Longest redirect URI accepted (Duo documents 1024).
    pub redirect_uri_max_length: usize,
    /// Emulator leniency: accept `http://127.0.0.1:…`/`http://[::1]:…` redirect URIs. Real Duo
    /// refuses IP hosts, so this is off by default.
    pub allow_loopback_ip_redirect: bool,
    /// HTTP status of a health-check `FAIL` body (Duo answers 200).
    pub health_fail_status: u16,
    /// Duo applications.
    pub apps: Vec<AppConfig>,
    /// Duo users.
    pub users: Vec<UserConfig>,
    /// Auth API applications (`/auth/v2/*`).
    pub auth_api_apps: Vec<AuthApiApp>,
    /// Seconds an Auth API push or phone call waits for the tester before it
    /// times out (Duo: 60).
    pub auth_timeout_seconds: i64,
    /// Consecutive wrong Auth API passcodes that lock a user out (Duo's
    /// default: 10; 0 never locks).
    pub lockout_after_failures: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8788)),
            tls: false,
            ca_cert_path: None,
            public_host: None,
            code_ttl_seconds: 60,
            exp_leeway_seconds: 0,
            redirect_uri_max_length: 1024,
            allow_loopback_ip_redirect: false,
            health_fail_status: 200,
            apps: vec![AppConfig::dev()],
            users: dev_users(),
            auth_api_apps: vec![AuthApiApp::dev()],
            auth_timeout_seconds: 60,
            lockout_after_failures: 10,
        }
    }
}

/// What Duo does with a user who has not enrolled a device (the app's "New User Policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NewUserPolicy {
    /// Show the self-enrollment flow.
    #[default]
    RequireEnrollment,
    /// Let the user in without a second factor.
    Allow,
    /// Refuse the user.
    Deny,
}

/// A Duo application (integration).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Client id (integration key), 20 characters.
    pub client_id: String,
    /// Client secret, 40 characters; the HMAC key.
    pub client_secret: String,
    /// Name shown on the prompt and in `auth_context.application.name`.
    #[serde(default = "default_app_name")]
    pub name: String,
    /// New-user policy.
    #[serde(default)]
    pub new_user_policy: NewUserPolicy,
    /// `false` simulates an application without Universal Prompt (frameless) access: the health
    /// check fails with "Integration type does not support frameless access" and the token
    /// endpoint answers 401 "Customer does not have frameless access enabled.".
    #[serde(default = "yes")]
    pub frameless: bool,
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("name", &self.name)
            .field("new_user_policy", &self.new_user_policy)
            .field("frameless", &self.frameless)
            .finish()
    }
}

impl AppConfig {
    /// The built-in development app.
    pub fn dev() -> Self {
        Self {
            client_id: DEV_CLIENT_ID.into(),
            client_secret: DEV_CLIENT_SECRET.into(),
            name: default_app_name(),
            new_user_policy: NewUserPolicy::RequireEnrollment,
            frameless: true,
        }
    }
}

fn default_app_name() -> String {
    "Duo Emulator Dev App".into()
}

fn yes() -> bool {
    true
}

/// A user's status in Duo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Normal: must complete two-factor authentication.
    #[default]
    Active,
    /// Duo lets the user in without a prompt.
    Bypass,
    /// Locked out (e.g. too many failed attempts): Duo denies.
    LockedOut,
    /// Disabled by an administrator: Duo denies.
    Disabled,
}

/// What a device can do, with Duo's capability names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Duo Push (Duo Mobile).
    Push,
    /// Phone call.
    Phone,
    /// SMS passcodes.
    Sms,
    /// Duo Mobile passcodes.
    MobileOtp,
}

/// An enrolled device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Display name, e.g. `iPhone`.
    pub name: String,
    /// Platform, e.g. `iOS`, `Android`, `Landline`.
    #[serde(default = "default_platform")]
    pub platform: String,
    /// Phone number, e.g. `+1 555-0100` (fictional numbers, please).
    #[serde(default)]
    pub number: Option<String>,
    /// Capabilities.
    #[serde(default = "default_capabilities")]
    pub capabilities: Vec<Capability>,
}

fn default_platform() -> String {
    "iOS".into()
}

fn default_capabilities() -> Vec<Capability> {
    vec![Capability::Push, Capability::Phone, Capability::Sms, Capability::MobileOtp]
}

/// A Duo user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Primary username (the `sub` of the `id_token`).
    pub username: String,
    /// Other usernames that log in as this user.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Status.
    #[serde(default)]
    pub status: UserStatus,
    /// Enrolled devices; none means "not enrolled".
    #[serde(default)]
    pub devices: Vec<DeviceConfig>,
    /// Passcodes accepted on the prompt (reusable, unlike real ones).
    #[serde(default)]
    pub passcodes: Vec<String>,
    /// E-mail (`auth_context.email`).
    #[serde(default)]
    pub email: String,
    /// Groups (`auth_context.user.groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The user's policy requires Verified Duo Push, with codes of this
    /// many digits (3 to 6; Duo's default is 3): for Auth API clients that
    /// say they support it, `preauth` answers a `txid` the push must carry,
    /// and approving on the phone page takes the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_push: Option<u8>,
}

impl UserConfig {
    /// A user with no devices and default fields.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            aliases: Vec::new(),
            status: UserStatus::Active,
            devices: Vec::new(),
            passcodes: Vec::new(),
            email: String::new(),
            groups: Vec::new(),
            verified_push: None,
        }
    }

    /// Whether `name` is this user's username or one of its aliases (case-insensitive, as Duo's
    /// username normalization is).
    pub fn answers_to(&self, name: &str) -> bool {
        self.username.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// The development users: `alice` (enrolled), `bob` (not enrolled), `carol` (locked out), `dave`
/// (bypass), `dana` (enrolled; the product's demo admin).
pub fn dev_users() -> Vec<UserConfig> {
    let iphone = DeviceConfig {
        name: "iPhone".into(),
        platform: "iOS".into(),
        number: Some("+1 555-0100".into()),
        capabilities: default_capabilities(),
    };
    let desk = DeviceConfig {
        name: "Office phone".into(),
        platform: "Landline".into(),
        number: Some("+1 555-0142".into()),
        capabilities: vec![Capability::Phone],
    };
    vec![
        UserConfig {
            aliases: vec!["alice@example.com".into()],
            devices: vec![iphone.clone(), desk],
            passcodes: vec!["123456".into(), "654321".into()],
            email: "alice@example.com".into(),
            groups: vec!["Staff".into()],
            ..UserConfig::new("alice")
        },
        UserConfig { email: "bob@example.com".into(), ..UserConfig::new("bob") },
        UserConfig {
            status: UserStatus::LockedOut,
            devices: vec![DeviceConfig { number: Some("+1 555-0103".into()), ..iphone.clone() }],
            email: "carol@example.com".into(),
            ..UserConfig::new("carol")
        },
        UserConfig {
            status: UserStatus::Bypass,
            devices: vec![DeviceConfig { number: Some("+1 555-0104".into()), ..iphone.clone() }],
            email: "dave@example.com".into(),
            ..UserConfig::new("dave")
        },
        UserConfig {
            devices: vec![DeviceConfig { number: Some("+1 555-0105".into()), ..iphone }],
            passcodes: vec!["246810".into()],
            email: "dana@example.com".into(),
            groups: vec!["Admins".into()],
            ..UserConfig::new("dana")
        },
    ]
}

/// A configuration problem, reported at startup.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML for this schema.
    Parse(PathBuf, String),
    /// A value breaks a rule (message says which).
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            Self::Parse(path, e) => write!(f, "invalid config {}: {e}", path.display()),
            Self::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads a TOML file; omitted settings keep their defaults (omitting `apps` or `users` keeps
    /// the development ones).
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or parsed, or fails [`Config::validate`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse(_, msg) => ConfigError::Parse(path.into(), msg),
            other => other,
        })
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] or [`ConfigError::Invalid`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self =
            toml::from_str(text).map_err(|e| ConfigError::Parse(PathBuf::new(), e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks lengths and uniqueness the way Duo would have guaranteed them.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the offending entry.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut ids = BTreeSet::new();
        for app in &self.apps {
            app.validate()?;
            if !ids.insert(app.client_id.as_str()) {
                return Err(ConfigError::Invalid(format!("duplicate client_id {}", app.client_id)));
            }
        }
        let mut ikeys = BTreeSet::new();
        for app in &self.auth_api_apps {
            if app.ikey.chars().count() != 20 || !app.ikey.is_ascii() {
                return Err(ConfigError::Invalid(format!(
                    "Auth API ikey {} must be 20 ASCII characters",
                    app.ikey
                )));
            }
            if app.skey.chars().count() != 40 || !app.skey.is_ascii() {
                return Err(ConfigError::Invalid(format!(
                    "the skey of Auth API application {} must be 40 ASCII characters",
                    app.ikey
                )));
            }
            if !ikeys.insert(app.ikey.as_str()) {
                return Err(ConfigError::Invalid(format!("duplicate Auth API ikey {}", app.ikey)));
            }
        }
        if !(1..=3600).contains(&self.auth_timeout_seconds) {
            return Err(ConfigError::Invalid(format!(
                "auth_timeout_seconds must be 1 to 3600, not {}",
                self.auth_timeout_seconds
            )));
        }
        let mut names = BTreeSet::new();
        for user in &self.users {
            user.validate()?;
            for name in std::iter::once(&user.username).chain(&user.aliases) {
                if !names.insert(name.to_ascii_lowercase()) {
                    return Err(ConfigError::Invalid(format!(
                        "duplicate username or alias {name}"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl AppConfig {
    /// Duo client ids are 20 characters and secrets 40; every SDK refuses anything else.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.client_id.chars().count() != 20 || !self.client_id.is_ascii() {
            return Err(ConfigError::Invalid(format!(
                "client_id {} must be 20 ASCII characters",
                self.client_id
            )));
        }
        if self.client_secret.chars().count() != 40 || !self.client_secret.is_ascii() {
            return Err(ConfigError::Invalid(format!(
                "the client_secret of {} must be 40 ASCII characters",
                self.client_id
            )));
        }
        Ok(())
    }
}

impl UserConfig {
    /// # Errors
    /// [`ConfigError::Invalid`] for an empty username.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.username.trim().is_empty() {
            return Err(ConfigError::Invalid("a user has an empty username".into()));
        }
        if self.verified_push.is_some_and(|digits| !(3..=6).contains(&digits)) {
            return Err(ConfigError::Invalid(format!(
                "verified_push of {} must be 3 to 6 digits",
                self.username
            )));
        }
        Ok(())
    }
}

/// An Auth API application (integration key and secret key).
#[derive(Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthApiApp {
    /// Integration key, 20 characters.
    pub ikey: String,
    /// Secret key, 40 characters; the HMAC key.
    pub skey: String,
    /// What the user does not enrolled gets from `preauth`.
    #[serde(default)]
    pub new_user_policy: NewUserPolicy,
}

impl std::fmt::Debug for AuthApiApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthApiApp")
            .field("ikey", &self.ikey)
            .field("skey", &"[redacted]")
            .field("new_user_policy", &self.new_user_policy)
            .finish()
    }
}

/// The built-in development Auth API application's integration key.
pub const DEV_IKEY: &str = "DIEMULATORAUTHAPI001";
/// Its secret key (not a secret: the emulator is not Duo).
pub const DEV_SKEY: &str = "EmulatorAuthApiSecretNotForProduction000";

impl AuthApiApp {
    /// The built-in development application.
    pub fn dev() -> Self {
        Self {
            ikey: DEV_IKEY.into(),
            skey: DEV_SKEY.into(),
            new_user_policy: NewUserPolicy::RequireEnrollment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_dev_setup() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(DEV_CLIENT_ID.len(), 20);
        assert_eq!(DEV_CLIENT_SECRET.len(), 40);
        assert!(config.validate().is_ok());
        let names: Vec<_> = config.users.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave", "dana"]);
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../duo-emulator.example.toml");
        let config = Config::from_toml(text).unwrap();
        assert_eq!(config.apps.len(), 2);
        assert!(config.users.iter().any(|u| u.answers_to("ALICE@example.com")));
    }

    #[test]
    fn rejects_bad_lengths_and_duplicates() {
        let short = "[[apps]]\nclient_id = \"DISHORT\"\nclient_secret = \"x\"\n";
        assert!(matches!(Config::from_toml(short), Err(ConfigError::Invalid(_))));
        let dup = "[[users]]\nusername = \"a\"\n[[users]]\nusername = \"b\"\naliases = [\"A\"]\n";
        assert!(matches!(Config::from_toml(dup), Err(ConfigError::Invalid(_))));
        assert!(matches!(Config::from_toml("nonsense = 1"), Err(ConfigError::Parse(..))));
        let short_skey = "[[auth_api_apps]]\nikey = \"DIAUTHAPI00000000001\"\nskey = \"x\"\n";
        assert!(matches!(Config::from_toml(short_skey), Err(ConfigError::Invalid(_))));
        assert!(matches!(
            Config::from_toml("auth_timeout_seconds = 0"),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn app_debug_redacts_the_secret() {
        let text = format!("{:?}", AppConfig::dev());
        assert!(!text.contains(DEV_CLIENT_SECRET));
        assert!(text.contains("[redacted]"));
    }
}
