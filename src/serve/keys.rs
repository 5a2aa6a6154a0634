//! The keys of `watchfloor serve`: the server's host key (loaded, or generated on first start)
//! and the users' public keys (from `[[serve.users]]` `keys` and `authorized_keys` files) as one
//! lookup from a key to who holds it.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::keys::ssh_key::authorized_keys::Entry;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::ssh_key::{LineEnding, private::Ed25519Keypair};
use russh::keys::{PrivateKey, PublicKey};

use crate::config::ssh_keys::{fingerprint, parse_key_line};
use crate::config::{KeyPath, ServeConfig, ServeRole};

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The `[[serve.users]]` name.
    pub name: String,
    pub role: ServeRole,
    /// The key's `SHA256:` fingerprint.
    pub fingerprint: String,
}

/// Every listed key, and whose it is. The SSH user name a client sends plays no part.
#[derive(Debug, Clone, Default)]
pub struct UserKeys {
    by_key: HashMap<KeyData, Arc<Identity>>,
}

/// A problem with the users' keys, blamed on a config key. `fatal` ones stop `serve` (and are
/// warnings in `check-config`, since they depend on files outside the config).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyProblem {
    pub key: KeyPath,
    pub message: String,
    pub fatal: bool,
}

impl UserKeys {
    /// The users' keys: inline lines (already checked by the config's rules) and
    /// `authorized_keys` files, with what is wrong with them.
    pub fn load(serve: &ServeConfig) -> (Self, Vec<KeyProblem>) {
        let mut keys = Self::default();
        let mut problems = Vec::new();
        let mut owner_of: HashMap<KeyData, usize> = HashMap::new();
        for (j, user) in serve.users.iter().enumerate() {
            let user_key = KeyPath::root().key("serve").key("users").index(j);
            let mut found: Vec<(PublicKey, KeyPath, String)> = Vec::new();
            for (k, line) in user.keys.iter().enumerate() {
                let line_key = user_key.clone().key("keys").index(k);
                match parse_key_line(line) {
                    Ok(key) => found.push((key, line_key, format!("key {k}"))),
                    Err(why) => problems.push(KeyProblem {
                        key: line_key,
                        message: format!("not an OpenSSH public key line: {why}"),
                        fatal: true,
                    }),
                }
            }
            if let Some(path) = &user.authorized_keys {
                let file_key = user_key.clone().key("authorized_keys");
                match read_authorized_keys(path) {
                    Ok(entries) => {
                        if entries.is_empty() {
                            problems.push(KeyProblem {
                                key: file_key.clone(),
                                message: format!("{} lists no key", path.display()),
                                fatal: false,
                            });
                        }
                        for (line, key) in entries {
                            found.push((
                                key,
                                file_key.clone(),
                                format!("{}:{line}", path.display()),
                            ));
                        }
                    }
                    Err(why) => problems.push(KeyProblem {
                        key: file_key,
                        message: why,
                        fatal: true,
                    }),
                }
            }
            if found.is_empty() {
                problems.push(KeyProblem {
                    key: user_key.clone(),
                    message: format!(
                        "user {:?} has no usable key: nobody can log in as them",
                        user.name
                    ),
                    fatal: false,
                });
            }
            for (key, blame, place) in found {
                let data = key.key_data().clone();
                match owner_of.get(&data) {
                    Some(owner) if *owner != j => problems.push(KeyProblem {
                        key: blame,
                        message: format!(
                            "the key {} ({place}) is also listed for user {:?}: a key must name one user",
                            fingerprint(&key),
                            serve.users[*owner].name
                        ),
                        fatal: true,
                    }),
                    Some(_) => {}
                    None => {
                        owner_of.insert(data.clone(), j);
                        keys.by_key.insert(
                            data,
                            Arc::new(Identity {
                                name: user.name.trim().to_string(),
                                role: user.role,
                                fingerprint: fingerprint(&key),
                            }),
                        );
                    }
                }
            }
        }
        (keys, problems)
    }

    /// Whose key this is, if anyone's.
    pub fn identify(&self, key: &PublicKey) -> Option<Arc<Identity>> {
        self.by_key.get(key.key_data()).cloned()
    }

    /// How many keys are listed.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The keys of an OpenSSH `authorized_keys` file with their line numbers; options (`from=`,
/// `command=`, …) are ignored. Err names the file and the first line that does not parse.
pub fn read_authorized_keys(path: &Path) -> Result<Vec<(usize, PublicKey)>, String> {
    let text = fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let key = authorized_key(trimmed).map_err(|error| {
            format!(
                "{}:{}: not an authorized_keys line: {error}",
                path.display(),
                index + 1
            )
        })?;
        keys.push((index + 1, key));
    }
    Ok(keys)
}

/// The key of one `authorized_keys` line: `[options] algorithm base64 [comment]`. ssh-key's own
/// parser takes a line with options but no comment for a key with a comment, so when it fails,
/// the key is looked for after each space (options may quote spaces).
fn authorized_key(line: &str) -> Result<PublicKey, String> {
    let error = match line.parse::<Entry>() {
        Ok(entry) => return Ok(entry.public_key().clone()),
        Err(error) => error.to_string(),
    };
    line.match_indices(char::is_whitespace)
        .find_map(|(at, _)| PublicKey::from_openssh(line[at..].trim_start()).ok())
        .ok_or(error)
}

/// The server's host key and where it came from.
#[derive(Debug)]
pub struct HostKey {
    pub key: PrivateKey,
    pub path: PathBuf,
    /// Made now: the file did not exist.
    pub generated: bool,
}

impl HostKey {
    /// `SHA256:…` of its public half, as clients show it on first connection.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.key.public_key())
    }
}

/// `[serve] host_key`, else `$XDG_STATE_HOME/watchfloor/ssh_host_ed25519_key` (beside the log).
pub fn host_key_path(serve: &ServeConfig) -> Option<PathBuf> {
    serve.host_key.clone().or_else(|| {
        crate::logging::log_path().map(|log| log.with_file_name("ssh_host_ed25519_key"))
    })
}

/// Loads the host key at `path`, or generates an ed25519 one there when the file does not exist
/// (parent directories made 0700, the file 0600). A key file that anyone but its owner may read
/// or write is refused: it would let them impersonate the server.
pub fn load_or_generate_host_key(path: &Path) -> Result<HostKey, String> {
    match fs::metadata(path) {
        Ok(metadata) => {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "host key {} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
                    path.display(),
                    path.display()
                ));
            }
            let text = fs::read_to_string(path)
                .map_err(|error| format!("cannot read host key {}: {error}", path.display()))?;
            let key = PrivateKey::from_openssh(&text).map_err(|error| {
                format!(
                    "host key {} is not an OpenSSH private key: {error}",
                    path.display()
                )
            })?;
            if key.is_encrypted() {
                return Err(format!(
                    "host key {} is encrypted; the server needs it without a passphrase",
                    path.display()
                ));
            }
            Ok(HostKey {
                key,
                path: path.to_path_buf(),
                generated: false,
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => generate(path),
        Err(error) => Err(format!("cannot read host key {}: {error}", path.display())),
    }
}

fn generate(path: &Path) -> Result<HostKey, String> {
    let key = write_new_key(path, "host key")?;
    Ok(HostKey {
        key,
        path: path.to_path_buf(),
        generated: true,
    })
}

/// A new ed25519 key pair for a user (the demo's operator and observer): the private key at
/// `path` (0600, OpenSSH format, never overwriting), the public one at `path.pub`. Returns the
/// public key line.
pub fn generate_user_key(path: &Path, comment: &str) -> Result<String, String> {
    let mut key = write_new_key(path, "key")?;
    key.set_comment(comment);
    let line = key
        .public_key()
        .to_openssh()
        .map_err(|error| format!("cannot encode the public key: {error}"))?;
    let public = path.with_extension("pub");
    fs::write(&public, format!("{line}\n"))
        .map_err(|error| format!("cannot write {}: {error}", public.display()))?;
    Ok(line)
}

/// A new ed25519 private key written to `path` with mode 0600 (its directory 0700).
fn write_new_key(path: &Path, what: &str) -> Result<PrivateKey, String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    let mut seed = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut seed)
        .map_err(|_| format!("cannot get random bytes for a {what}"))?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|error| format!("cannot encode the {what}: {error}"))?;
    // create_new: never overwrite a key another process wrote meanwhile.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| format!("cannot create {what} {}: {error}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("cannot write {what} {}: {error}", path.display()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyDoX9gnOdULKtZwjseqdiU3+tFrnw0+UxVioVt5Fef alice@test";
    const ALICE_FINGERPRINT: &str = "SHA256:UHjffyL3Rmh4EYKw8F0zqsyR3o6t71MFnV4Y08TeL3I";

    fn other_key() -> PublicKey {
        let key = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
        key.public_key().clone()
    }

    fn serve(users: &str) -> ServeConfig {
        let text = format!("[[targets]]\nname = \"t\"\n[serve]\n{users}");
        crate::config::parse(Path::new("w.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}"))
            .serve
            .unwrap()
    }

    #[test]
    fn a_generated_host_key_is_0600_in_a_0700_directory_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/watchfloor/ssh_host_ed25519_key");
        let first = load_or_generate_host_key(&path).unwrap();
        assert!(first.generated);
        assert!(first.fingerprint().starts_with("SHA256:"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        let again = load_or_generate_host_key(&path).unwrap();
        assert!(!again.generated);
        assert_eq!(again.fingerprint(), first.fingerprint());
    }

    #[test]
    fn a_host_key_readable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        load_or_generate_host_key(&path).unwrap();
        for mode in [0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = load_or_generate_host_key(&path).unwrap_err();
            assert!(error.contains(&path.display().to_string()), "{error}");
            assert!(error.contains("chmod 600"), "{error}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        load_or_generate_host_key(&path).unwrap();
    }

    #[test]
    fn a_host_key_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "not a key\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let error = load_or_generate_host_key(&path).unwrap_err();
        assert!(error.contains("not an OpenSSH private key"), "{error}");
    }

    #[test]
    fn inline_keys_and_authorized_keys_files_identify_their_user() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authorized_keys");
        let bob = other_key();
        let second = PrivateKey::from(Ed25519Keypair::from_seed(&[8; 32]))
            .public_key()
            .clone();
        fs::write(
            &file,
            format!(
                "# bob's keys\n\nrestrict,pty {}\nfrom=\"10.0.0.1\",command=\"echo a b\" {} bob at work\n",
                bob.to_openssh().unwrap(),
                second.to_openssh().unwrap()
            ),
        )
        .unwrap();
        let config = serve(&format!(
            "[[serve.users]]\nname = \"alice\"\nrole = \"operator\"\nkeys = [{ALICE:?}]\n\
             [[serve.users]]\nname = \"bob\"\nauthorized_keys = {:?}\n",
            file.display().to_string()
        ));
        let (keys, problems) = UserKeys::load(&config);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.identify(&second).unwrap().name, "bob");
        let alice = keys.identify(&parse_key_line(ALICE).unwrap()).unwrap();
        assert_eq!(
            *alice,
            Identity {
                name: "alice".into(),
                role: ServeRole::Operator,
                fingerprint: ALICE_FINGERPRINT.into()
            }
        );
        let found = keys.identify(&bob).unwrap();
        assert_eq!(
            (found.name.as_str(), found.role),
            ("bob", ServeRole::Observer)
        );
        let stranger = PrivateKey::from(Ed25519Keypair::from_seed(&[9; 32]));
        assert!(keys.identify(stranger.public_key()).is_none());
    }

    #[test]
    fn unreadable_or_unparsable_files_and_shared_keys_are_fatal_an_empty_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let broken = dir.path().join("broken");
        fs::write(&broken, "# fine\nssh-ed25519 !!!\n").unwrap();
        let empty = dir.path().join("empty");
        fs::write(&empty, "# nobody yet\n").unwrap();
        let shared = dir.path().join("shared");
        fs::write(&shared, format!("{ALICE}\n")).unwrap();
        let config = serve(&format!(
            "[[serve.users]]\nname = \"alice\"\nkeys = [{ALICE:?}]\n\
             [[serve.users]]\nname = \"m\"\nauthorized_keys = {missing:?}\n\
             [[serve.users]]\nname = \"b\"\nauthorized_keys = {broken:?}\n\
             [[serve.users]]\nname = \"e\"\nauthorized_keys = {empty:?}\n\
             [[serve.users]]\nname = \"s\"\nauthorized_keys = {shared:?}\n"
        ));
        let (keys, problems) = UserKeys::load(&config);
        assert_eq!(keys.len(), 1);
        let shown: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}: {}", p.fatal, p.key, p.message))
            .collect();
        let has = |needle: &str| {
            assert!(
                shown.iter().any(|s| s.contains(needle)),
                "{needle} missing from {shown:#?}"
            )
        };
        has("true serve.users[1].authorized_keys: cannot read");
        has(&format!(
            "true serve.users[2].authorized_keys: {}:2: not an authorized_keys line",
            broken.display()
        ));
        has("false serve.users[3].authorized_keys:");
        has("lists no key");
        has("false serve.users[3]: user \"e\" has no usable key");
        has(&format!(
            "true serve.users[4].authorized_keys: the key {ALICE_FINGERPRINT} ({}:1) is also listed for user \"alice\"",
            shared.display()
        ));
    }
}
