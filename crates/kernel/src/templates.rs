//! Email templates: subject, HTML and text rendered with a Jinja-style engine (minijinja).
//! Defaults ship in code; administrators override them in the `email_templates` table
//! (Automation's admin API), and every module renders through [`render_email`], so an edit
//! takes effect on the next email. HTML output escapes variables; subject and text do not.
//!
//! Helpers: `date` (`{{ created_at | date }}`, `{{ x | date("%d/%m/%Y %H:%M") }}`), `price`
//! (`{{ 1999 | price("EUR") }}` → `19.99 EUR`: amounts are integers in minor units) and
//! minijinja's own filters (`capitalize`, `upper`, `title`, `default`...).

use minijinja::{AutoEscape, Environment, UndefinedBehavior, value::Serde};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::args;
use crate::db::{Db, Tx};
use crate::error::{Error, FieldError, Result};
use crate::mail::{OutgoingEmail, html_layout};

/// A template as shipped.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefaultTemplate {
    pub key: &'static str,
    pub description: &'static str,
    /// The variables the sender provides.
    pub variables: Vec<&'static str>,
    pub subject: String,
    pub html: String,
    pub text: String,
}

fn page(title: &str, body: &str, action: Option<(&str, &str)>) -> String {
    // The shared layout, with Jinja placeholders in place of the paragraphs.
    let marker = "\u{1}BODY\u{1}";
    let html = html_layout(title, &[marker.to_string()], action.map(|(l, _)| (l, "\u{1}URL\u{1}")));
    let html = html.replace(marker, body);
    match action {
        Some((_, url)) => html.replace("\u{1}URL\u{1}", url),
        None => html,
    }
}

/// Every shipped template.
pub fn defaults() -> Vec<DefaultTemplate> {
    vec![
        DefaultTemplate {
            key: "activation",
            description: "Sent at sign-up to confirm the email address.",
            variables: vec!["first_name", "url", "token"],
            subject: "Activate your Socle account".into(),
            html: page(
                "Activate your account",
                "Hello {{ first_name }}, welcome to Socle.</p><p style=\"margin:0 0 16px\">Confirm your email address to activate your account. The link is valid for 48 hours and works once.",
                Some(("Activate my account", "{{ url }}")),
            ),
            text: "Hello {{ first_name }}, welcome to Socle.\n\nConfirm your email address to activate your account. The link is valid for 48 hours and works once.\n\n{{ url }}\n\nActivation token: {{ token }}\n".into(),
        },
        DefaultTemplate {
            key: "already_registered",
            description: "Sent when someone signs up with an address that already has an account.",
            variables: vec!["url"],
            subject: "You already have a Socle account".into(),
            html: page(
                "You already have an account",
                "Someone tried to create a Socle account with this address, which already has one. If it was you, sign in or reset your password. If not, you can ignore this email.",
                Some(("Reset my password", "{{ url }}")),
            ),
            text: "Someone tried to create a Socle account with this address, which already has one. If it was you, sign in or reset your password. If not, you can ignore this email.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "password_reset",
            description: "Sent when a password reset is requested.",
            variables: vec!["first_name", "url", "token"],
            subject: "Reset your Socle password".into(),
            html: page(
                "Reset your password",
                "Hello {{ first_name }},</p><p style=\"margin:0 0 16px\">We received a request to reset your password. The link is valid for one hour and works once. If you did not ask for it, ignore this email: your password stays the same.",
                Some(("Choose a new password", "{{ url }}")),
            ),
            text: "Hello {{ first_name }},\n\nWe received a request to reset your password. The link is valid for one hour and works once. If you did not ask for it, ignore this email: your password stays the same.\n\n{{ url }}\n\nReset token: {{ token }}\n".into(),
        },
        DefaultTemplate {
            key: "sign_in_code",
            description: "A one-time code to sign in without a password.",
            variables: vec!["first_name", "code", "minutes"],
            subject: "Your Socle sign-in code: {{ code }}".into(),
            html: page(
                "Your sign-in code",
                "Hello {{ first_name }}, your code to sign in to Socle is</p><p style=\"margin:0 0 16px;font-size:24px;letter-spacing:4px\"><strong>{{ code }}</strong></p><p style=\"margin:0 0 16px\">It is valid for {{ minutes }} minutes and works once. If you did not ask for it, ignore this email.",
                None,
            ),
            text: "Hello {{ first_name }}, your code to sign in to Socle is {{ code }}.\n\nIt is valid for {{ minutes }} minutes and works once. If you did not ask for it, ignore this email.\n\nSign-in code: {{ code }}\n".into(),
        },
        DefaultTemplate {
            key: "invite",
            description: "Sent when a member invites someone to an organization.",
            variables: vec!["organization", "inviter", "role", "url", "token"],
            subject: "You are invited to join {{ organization }} on Socle".into(),
            html: page(
                "You have been invited",
                "{{ inviter }} invited you to join the organization \"{{ organization }}\" on Socle as {{ role }}.</p><p style=\"margin:0 0 16px\">Accept the invitation while signed in, or create an account with this email address. The invitation expires in 7 days.",
                Some(("Accept the invitation", "{{ url }}")),
            ),
            text: "{{ inviter }} invited you to join the organization \"{{ organization }}\" on Socle as {{ role }}.\n\nAccept the invitation while signed in, or create an account with this email address. The invitation expires in 7 days.\n\n{{ url }}\n\nInvitation token: {{ token }}\n".into(),
        },
        DefaultTemplate {
            key: "email_change",
            description: "Sent to a new address to confirm an account's email change.",
            variables: vec!["first_name", "email", "url", "token"],
            subject: "Confirm your new email address".into(),
            html: page(
                "Confirm your new address",
                "Hello {{ first_name | capitalize }}, confirm that {{ email }} is your Socle account's new address. The link expires in an hour; if you did not ask for this, ignore this email.",
                Some(("Confirm the address", "{{ url }}")),
            ),
            text: "Hello {{ first_name | capitalize }}, confirm that {{ email }} is your Socle account's new address. The link expires in an hour; if you did not ask for this, ignore this email.\n\n{{ url }}\n\nConfirmation token: {{ token }}\n".into(),
        },
        DefaultTemplate {
            key: "email_changed",
            description: "Sent to the old address once an account's email changed.",
            variables: vec!["email", "url"],
            subject: "Your Socle address was changed".into(),
            html: page(
                "Your address was changed",
                "Your Socle account now uses {{ email }}. If you did not do this, reset your password from the new address's owner or contact your administrator at once.",
                Some(("Reset the password", "{{ url }}")),
            ),
            text: "Your Socle account now uses {{ email }}. If you did not do this, reset your password from the new address's owner or contact your administrator at once.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "welcome",
            description: "Sent once an account is activated.",
            variables: vec!["first_name", "url"],
            subject: "Welcome to Socle, {{ first_name | capitalize }}".into(),
            html: page("Welcome", "Hello {{ first_name | capitalize }}, your account is active.", Some(("Open Socle", "{{ url }}"))),
            text: "Hello {{ first_name | capitalize }}, your account is active.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "notification",
            description: "A notification, for users who asked for notifications by email.",
            variables: vec!["title", "body", "url"],
            subject: "{{ title }}".into(),
            html: page("{{ title }}", "{{ body }}", None),
            text: "{{ title }}\n\n{{ body }}\n{% if url %}\n{{ url }}\n{% endif %}".into(),
        },
        DefaultTemplate {
            key: "invoice",
            description: "An invoice is available.",
            variables: vec!["number", "amount", "currency", "issued_at", "url"],
            subject: "Invoice {{ number }}".into(),
            html: page(
                "Invoice {{ number }}",
                "Your invoice {{ number }} of {{ issued_at | date }} for {{ amount | price(currency) }} is available.",
                Some(("Download the invoice", "{{ url }}")),
            ),
            text: "Your invoice {{ number }} of {{ issued_at | date }} for {{ amount | price(currency) }} is available.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "plan_renewal_due",
            description: "A paid plan's period ended: pay its renewal before the grace period ends.",
            variables: vec!["plan", "amount", "currency", "url", "grace_until"],
            subject: "Renew your {{ plan }} plan".into(),
            html: page(
                "Renew your {{ plan }} plan",
                "Your {{ plan }} plan's period has ended. Renew it for {{ amount | price(currency) }} before {{ grace_until | date }} to keep its limits.",
                Some(("Renew the plan", "{{ url }}")),
            ),
            text: "Your {{ plan }} plan's period has ended. Renew it for {{ amount | price(currency) }} before {{ grace_until | date }} to keep its limits.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "plan_ended",
            description: "A paid plan ended (cancelled, or its renewal was not paid): the organization is on FREE.",
            variables: vec!["plan", "reason"],
            subject: "Your {{ plan }} plan has ended".into(),
            html: page(
                "Your {{ plan }} plan has ended",
                "{{ reason }} Your organization is now on the Free plan and its limits.",
                None,
            ),
            text: "{{ reason }} Your organization is now on the Free plan and its limits.\n".into(),
        },
        DefaultTemplate {
            key: "verification_approved",
            description: "An organization's verification (KYC/KYB) was approved.",
            variables: vec!["organization", "url"],
            subject: "{{ organization }} is verified".into(),
            html: page(
                "{{ organization }} is verified",
                "The documents you sent for {{ organization }} were approved. Features that need a verified organization are open to it now.",
                Some(("Open Socle", "{{ url }}")),
            ),
            text: "The documents you sent for {{ organization }} were approved. Features that need a verified organization are open to it now.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "verification_rejected",
            description: "An organization's verification (KYC/KYB) was rejected, with the reviewer's reason.",
            variables: vec!["organization", "reason", "url"],
            subject: "The verification of {{ organization }} needs new documents".into(),
            html: page(
                "Verification not approved",
                "The documents you sent for {{ organization }} were not approved: {{ reason }}</p><p style=\"margin:0 0 16px\">Send new documents from the organization's verification screen.",
                Some(("Send new documents", "{{ url }}")),
            ),
            text: "The documents you sent for {{ organization }} were not approved: {{ reason }}\n\nSend new documents from the organization's verification screen:\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "export_ready",
            description: "An export has finished.",
            variables: vec!["project", "format", "url"],
            subject: "Your {{ format }} export of {{ project }} is ready".into(),
            html: page("Your export is ready", "The {{ format }} export of {{ project }} is ready to download.", Some(("Download", "{{ url }}"))),
            text: "The {{ format }} export of {{ project }} is ready to download.\n\n{{ url }}\n".into(),
        },
        DefaultTemplate {
            key: "workflow_email",
            description: "The default layout of a workflow's email step.",
            variables: vec!["subject", "body"],
            subject: "{{ subject }}".into(),
            html: page("{{ subject }}", "{{ body }}", None),
            text: "{{ body }}\n".into(),
        },
    ]
}

pub fn default_template(key: &str) -> Option<DefaultTemplate> {
    defaults().into_iter().find(|t| t.key == key)
}

/// A template as used now: the administrators' version if there is one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmailTemplate {
    pub key: String,
    pub description: String,
    pub variables: Vec<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Whether an administrator changed it (`DELETE` restores the default).
    pub customized: bool,
    pub updated_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Override {
    #[sqlx(default)]
    key: String,
    subject: String,
    html: String,
    text: String,
    updated_at: time::OffsetDateTime,
}

fn merge(d: DefaultTemplate, o: Option<Override>) -> EmailTemplate {
    let customized = o.is_some();
    let (subject, html, text, updated_at) = match o {
        Some(o) => (o.subject, o.html, o.text, Some(crate::time::rfc3339(o.updated_at))),
        None => (d.subject, d.html, d.text, None),
    };
    EmailTemplate {
        key: d.key.into(),
        description: d.description.into(),
        variables: d.variables.iter().map(|v| v.to_string()).collect(),
        subject,
        html,
        text,
        customized,
        updated_at,
    }
}

const OVERRIDE: &str = "SELECT subject, html, text, updated_at FROM email_templates WHERE key = $1";

pub async fn list(db: &Db) -> Result<Vec<EmailTemplate>> {
    let mut overrides: Vec<Override> =
        db.fetch_all("SELECT key, subject, html, text, updated_at FROM email_templates", args![]).await?;
    Ok(defaults()
        .into_iter()
        .map(|d| {
            let o = overrides.iter().position(|o| o.key == d.key).map(|i| overrides.swap_remove(i));
            merge(d, o)
        })
        .collect())
}

pub async fn get(db: &Db, key: &str) -> Result<EmailTemplate> {
    let d = default_template(key).ok_or_else(|| Error::not_found("email template"))?;
    let o: Option<Override> = db.fetch_optional(OVERRIDE, args![key]).await?;
    Ok(merge(d, o))
}

/// Save an administrator's version after checking that it compiles and renders with
/// sample values.
pub async fn save(db: &Db, key: &str, subject: &str, html: &str, text: &str, by: &str) -> Result<EmailTemplate> {
    let d = default_template(key).ok_or_else(|| Error::not_found("email template"))?;
    let mut errors = Vec::new();
    for (field, source, max) in [("subject", subject, 500), ("html", html, 200_000), ("text", text, 100_000)] {
        if source.trim().is_empty() && field != "html" {
            errors.push(FieldError::new(field, "required", format!("{field} is required")));
        } else if source.len() > max {
            errors.push(FieldError::new(field, "too_long", format!("{field} is at most {max} bytes")));
        } else if let Err(e) = render_one(source, field == "html", &sample(&d)) {
            errors.push(FieldError::new(field, "invalid_template", e));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    db.execute(
        "INSERT INTO email_templates (key, subject, html, text, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO UPDATE SET subject = $2, html = $3, text = $4, updated_by = $5, updated_at = $6",
        args![key, subject, html, text, by, crate::time::now()],
    )
    .await?;
    get(db, key).await
}

/// Restore the shipped default.
pub async fn reset(db: &Db, key: &str) -> Result<EmailTemplate> {
    default_template(key).ok_or_else(|| Error::not_found("email template"))?;
    db.execute("DELETE FROM email_templates WHERE key = $1", args![key]).await?;
    get(db, key).await
}

/// Sample values for previews and validation: each variable's name in capitals, numbers
/// for amounts and a date for dates.
pub fn sample(d: &DefaultTemplate) -> Value {
    let mut vars = serde_json::Map::new();
    for v in &d.variables {
        let value = match *v {
            "amount" => json!(1999),
            "currency" => json!("EUR"),
            "issued_at" | "created_at" => json!("2026-01-15T10:30:00Z"),
            other => json!(other.to_uppercase()),
        };
        vars.insert(v.to_string(), value);
    }
    Value::Object(vars)
}

/// Render a template (stored version or default) for `to` in the caller's transaction.
pub async fn render_email(tx: &mut Tx, key: &str, to: &str, vars: &Value) -> Result<OutgoingEmail> {
    let d = default_template(key).ok_or_else(|| Error::internal(format!("no email template {key:?}")))?;
    let o: Option<Override> = tx.fetch_optional(OVERRIDE, args![key]).await?;
    let t = merge(d, o);
    render(&t.subject, &t.html, &t.text, to, vars)
}

/// Render the three parts of an email.
pub fn render(subject: &str, html: &str, text: &str, to: &str, vars: &Value) -> Result<OutgoingEmail> {
    let bad = |part: &str, e: String| Error::field(part, "invalid_template", e);
    Ok(OutgoingEmail {
        to: to.to_string(),
        subject: render_one(subject, false, vars).map_err(|e| bad("subject", e))?.replace(['\r', '\n'], " "),
        html: render_one(html, true, vars).map_err(|e| bad("html", e))?,
        text: render_one(text, false, vars).map_err(|e| bad("text", e))?,
    })
}

/// Render one template string; `html` turns on HTML escaping of values.
pub fn render_one(source: &str, html: bool, vars: &Value) -> std::result::Result<String, String> {
    environment(html).render_str(source, minijinja::Value::from(Serde(vars))).map_err(describe)
}

/// Evaluate one Jinja expression (`steps.fetch.body.items`, `trigger.record.total * 2`)
/// to a JSON value, keeping its type: how workflow values that are a single `{{ ... }}`
/// stay numbers, lists or objects instead of becoming text.
pub fn evaluate(expression: &str, vars: &Value) -> std::result::Result<Value, String> {
    let env = environment(false);
    let compiled = env.compile_expression(expression).map_err(describe)?;
    let value = compiled.eval(minijinja::Value::from(Serde(vars))).map_err(describe)?;
    if value.is_undefined() || value.is_none() {
        return Ok(Value::Null);
    }
    serde_json::to_value(&value).map_err(|e| e.to_string())
}

fn environment(html: bool) -> Environment<'static> {
    let mut env = Environment::new();
    // A missing value (or a value under it) renders empty rather than failing the email or step.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // A template is data from an administrator or a workflow author: bound its work.
    env.set_fuel(Some(200_000));
    env.set_auto_escape_callback(move |_| if html { AutoEscape::Html } else { AutoEscape::None });
    env.add_filter("date", date_filter);
    env.add_filter("price", price_filter);
    env
}

fn describe(e: minijinja::Error) -> String {
    let mut msg = e.to_string();
    if let Some(line) = e.line() {
        msg = format!("{msg} (line {line})");
    }
    msg
}

/// `{{ value | date }}` or `{{ value | date("%d/%m/%Y") }}`: RFC 3339 text or a Unix time.
fn date_filter(value: minijinja::Value, format: Option<String>) -> std::result::Result<String, minijinja::Error> {
    let parsed = if let Some(s) = value.as_str() {
        crate::time::parse_rfc3339(s)
    } else {
        i64::try_from(value.clone()).ok().and_then(|n| time::OffsetDateTime::from_unix_timestamp(n).ok())
    };
    let Some(t) = parsed else { return Ok(value.to_string()) };
    let format = format.unwrap_or_else(|| "%Y-%m-%d".into());
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{:04}", t.year())),
            Some('m') => out.push_str(&format!("{:02}", u8::from(t.month()))),
            Some('d') => out.push_str(&format!("{:02}", t.day())),
            Some('H') => out.push_str(&format!("{:02}", t.hour())),
            Some('M') => out.push_str(&format!("{:02}", t.minute())),
            Some('S') => out.push_str(&format!("{:02}", t.second())),
            Some('B') => out.push_str(&t.month().to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    Ok(out)
}

/// `{{ 1999 | price("EUR") }}` → `19.99 EUR` (integer minor units; zero-decimal currencies
/// such as JPY and XOF have no cents).
fn price_filter(value: minijinja::Value, currency: Option<String>) -> std::result::Result<String, minijinja::Error> {
    let Ok(minor) = i64::try_from(value.clone()) else { return Ok(value.to_string()) };
    Ok(format_price(minor, &currency.unwrap_or_default()))
}

/// An amount in integer minor units as people read it: `19.99 EUR`, `5000 XOF` (currencies
/// without minor units), `-6.00 EUR`; without a currency, the number alone. Emails (the
/// `price` filter), invoices and checkout pages all print amounts with it.
pub fn format_price(minor: i64, currency: &str) -> String {
    let currency = currency.to_uppercase();
    let amount = crate::money::to_decimal(minor, &currency);
    if currency.is_empty() { amount } else { format!("{amount} {currency}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_and_escaping() {
        let vars = json!({"name": "ada <b>", "amount": 123456, "at": "2026-03-04T05:06:07Z", "yen": 500});
        assert_eq!(
            render_one(
                "{{ name | capitalize }} {{ amount | price('eur') }} {{ at | date('%d/%m/%Y %H:%M') }} {{ yen | price('JPY') }}",
                false,
                &vars
            ),
            Ok("Ada <b> 1234.56 EUR 04/03/2026 05:06 500 JPY".to_string())
        );
        assert_eq!(render_one("<p>{{ name }}</p>", true, &vars), Ok("<p>ada &lt;b&gt;</p>".to_string()));
        assert!(render_one("{% for x in y %}", false, &vars).is_err());
        assert!(
            render_one(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                false,
                &vars
            )
            .is_err()
        );
    }

    #[test]
    fn every_default_renders_with_its_sample() {
        for d in defaults() {
            let vars = sample(&d);
            let email = render(&d.subject, &d.html, &d.text, "a@example.com", &vars);
            assert!(email.is_ok(), "{}: {:?}", d.key, email.err());
        }
    }
}
