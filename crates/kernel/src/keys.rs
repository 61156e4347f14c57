//! The server's keys, loaded once at start (`server::secrets`) and handed to the modules
//! that sign, verify, encrypt or decrypt with them.

/// Signing secrets and the workflow secrets key, each with the earlier ones a rotation keeps
/// accepting.
#[derive(Clone)]
pub struct Keys {
    /// Signs every token (platform access tokens, app tokens, email-flow and file tokens).
    pub jwt: Vec<u8>,
    /// Earlier signing secrets: accepted when verifying, never used to sign.
    pub jwt_previous: Vec<Vec<u8>>,
    /// Encrypts workflow secrets (`automation::workflows::secrets`).
    pub secrets: Vec<u8>,
    /// Earlier secrets keys: accepted when decrypting; values are re-encrypted under `secrets`.
    pub secrets_previous: Vec<Vec<u8>>,
}

impl Keys {
    /// Keys without predecessors.
    pub fn new(jwt: impl Into<Vec<u8>>, secrets: impl Into<Vec<u8>>) -> Self {
        Keys { jwt: jwt.into(), jwt_previous: Vec::new(), secrets: secrets.into(), secrets_previous: Vec::new() }
    }

    /// The current signing secret, then the previous ones.
    pub fn jwt_all(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.jwt.as_slice()).chain(self.jwt_previous.iter().map(Vec::as_slice))
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("jwt_previous", &self.jwt_previous.len())
            .field("secrets_previous", &self.secrets_previous.len())
            .finish_non_exhaustive()
    }
}
