//! The OpenAI-compatible HTTP API: `POST /chat/completions` (whole, with
//! `response_format` for structured output, or streamed as server-sent events),
//! `POST /embeddings` and `POST /moderations`. Failures that may pass (429, 5xx, a network
//! error) are retried with exponential backoff, honouring `Retry-After` up to 10 s; the
//! provider's own messages are logged, not shown.

use std::time::Duration;

use kernel::{Error, Result};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::settings::AssistantConfig;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub config: AssistantConfig,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message { role: "system".into(), content: content.into() }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Message { role: "user".into(), content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message { role: "assistant".into(), content: content.into() }
    }
}

/// A whole answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub content: String,
    pub model: String,
    pub tokens: i64,
}

/// What a stream sends on: pieces of text, then the tokens used (when the server tells).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Done { tokens: Option<i64> },
}

fn unreachable(e: reqwest::Error) -> Error {
    tracing::warn!(error = %e, "the AI provider could not be reached");
    Error::Unavailable("the AI provider could not be reached; try again".into())
}

impl Client {
    pub fn new(config: AssistantConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .build()?;
        Ok(Client { http, config })
    }

    /// POST `body` to `path`, retrying what may pass; the response once it is a success.
    async fn post(&self, path: &str, body: &Value) -> Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            let request = self.http.post(self.config.url(path));
            let request = if self.config.api_key_header.eq_ignore_ascii_case("authorization") {
                request.bearer_auth(&self.config.api_key)
            } else {
                request.header(self.config.api_key_header.as_str(), self.config.api_key.as_str())
            };
            let sent = request.header("content-type", "application/json").body(body.to_string()).send().await;
            let retry_after = match sent {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error() => {
                    let wait = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok());
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    tracing::warn!(%status, body = %text.chars().take(300).collect::<String>(), "the AI provider failed");
                    if attempt >= self.config.max_retries {
                        return Err(if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                            Error::TooManyRequests {
                                retry_after_secs: wait.map_or(10, |w| w.ceil() as u64),
                                detail: "the AI provider is rate limiting; try again later".into(),
                            }
                        } else {
                            Error::Unavailable("the AI provider failed; try again".into())
                        });
                    }
                    wait
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    tracing::warn!(%status, body = %text.chars().take(300).collect::<String>(), "the AI provider refused a request");
                    return Err(Error::Unavailable(format!("the AI provider refused the request ({status})")));
                }
                Err(e) if attempt >= self.config.max_retries => return Err(unreachable(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "the AI provider could not be reached; retrying");
                    None
                }
            };
            let backoff = 0.25 * f64::from(1u32 << attempt.min(6));
            let wait = retry_after.unwrap_or(backoff).clamp(0.0, 10.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            attempt += 1;
        }
    }

    fn chat_body(&self, model: Option<&str>, messages: &[Message], schema: Option<&Value>, stream: bool) -> Value {
        let mut body = json!({
            "model": model.unwrap_or(&self.config.chat_model),
            "messages": messages,
            "max_tokens": self.config.max_tokens,
        });
        if let Some(schema) = schema {
            body["response_format"] = if self.config.json_schema {
                json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": false}})
            } else {
                json!({"type": "json_object"})
            };
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    /// One whole answer.
    pub async fn chat(&self, model: Option<&str>, messages: &[Message], schema: Option<&Value>) -> Result<Answer> {
        let response = self.post("/chat/completions", &self.chat_body(model, messages, schema, false)).await?;
        let body: Value = response.json_value().await?;
        let content = body["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| Error::Unavailable("the AI provider answered without content".into()))?;
        Ok(Answer {
            content: content.to_string(),
            model: body["model"].as_str().unwrap_or(model.unwrap_or(&self.config.chat_model)).to_string(),
            tokens: body["usage"]["total_tokens"].as_i64().unwrap_or(0),
        })
    }

    /// A streamed answer: pieces go to `out` as they arrive; returns once the stream ends.
    pub async fn chat_stream(&self, messages: &[Message], out: mpsc::Sender<Piece>) -> Result<()> {
        let mut response = self.post("/chat/completions", &self.chat_body(None, messages, None, true)).await?;
        let mut buffer = String::new();
        let mut tokens = None;
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                match parse_sse_line(line.trim_end()) {
                    SseLine::Text(text) => {
                        if out.send(Piece::Text(text)).await.is_err() {
                            return Ok(()); // the client went away
                        }
                    }
                    SseLine::Usage(n) => tokens = Some(n),
                    SseLine::Done => {
                        let _ = out.send(Piece::Done { tokens }).await;
                        return Ok(());
                    }
                    SseLine::Nothing => {}
                }
            }
        }
        let _ = out.send(Piece::Done { tokens }).await;
        Ok(())
    }

    /// Embeddings of `texts`, in order.
    pub async fn embed(&self, texts: &[String]) -> Result<(Vec<Vec<f32>>, i64)> {
        let body = json!({"model": self.config.embedding_model, "input": texts});
        let answer: Value = self.post("/embeddings", &body).await?.json_value().await?;
        let mut rows: Vec<(i64, Vec<f32>)> = answer["data"]
            .as_array()
            .map(|data| {
                data.iter()
                    .map(|d| {
                        let vector = d["embedding"]
                            .as_array()
                            .map(|v| v.iter().filter_map(Value::as_f64).map(|x| x as f32).collect())
                            .unwrap_or_default();
                        (d["index"].as_i64().unwrap_or(0), vector)
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by_key(|(i, _)| *i);
        if rows.len() != texts.len() {
            return Err(Error::Unavailable("the AI provider answered the wrong number of embeddings".into()));
        }
        Ok((rows.into_iter().map(|(_, v)| v).collect(), answer["usage"]["total_tokens"].as_i64().unwrap_or(0)))
    }

    /// The categories `text` is flagged for (empty: allowed, or moderation off).
    pub async fn moderate(&self, text: &str) -> Result<Vec<String>> {
        if self.config.moderation_model.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({"model": self.config.moderation_model, "input": text});
        let answer: Value = self.post("/moderations", &body).await?.json_value().await?;
        let result = &answer["results"][0];
        if result["flagged"] != true {
            return Ok(Vec::new());
        }
        let mut categories: Vec<String> = result["categories"]
            .as_object()
            .map(|c| c.iter().filter(|(_, v)| **v == true).map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        if categories.is_empty() {
            categories.push("flagged".into());
        }
        categories.sort();
        Ok(categories)
    }
}

trait JsonBody {
    async fn json_value(self) -> Result<Value>;
}

impl JsonBody for reqwest::Response {
    async fn json_value(self) -> Result<Value> {
        let bytes = self.bytes().await.map_err(unreachable)?;
        serde_json::from_slice(&bytes)
            .map_err(|_| Error::Unavailable("the AI provider answered something else than JSON".into()))
    }
}

#[derive(Debug, PartialEq)]
enum SseLine {
    Text(String),
    Usage(i64),
    Done,
    Nothing,
}

/// One line of the provider's stream: `data: {chunk}`, `data: [DONE]`, or anything else.
fn parse_sse_line(line: &str) -> SseLine {
    let Some(data) = line.strip_prefix("data:") else { return SseLine::Nothing };
    let data = data.trim();
    if data == "[DONE]" {
        return SseLine::Done;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(data) else { return SseLine::Nothing };
    if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
        return SseLine::Text(text.to_string());
    }
    match chunk["usage"]["total_tokens"].as_i64() {
        Some(n) => SseLine::Usage(n),
        None => SseLine::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lines_are_read_as_openai_sends_them() {
        assert_eq!(
            parse_sse_line(r#"data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#),
            SseLine::Text("Hel".into())
        );
        assert_eq!(parse_sse_line(r#"data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#), SseLine::Nothing);
        assert_eq!(parse_sse_line(r#"data: {"choices":[],"usage":{"total_tokens":42}}"#), SseLine::Usage(42));
        assert_eq!(parse_sse_line("data: [DONE]"), SseLine::Done);
        assert_eq!(parse_sse_line(": keep-alive"), SseLine::Nothing);
        assert_eq!(parse_sse_line("data: {not json"), SseLine::Nothing);
    }
}
