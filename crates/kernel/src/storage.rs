//! Where files are kept: the local disk under the data dir, or any S3-compatible store when
//! `s3.bucket` is configured (AWS, MinIO, R2, Garage…), spoken to with AWS Signature V4.
//! Keys are `{app}/{collection}/{record}/{name}` for apps' files; other modules keep theirs
//! under their own prefix (`platform/`, `verification/`, `exports/`).

use std::path::PathBuf;

use crate::config::S3Config;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub enum Store {
    Local(PathBuf),
    S3(S3),
}

pub struct S3 {
    client: reqwest::Client,
    config: S3Config,
}

#[derive(Debug, thiserror::Error)]
#[error("file storage: {0}")]
pub struct StoreError(String);

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        crate::Error::internal(e)
    }
}

type R<T> = Result<T, StoreError>;

impl Store {
    pub fn new(data_dir: &std::path::Path, s3: Option<&S3Config>) -> Self {
        match s3.filter(|c| !c.bucket.is_empty()) {
            Some(c) => Store::S3(S3 { client: reqwest::Client::new(), config: c.clone() }),
            None => Store::Local(data_dir.join("storage")),
        }
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> R<()> {
        match self {
            Store::Local(root) => {
                let path = root.join(key);
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| StoreError(e.to_string()))?;
                }
                tokio::fs::write(path, bytes).await.map_err(|e| StoreError(e.to_string()))
            }
            Store::S3(s3) => s3.send(reqwest::Method::PUT, key, "", bytes.to_vec()).await.map(|_| ()),
        }
    }

    /// The object, or None when there is none.
    pub async fn get(&self, key: &str) -> R<Option<Vec<u8>>> {
        match self {
            Store::Local(root) => match tokio::fs::read(root.join(key)).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(StoreError(e.to_string())),
            },
            Store::S3(s3) => s3.send(reqwest::Method::GET, key, "", Vec::new()).await,
        }
    }

    /// Keys under a prefix (one record's files and thumbnails).
    pub async fn list(&self, prefix: &str) -> R<Vec<String>> {
        match self {
            Store::Local(root) => {
                let mut out = Vec::new();
                let mut stack = vec![root.join(prefix)];
                while let Some(dir) = stack.pop() {
                    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { continue };
                    while let Ok(Some(entry)) = entries.next_entry().await {
                        let path = entry.path();
                        if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(root) {
                            out.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                Ok(out)
            }
            Store::S3(s3) => {
                let query = format!("list-type=2&prefix={}", uri_encode(prefix, true));
                let body = s3.send(reqwest::Method::GET, "", &query, Vec::new()).await?.unwrap_or_default();
                let text = String::from_utf8_lossy(&body);
                Ok(text.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(xml_unescape).collect())
            }
        }
    }

    /// Bytes stored under a prefix (an app's files, for its organization's storage quota).
    /// On S3 the first 1000 keys are summed (one listing page): enough for a quota's
    /// estimate between the deltas counted at upload.
    pub async fn bytes_under(&self, prefix: &str) -> R<u64> {
        match self {
            Store::Local(root) => {
                let mut total = 0;
                let mut stack = vec![root.join(prefix)];
                while let Some(dir) = stack.pop() {
                    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { continue };
                    while let Ok(Some(entry)) = entries.next_entry().await {
                        match entry.metadata().await {
                            Ok(m) if m.is_dir() => stack.push(entry.path()),
                            Ok(m) => total += m.len(),
                            Err(_) => {}
                        }
                    }
                }
                Ok(total)
            }
            Store::S3(s3) => {
                let query = format!("list-type=2&prefix={}", uri_encode(prefix, true));
                let body = s3.send(reqwest::Method::GET, "", &query, Vec::new()).await?.unwrap_or_default();
                let text = String::from_utf8_lossy(&body);
                Ok(text
                    .split("<Size>")
                    .skip(1)
                    .filter_map(|s| s.split("</Size>").next())
                    .filter_map(|n| n.trim().parse::<u64>().ok())
                    .sum())
            }
        }
    }

    pub async fn delete(&self, key: &str) -> R<()> {
        match self {
            Store::Local(root) => {
                let path = root.join(key);
                let _ = tokio::fs::remove_file(&path).await;
                // Drop directories left empty.
                let mut dir = path.parent().map(PathBuf::from);
                while let Some(d) = dir {
                    if d == *root || tokio::fs::remove_dir(&d).await.is_err() {
                        break;
                    }
                    dir = d.parent().map(PathBuf::from);
                }
                Ok(())
            }
            Store::S3(s3) => s3.send(reqwest::Method::DELETE, key, "", Vec::new()).await.map(|_| ()),
        }
    }
}

pub fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// What the bytes are, by their first bytes when recognizable, else by the file name; a
/// declared type is not trusted.
pub fn sniff(bytes: &[u8], name: &str) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'P', b'K', 3, 4, ..] => "application/zip",
        // A name claiming a binary format the bytes do not have is not believed.
        _ => match mime_of(name) {
            "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf" | "application/zip" => {
                "application/octet-stream"
            }
            other => other,
        },
    }
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// RFC 3986 encoding as SigV4 wants it (`/` kept in paths).
fn uri_encode(s: &str, encode_slash: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b'/' if !encode_slash => "/".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// What SigV4 signs of a request.
struct Request<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    /// Already sorted and encoded.
    query: &'a str,
    payload_hash: &'a str,
}

/// The `Authorization` header of AWS Signature V4 (signed headers: host, content hash, date).
fn sign(r: &Request<'_>, amz_date: &str, c: &S3Config) -> String {
    let date = &amz_date[..8];
    let canonical_headers =
        format!("host:{}\nx-amz-content-sha256:{}\nx-amz-date:{amz_date}\n", r.host, r.payload_hash);
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical_request =
        format!("{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}", r.method, r.path, r.query, r.payload_hash);
    let scope = format!("{date}/{}/s3/aws4_request", c.region);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let k_date = hmac(format!("AWS4{}", c.secret_key).as_bytes(), date);
    let k_region = hmac(&k_date, &c.region);
    let k_service = hmac(&k_region, "s3");
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex::encode(hmac(&k_signing, &string_to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        c.access_key
    )
}

impl S3 {
    /// One signed request; GET answers None on 404.
    async fn send(&self, method: reqwest::Method, key: &str, query: &str, body: Vec<u8>) -> R<Option<Vec<u8>>> {
        let c = &self.config;
        let endpoint = c.endpoint.trim_end_matches('/');
        let (scheme, host) =
            endpoint.split_once("://").ok_or_else(|| StoreError("s3.endpoint needs a scheme".into()))?;
        let (host, path) = if c.path_style {
            (host.to_string(), format!("/{}/{}", c.bucket, uri_encode(key, false)))
        } else {
            (format!("{}.{host}", c.bucket), format!("/{}", uri_encode(key, false)))
        };
        let now = time::OffsetDateTime::now_utc();
        let amz_date = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let payload_hash = hex::encode(Sha256::digest(&body));
        let canonical_query = {
            let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
            pairs.sort();
            pairs.join("&")
        };
        let authorization = sign(
            &Request {
                method: method.as_str(),
                host: &host,
                path: &path,
                query: &canonical_query,
                payload_hash: &payload_hash,
            },
            &amz_date,
            c,
        );
        let url = if canonical_query.is_empty() {
            format!("{scheme}://{host}{path}")
        } else {
            format!("{scheme}://{host}{path}?{canonical_query}")
        };
        let response = self
            .client
            .request(method.clone(), url)
            .header("x-amz-date", &amz_date)
            .header("x-amz-content-sha256", &payload_hash)
            .header("authorization", authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND && method == reqwest::Method::GET {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|e| StoreError(e.to_string()))?;
        if !status.is_success() {
            return Err(StoreError(format!(
                "{status}: {}",
                String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()
            )));
        }
        Ok(Some(bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example of a signed `GET Bucket` (list objects) request.
    #[test]
    fn signs_like_the_aws_documentation() {
        let c = S3Config {
            endpoint: "https://s3.amazonaws.com".into(),
            region: "us-east-1".into(),
            bucket: "examplebucket".into(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            path_style: false,
        };
        let r = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/",
            query: "max-keys=2&prefix=J",
            payload_hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        };
        let auth = sign(&r, "20130524T000000Z", &c);
        assert!(auth.ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), "{auth}");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
        );
    }
}
