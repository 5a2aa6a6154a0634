//! OpenSSH public keys as `[serve]` lists them: one key line (`ssh-ed25519 AAAA… comment`)
//! parsed by the SSH server's own key library, and its `SHA256:` fingerprint as `ssh-keygen -l`
//! prints it.

use russh::keys::{HashAlg, PublicKey};

/// One OpenSSH public key line: algorithm, base64 key, optional comment.
pub fn parse_key_line(line: &str) -> Result<PublicKey, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("the line is empty".to_string());
    }
    PublicKey::from_openssh(line).map_err(|error| error.to_string())
}

/// `SHA256:…`, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// For the config's checks: a key line's identity (its fingerprint; the comment does not count).
pub fn check_key_line(line: &str) -> Result<String, String> {
    parse_key_line(line).map(|key| fingerprint(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ssh-keygen -t ed25519`; its fingerprint from `ssh-keygen -lf`.
    const LINE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyDoX9gnOdULKtZwjseqdiU3+tFrnw0+UxVioVt5Fef alice@test";
    const FINGERPRINT: &str = "SHA256:UHjffyL3Rmh4EYKw8F0zqsyR3o6t71MFnV4Y08TeL3I";

    #[test]
    fn a_key_line_parses_and_its_comment_does_not_change_its_identity() {
        let key = parse_key_line(LINE).unwrap();
        assert_eq!(fingerprint(&key), FINGERPRINT);
        let without_comment = LINE.rsplit_once(' ').unwrap().0;
        assert_eq!(
            check_key_line(LINE).unwrap(),
            check_key_line(without_comment).unwrap()
        );
        assert!(check_key_line("").is_err());
        assert!(check_key_line("ssh-ed25519 notbase64!").is_err());
        assert!(check_key_line("AAAAC3NzaC1lZDI1NTE5").is_err());
    }
}
