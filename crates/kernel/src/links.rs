//! Signed links: a URL that works without signing in until it expires (an invoice's PDF in
//! its email, an export's ZIP). The key is derived from the signing secret and a label per
//! kind of link, so a link of one kind never opens another.

use hmac::{Hmac, KeyInit, Mac};

#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
    /// Prefixes what is signed (`invoice-pdf`, `export`).
    scope: &'static str,
}

impl LinkSigner {
    /// `label` derives the key from `secret`; `scope` prefixes each signed id.
    pub fn new(secret: &[u8], label: &str, scope: &'static str) -> anyhow::Result<Self> {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)?;
        mac.update(label.as_bytes());
        Ok(LinkSigner { key: mac.finalize().into_bytes().to_vec(), scope })
    }

    /// The signature of `id` until `expires` (Unix time), hex.
    pub fn signature(&self, id: &str, expires: i64) -> String {
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.key) else { return String::new() };
        mac.update(format!("{}:{id}:{expires}", self.scope).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `expires=…&signature=…` for a link to `id` valid `ttl_secs` from now.
    pub fn query(&self, id: &str, ttl_secs: i64) -> String {
        let expires = crate::time::now().unix_timestamp() + ttl_secs;
        format!("expires={expires}&signature={}", self.signature(id, expires))
    }

    /// Whether a link's `expires` and `signature` are this signer's for `id`, unexpired.
    pub fn valid(&self, id: &str, expires: i64, signature: &str) -> bool {
        expires > crate::time::now().unix_timestamp()
            && crate::ids::constant_time_eq(self.signature(id, expires).as_bytes(), signature.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_only_their_id_their_kind_and_until_they_expire() {
        let invoices = LinkSigner::new(b"secret", "socle invoice links v1", "invoice-pdf").expect("signer");
        let exports = LinkSigner::new(b"secret", "socle export links v1", "export").expect("signer");
        let later = crate::time::now().unix_timestamp() + 60;
        let sig = invoices.signature("a", later);
        assert!(invoices.valid("a", later, &sig));
        assert!(!invoices.valid("b", later, &sig));
        assert!(!exports.valid("a", later, &sig));
        let past = later - 120;
        assert!(!invoices.valid("a", past, &invoices.signature("a", past)));
        assert!(invoices.query("a", 60).contains("&signature="));
    }
}
