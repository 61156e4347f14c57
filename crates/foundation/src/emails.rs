//! The transactional emails Foundation sends, rendered from the editable email templates
//! (`kernel::templates`: shipped defaults, overridden by administrators) and queued in the
//! caller's transaction. Links are built from the configured public URL and lead to the
//! web console's screens (`/console/activate`, `/console/reset-password`, ...).

use kernel::{Result, Tx};
use serde_json::json;

/// A console screen's address under the public URL.
fn console_url(base: &str, path: &str) -> String {
    format!("{}/console/{}", base.trim_end_matches('/'), path)
}

fn link(base: &str, path: &str, token: &str) -> String {
    format!("{}?token={}", console_url(base, path), token)
}

async fn send(tx: &mut Tx, key: &str, to: &str, vars: serde_json::Value) -> Result<()> {
    let email = kernel::templates::render_email(tx, key, to, &vars).await?;
    kernel::mail::enqueue(tx, &email).await
}

pub async fn activation(tx: &mut Tx, public_url: &str, to: &str, first_name: &str, token: &str) -> Result<()> {
    let url = link(public_url, "activate", token);
    send(tx, "activation", to, json!({"first_name": first_name, "url": url, "token": token})).await
}

pub async fn already_registered(tx: &mut Tx, public_url: &str, to: &str) -> Result<()> {
    let url = console_url(public_url, "forgot-password");
    send(tx, "already_registered", to, json!({"url": url})).await
}

pub async fn password_reset(tx: &mut Tx, public_url: &str, to: &str, first_name: &str, token: &str) -> Result<()> {
    let url = link(public_url, "reset-password", token);
    send(tx, "password_reset", to, json!({"first_name": first_name, "url": url, "token": token})).await
}

pub async fn email_change(tx: &mut Tx, public_url: &str, to: &str, first_name: &str, token: &str) -> Result<()> {
    let url = link(public_url, "confirm-email", token);
    send(tx, "email_change", to, json!({"first_name": first_name, "url": url, "token": token, "email": to})).await
}

/// The old address is told that the account moved (someone else may have done it).
pub async fn email_changed(tx: &mut Tx, public_url: &str, to: &str, new_email: &str) -> Result<()> {
    let url = console_url(public_url, "forgot-password");
    send(tx, "email_changed", to, json!({"email": new_email, "url": url})).await
}

pub async fn invitation(
    tx: &mut Tx,
    public_url: &str,
    to: &str,
    org_name: &str,
    inviter: &str,
    role: &str,
    token: &str,
) -> Result<()> {
    let url = link(public_url, "invitations/accept", token);
    send(
        tx,
        "invite",
        to,
        json!({"organization": org_name, "inviter": inviter, "role": role, "url": url, "token": token}),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_lead_to_the_console() {
        assert_eq!(link("https://x.test/", "activate", "t1"), "https://x.test/console/activate?token=t1");
        assert_eq!(
            link("https://x.test", "invitations/accept", "t2"),
            "https://x.test/console/invitations/accept?token=t2"
        );
        assert_eq!(console_url("https://x.test", "forgot-password"), "https://x.test/console/forgot-password");
    }
}
