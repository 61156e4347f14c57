//! Verification of organizations (KYC / KYB): documents with typed metadata, reviewed by
//! platform administrators, decisions audited and emailed, and selling on the marketplace
//! gated on it.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::{Session, TestApp};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn identity() -> Value {
    json!({"document_type": "passport", "full_name": "Awa Traore", "number": "P1234567", "country": "CI",
        "expires_on": "2035-01-31"})
}

pub fn individual(metadata: Value) -> Form {
    Form::new()
        .text("kind", "individual")
        .text("metadata", metadata.to_string())
        .part("identity", Part::bytes(PDF.to_vec()).file_name("passport.pdf"))
        .part("proof_of_address", Part::bytes(crate::files::png(40, 30)).file_name("bill.png"))
}

pub fn valid_metadata() -> Value {
    json!({"identity": identity(), "proof_of_address": {"address": "12 rue des Jardins, Abidjan", "issued_on": "2026-10-01"}})
}

/// Send documents for `org` as `owner` and have `admin` approve them.
pub async fn verify(app: &TestApp, owner: &Session, org: &str, admin: &Session) {
    let path = format!("/api/v1/foundation/verification/{org}");
    app.multipart(&path, Some(&owner.access), individual(valid_metadata())).await.expect(201);
    app.post(
        &format!("/api/v1/admin/verifications/{org}/decision"),
        Some(&admin.access),
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
}

crate::on_both_databases!(organizations_are_verified_by_administrators);

async fn organizations_are_verified_by_administrators(app: TestApp) {
    let owner = app.signup("owner@kyc.example").await;
    let org = app.organization(&owner, "Kyc Shop").await;
    let member = app.signup("member@kyc.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@kyc.example").await;
    let admin = app.admin("root@kyc.example").await;
    let path = format!("/api/v1/foundation/verification/{org}");

    // Nothing sent yet; the documents are for OWNERs and ADMINs only.
    let state = app.get(&path, Some(&owner.access)).await.expect(200).body;
    assert_eq!((state["status"].as_str(), state["submissions"].as_i64()), (Some("unverified"), Some(0)));
    app.get(&path, None).await.expect(401);
    app.get(&path, Some(&member.access)).await.expect(403);
    app.get(&path, Some(&stranger.access)).await.expect(404);

    // Malformed submissions, each naming what is wrong.
    app.post(&path, Some(&owner.access), json!({"kind": "individual"})).await.expect(415);
    let no_proof = Form::new()
        .text("kind", "individual")
        .text("metadata", json!({"identity": identity()}).to_string())
        .part("identity", Part::bytes(PDF.to_vec()).file_name("passport.pdf"));
    app.multipart(&path, Some(&owner.access), no_proof).await.expect_field_error(422, "proof_of_address");
    let mut wrong = valid_metadata();
    wrong["identity"]["country"] = json!("Ivory Coast");
    wrong["identity"]["expires_on"] = json!("2020-01-01");
    let r = app.multipart(&path, Some(&owner.access), individual(wrong)).await;
    let r = r.expect_field_error(422, "metadata.identity.country");
    r.expect_field_error(422, "metadata.identity.expires_on");
    let no_meta = individual(json!({}));
    app.multipart(&path, Some(&owner.access), no_meta).await.expect_field_error(422, "metadata.identity");
    let not_json = Form::new().text("kind", "individual").text("metadata", "{oops");
    app.multipart(&path, Some(&owner.access), not_json).await.expect_field_error(422, "metadata");
    let exe = Form::new()
        .text("kind", "business")
        .text("metadata", valid_metadata().to_string())
        .part("identity", Part::bytes(b"MZ\x90\x00 not a document".to_vec()).file_name("id.pdf"));
    let r = app.multipart(&path, Some(&owner.access), exe).await.expect_field_error(422, "identity");
    r.expect_field_error(422, "company_registration");
    let unknown = Form::new().text("kind", "planet").text("metadata", "{}");
    app.multipart(&path, Some(&owner.access), unknown).await.expect_field_error(422, "kind");
    app.multipart(&path, None, individual(valid_metadata())).await.expect(401);
    app.multipart(&path, Some(&member.access), individual(valid_metadata())).await.expect(403);
    app.multipart(&path, Some(&stranger.access), individual(valid_metadata())).await.expect(404);

    // Sent: pending, with its documents; not again while it waits.
    let sent = app.multipart(&path, Some(&owner.access), individual(valid_metadata())).await.expect(201).body;
    assert_eq!((sent["status"].as_str(), sent["kind"].as_str()), (Some("pending"), Some("individual")));
    let docs = sent["documents"].as_array().expect("documents").clone();
    assert_eq!(docs.len(), 2);
    let passport = docs.iter().find(|d| d["kind"] == "identity").expect("identity document");
    assert_eq!(
        (passport["mime"].as_str(), passport["metadata"]["country"].as_str()),
        (Some("application/pdf"), Some("CI"))
    );
    app.multipart(&path, Some(&owner.access), individual(valid_metadata())).await.expect(409);
    let doc_path = format!("{path}/documents/{}", passport["id"].as_str().expect("id"));
    let doc = app.client.get(app.url(&doc_path)).bearer_auth(&owner.access).send().await.expect("document");
    assert_eq!(doc.status().as_u16(), 200);
    assert_eq!(doc.bytes().await.expect("bytes").as_ref(), PDF);
    app.get(&doc_path, Some(&member.access)).await.expect(403);
    app.get(&doc_path, Some(&stranger.access)).await.expect(404);
    app.get(&format!("{path}/documents/nope"), Some(&owner.access)).await.expect(404);

    // Administrators review it, documents inline (their reading audited).
    let queue = app.get("/api/v1/admin/verifications?status=pending", Some(&admin.access)).await.expect(200).body;
    let queued = queue["items"].as_array().and_then(|i| i.iter().find(|v| v["organization_id"] == org.as_str()));
    assert_eq!(queued.and_then(|v| v["organization_name"].as_str()), Some("Kyc Shop"));
    app.get("/api/v1/admin/verifications", Some(&owner.access)).await.expect(403);
    app.get("/api/v1/admin/verifications", None).await.expect(401);
    app.get("/api/v1/admin/verifications?status=maybe", Some(&admin.access)).await.expect_field_error(422, "status");
    app.get(&doc_path, Some(&admin.access)).await.expect(200);
    app.get(&format!("/api/v1/admin/verifications/{org}"), Some(&admin.access)).await.expect(200);
    app.get("/api/v1/admin/verifications/nope", Some(&admin.access)).await.expect(404);

    // Rejected with a reason (required), emailed; then sent again and approved.
    let decide = format!("/api/v1/admin/verifications/{org}/decision");
    app.post(&decide, Some(&admin.access), json!({"decision": "reject"})).await.expect_field_error(422, "reason");
    app.post(&decide, Some(&admin.access), json!({"decision": "maybe"})).await.expect_field_error(422, "decision");
    app.post(&decide, Some(&owner.access), json!({"decision": "approve"})).await.expect(403);
    let reason = "The passport scan is unreadable";
    let rejected =
        app.post(&decide, Some(&admin.access), json!({"decision": "reject", "reason": reason})).await.expect(200);
    assert_eq!((rejected.body["status"].as_str(), rejected.body["reason"].as_str()), (Some("rejected"), Some(reason)));
    let email = app.wait_for_email(&owner.email, "needs new documents").await;
    assert!(email.text.contains(reason), "{}", email.text);
    app.post(&decide, Some(&admin.access), json!({"decision": "approve"})).await.expect(409);
    let again = app.multipart(&path, Some(&owner.access), individual(valid_metadata())).await.expect(201).body;
    assert_eq!((again["status"].as_str(), again["submissions"].as_i64()), (Some("resubmitted"), Some(2)));
    assert!(again["reason"].is_null());
    let queue = app.get("/api/v1/admin/verifications?status=pending", Some(&admin.access)).await.expect(200).body;
    assert!(queue["items"].as_array().is_some_and(|i| i.iter().any(|v| v["organization_id"] == org.as_str())));
    let approved = app.post(&decide, Some(&admin.access), json!({"decision": "approve"})).await.expect(200);
    assert_eq!(approved.body["status"], "approved");
    app.wait_for_email(&owner.email, "is verified").await;
    assert_eq!(app.get(&path, Some(&owner.access)).await.expect(200).body["status"], "approved");

    let actions = app.audit_actions().await;
    for action in [
        "VERIFICATION_SUBMITTED",
        "VERIFICATION_DOCUMENT_VIEWED",
        "VERIFICATION_REJECTED",
        "VERIFICATION_RESUBMITTED",
        "VERIFICATION_APPROVED",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
    app.stop().await;
}
