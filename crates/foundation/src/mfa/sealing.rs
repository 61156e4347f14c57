//! TOTP secrets at rest: AES-256-GCM under a key derived from the server's `secrets_key`
//! (and, to open values written before a rotation, from its previous keys). The user id is
//! the associated data, so a sealed secret copied onto another account does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kernel::{Error, Result};

#[derive(Clone)]
pub struct SecretSeal {
    /// The current key first.
    keys: Vec<[u8; 32]>,
}

fn derive(secret: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"socle totp secrets v1");
    let mut key = [0u8; 32];
    key.copy_from_slice(&tag.as_ref()[..32]);
    key
}

fn cipher(key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new).map_err(|_| Error::internal("cannot build the TOTP key"))
}

impl SecretSeal {
    pub fn new(keys: &kernel::Keys) -> Self {
        let all = std::iter::once(&keys.secrets).chain(keys.secrets_previous.iter());
        SecretSeal { keys: all.map(|k| derive(k)).collect() }
    }

    pub fn seal(&self, user_id: &str, plain: &[u8]) -> Result<String> {
        use rand::RngCore;
        let key = self.keys.first().ok_or_else(|| Error::internal("no secrets key"))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = plain.to_vec();
        cipher(key)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(user_id.as_bytes()), &mut data)
            .map_err(|_| Error::internal("cannot seal a TOTP secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, user_id: &str, sealed: &str) -> Result<Vec<u8>> {
        let raw = STANDARD.decode(sealed).map_err(|_| Error::internal("a stored TOTP secret is corrupt"))?;
        if raw.len() < NONCE_LEN {
            return Err(Error::internal("a stored TOTP secret is corrupt"));
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        for key in &self.keys {
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("corrupt nonce"))?;
            let mut data = rest.to_vec();
            if let Ok(plain) = cipher(key)?.open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut data) {
                return Ok(plain.to_vec());
            }
        }
        Err(Error::Unavailable(
            "the TOTP secret cannot be decrypted: it was sealed under a key that is neither secrets_key nor one of \
             secrets_previous_keys"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_for_their_user_and_after_a_rotation() {
        let old = SecretSeal::new(&kernel::Keys::new("jwt", "old key"));
        let sealed = old.seal("u1", b"secret bytes").expect("seal");
        assert_eq!(old.open("u1", &sealed).expect("open"), b"secret bytes");
        assert!(old.open("u2", &sealed).is_err(), "bound to its user");
        let mut rotated = kernel::Keys::new("jwt", "new key");
        rotated.secrets_previous.push(b"old key".to_vec());
        assert_eq!(SecretSeal::new(&rotated).open("u1", &sealed).expect("open"), b"secret bytes");
        assert!(SecretSeal::new(&kernel::Keys::new("jwt", "new key")).open("u1", &sealed).is_err());
    }
}
