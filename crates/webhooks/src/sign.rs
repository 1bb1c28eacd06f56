//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is
//! `whsec_` and the base64 of its key; a signature is `v1,` and the base64 of
//! HMAC-SHA256(key, `{id}.{timestamp}.{body}`); several (a rotation's old and new secret)
//! are separated by spaces.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A secret that is not `whsec_` and base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError;

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself: it would end up in a log.
        f.write_str("a webhook secret must be whsec_ followed by base64")
    }
}

impl std::error::Error for SecretError {}

/// A secret whose key is `key` (24 to 64 random bytes: see [`RandomSecrets`]).
#[must_use]
pub fn generate_secret(key: &[u8]) -> String {
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// New secrets of 32 bytes from the operating system's random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSecrets;

impl todo_application::ports::SecretGenerator for RandomSecrets {
    fn new_secret(&self) -> String {
        let mut key = [0u8; 32];
        // The OS source failing leaves nothing safe to sign with: no webhook is made.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        generate_secret(&key)
    }
}

/// The `webhook-signature` header's value for `body` sent as event `id` at `timestamp`,
/// one signature per secret.
///
/// # Errors
/// When a secret is malformed (none is signed with then).
pub fn sign(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = secret
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|key| !key.is_empty())
            .ok_or(SecretError)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SecretError)?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification, as its reference libraries
    /// verify it.
    #[test]
    fn signs_the_specifications_example_alike() {
        let secret = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()];
        let got = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_and_a_change_breaks_the_signature() {
        let old = generate_secret(&[7; 32]);
        let new = generate_secret(&[9; 32]);
        let both = sign(&[new.clone(), old.clone()], "e1", 10, b"{}").unwrap();
        let [first, second] = both.split(' ').collect::<Vec<_>>()[..] else {
            panic!("two signatures expected: {both}");
        };
        assert_eq!(
            first,
            sign(std::slice::from_ref(&new), "e1", 10, b"{}").unwrap()
        );
        assert_eq!(second, sign(&[old], "e1", 10, b"{}").unwrap());
        // Each part is signed: id, timestamp, body.
        for other in [
            sign(std::slice::from_ref(&new), "e2", 10, b"{}"),
            sign(std::slice::from_ref(&new), "e1", 11, b"{}"),
            sign(std::slice::from_ref(&new), "e1", 10, b"{ }"),
        ] {
            assert_ne!(other.unwrap(), first);
        }
    }

    #[test]
    fn a_malformed_secret_signs_nothing_and_is_not_repeated() {
        for bad in [
            "",
            "whsec_",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!!",
        ] {
            // The message is fixed: it never carries (part of) the secret.
            let err = sign(&[bad.to_owned()], "e", 1, b"").unwrap_err();
            assert_eq!(
                err.to_string(),
                "a webhook secret must be whsec_ followed by base64"
            );
        }
        assert!(generate_secret(&[1, 2, 3]).starts_with("whsec_"));
    }

    #[test]
    fn random_secrets_are_32_byte_keys_and_differ() {
        use todo_application::ports::SecretGenerator;
        let (a, b) = (RandomSecrets.new_secret(), RandomSecrets.new_secret());
        assert_ne!(a, b);
        let key = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        assert!(sign(&[a], "e", 1, b"").is_ok());
    }
}
