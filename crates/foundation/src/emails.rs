//! The transactional emails Foundation sends: HTML and plain text, links built from the
//! configured public URL. (Automation will make these templates editable.)

use kernel::mail::{OutgoingEmail, html_layout};

fn link(base: &str, path: &str, token: &str) -> String {
    format!("{}/{}?token={}", base.trim_end_matches('/'), path, token)
}

pub fn activation(public_url: &str, to: &str, first_name: &str, token: &str) -> OutgoingEmail {
    let url = link(public_url, "activate", token);
    let intro = format!("Hello {first_name}, welcome to Socle.");
    let ask = "Confirm your email address to activate your account. The link is valid for 48 hours and works once.";
    OutgoingEmail {
        to: to.to_string(),
        subject: "Activate your Socle account".into(),
        html: html_layout("Activate your account", &[intro.clone(), ask.into()], Some(("Activate my account", &url))),
        text: format!("{intro}\n\n{ask}\n\n{url}\n\nActivation token: {token}\n"),
    }
}

pub fn already_registered(public_url: &str, to: &str) -> OutgoingEmail {
    let url = format!("{}/forgot-password", public_url.trim_end_matches('/'));
    let body = "Someone tried to create a Socle account with this address, which already has one. If it was you, sign in or reset your password. If not, you can ignore this email.";
    OutgoingEmail {
        to: to.to_string(),
        subject: "You already have a Socle account".into(),
        html: html_layout("You already have an account", &[body.into()], Some(("Reset my password", &url))),
        text: format!("{body}\n\n{url}\n"),
    }
}

pub fn password_reset(public_url: &str, to: &str, first_name: &str, token: &str) -> OutgoingEmail {
    let url = link(public_url, "reset-password", token);
    let intro = format!("Hello {first_name},");
    let ask = "We received a request to reset your password. The link is valid for one hour and works once. If you did not ask for it, ignore this email: your password stays the same.";
    OutgoingEmail {
        to: to.to_string(),
        subject: "Reset your Socle password".into(),
        html: html_layout("Reset your password", &[intro.clone(), ask.into()], Some(("Choose a new password", &url))),
        text: format!("{intro}\n\n{ask}\n\n{url}\n\nReset token: {token}\n"),
    }
}

pub fn invitation(public_url: &str, to: &str, org_name: &str, inviter: &str, role: &str, token: &str) -> OutgoingEmail {
    let url = link(public_url, "invitations/accept", token);
    let intro = format!("{inviter} invited you to join the organization \"{org_name}\" on Socle as {role}.");
    let ask = "Accept the invitation while signed in, or create an account with this email address. The invitation expires in 7 days.";
    OutgoingEmail {
        to: to.to_string(),
        subject: format!("You are invited to join {org_name} on Socle"),
        html: html_layout("You have been invited", &[intro.clone(), ask.into()], Some(("Accept the invitation", &url))),
        text: format!("{intro}\n\n{ask}\n\n{url}\n\nInvitation token: {token}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_escaping() {
        let mail = activation("http://h:1/", "a@b.co", "<Ada>", "tok");
        assert!(mail.text.contains("http://h:1/activate?token=tok"));
        assert!(mail.html.contains("&lt;Ada&gt;"));
        assert!(!mail.html.contains("<Ada>"));
    }
}
