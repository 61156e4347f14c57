//! The expression parser must never panic or hang, whatever the input; what it accepts must
//! print to text that parses back to the same tree, and evaluate without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(expr) = socle_expr::parse(text) else { return };
    let printed = expr.to_string();
    let reparsed = socle_expr::parse(&printed).expect("printed expressions parse");
    assert_eq!(reparsed.without_spans(), expr.without_spans(), "{printed}");
    let record = serde_json::json!({"a": 1, "b": "x", "c": [1, 2], "d": {"e": true}});
    let ctx = socle_expr::eval::Context {
        record: &record,
        auth: None,
        body: &serde_json::Value::Null,
        query: &serde_json::Value::Null,
        now: time::OffsetDateTime::UNIX_EPOCH,
    };
    let _ = socle_expr::eval::evaluate(&expr, &ctx);
});
