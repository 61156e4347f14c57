//! A Studio page document as semantic HTML: one element per component (`main`, `section`,
//! `h1`…`h6`, `p`, `img`, `a`, `form`, `label`/`input`, `footer`), the layout and style
//! tokens as classes of one generated stylesheet, every text escaped. Forms and lists bound
//! to a collection carry `data-` attributes that `socle.js` (ours, no CDN) wires to the app's
//! runtime API.

use serde_json::Value;

/// Escape text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A URL fit for `href`/`src`, unescaped: http(s), relative, `mailto:` or an anchor;
/// anything else (`javascript:`…) becomes `#`.
pub fn safe_href(u: &str) -> String {
    let lower = u.trim().to_ascii_lowercase();
    let ok = lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('/')
        || lower.starts_with('#')
        || lower.starts_with("./")
        || !lower.contains(':');
    if ok { u.trim().to_string() } else { "#".into() }
}

fn safe_url(u: &str) -> String {
    escape(&safe_href(u))
}

fn text<'a>(props: &'a Value, key: &str) -> &'a str {
    props[key].as_str().unwrap_or_default()
}

fn classes(kind: &str, props: &Value) -> String {
    escape(&class_names(kind, props))
}

/// The class names the common props give (of the generated stylesheet), unescaped.
pub fn class_names(kind: &str, props: &Value) -> String {
    let mut out = vec![format!("s-{kind}")];
    for (prop, prefix) in [
        ("padding", "p"),
        ("margin", "m"),
        ("gap", "gap"),
        ("align", "items"),
        ("justify", "justify"),
        ("text_align", "text"),
        ("color", "fg"),
        ("background", "bg"),
        ("radius", "r"),
        ("shadow", "shadow"),
        ("variant", "v"),
        ("max_width", "max"),
    ] {
        if let Some(v) = props[prop].as_str() {
            out.push(format!("{prefix}-{}", v.replace('/', "-")));
        }
    }
    if let Some(w) = props["width"].as_str() {
        out.push(format!("w-{}", w.replace('/', "-")));
    }
    if let Some(extra) = props["class_name"].as_str() {
        out.extend(
            extra
                .split_whitespace()
                .filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
                .map(str::to_string),
        );
    }
    out.join(" ")
}

fn children(node: &Value, out: &mut String) {
    if let Some(list) = node["children"].as_array() {
        for child in list {
            render(child, out);
        }
    }
}

/// Append the HTML of `node` and its children.
pub fn render(node: &Value, out: &mut String) {
    let kind = node["type"].as_str().unwrap_or("div");
    let props = &node["props"];
    let class = classes(kind, props);
    let hidden = if props["hidden"] == true { " hidden" } else { "" };
    match kind {
        "page" => {
            out.push_str(&format!("<main class=\"{class}\"{hidden}>"));
            children(node, out);
            out.push_str("</main>");
        }
        "section" => {
            let id = text(props, "anchor");
            let id = if id.is_empty() { String::new() } else { format!(" id=\"{}\"", escape(id)) };
            out.push_str(&format!("<section class=\"{class}\"{id}{hidden}>"));
            children(node, out);
            out.push_str("</section>");
        }
        "heading" => {
            let level = props["level"].as_i64().unwrap_or(2).clamp(1, 6);
            out.push_str(&format!("<h{level} class=\"{class}\"{hidden}>{}</h{level}>", escape(text(props, "text"))));
        }
        "text" if props["variant"] == "code" => {
            out.push_str(&format!("<pre class=\"{class}\"{hidden}><code>{}</code></pre>", escape(text(props, "text"))));
        }
        "text" => out.push_str(&format!("<p class=\"{class}\"{hidden}>{}</p>", escape(text(props, "text")))),
        "image" => out.push_str(&format!(
            "<img class=\"{class}\" src=\"{}\" alt=\"{}\" loading=\"lazy\"{hidden}>",
            safe_url(text(props, "src")),
            escape(text(props, "alt"))
        )),
        "button" if props["action"] == "submit" => out.push_str(&format!(
            "<button type=\"submit\" class=\"{class}\"{hidden}>{}</button>",
            escape(text(props, "label"))
        )),
        "button" | "link" => {
            let target = if props["new_tab"] == true { " target=\"_blank\" rel=\"noopener\"" } else { "" };
            out.push_str(&format!(
                "<a class=\"{class}\" href=\"{}\"{target}{hidden}>{}</a>",
                safe_url(props["href"].as_str().unwrap_or("#")),
                escape(text(props, "label"))
            ));
        }
        "form" => {
            out.push_str(&format!(
                "<form class=\"{class}\" data-collection=\"{}\" data-mode=\"{}\" data-success=\"{}\"{hidden}>",
                escape(text(props, "collection")),
                escape(props["mode"].as_str().unwrap_or("create")),
                escape(props["success_message"].as_str().unwrap_or("Thank you!"))
            ));
            children(node, out);
            out.push_str(&format!(
                "<button type=\"submit\">{}</button><p class=\"form-status\" role=\"status\"></p></form>",
                escape(props["submit_label"].as_str().unwrap_or("Send"))
            ));
        }
        "input" => {
            let field = escape(text(props, "field"));
            let label = escape(props["label"].as_str().unwrap_or(text(props, "field")));
            let required = if props["required"] == true { " required" } else { "" };
            let placeholder = escape(text(props, "placeholder"));
            let control = match props["input_type"].as_str().unwrap_or("text") {
                "textarea" => format!("<textarea name=\"{field}\" placeholder=\"{placeholder}\"{required}></textarea>"),
                "select" => {
                    let options: String = props["options"]
                        .as_array()
                        .map(|o| {
                            o.iter()
                                .filter_map(Value::as_str)
                                .map(|v| format!("<option>{}</option>", escape(v)))
                                .collect()
                        })
                        .unwrap_or_default();
                    format!("<select name=\"{field}\"{required}>{options}</select>")
                }
                other => format!(
                    "<input name=\"{field}\" type=\"{}\" placeholder=\"{placeholder}\"{required}>",
                    escape(other)
                ),
            };
            out.push_str(&format!("<label class=\"{class}\"{hidden}><span>{label}</span>{control}</label>"));
        }
        "list" => {
            out.push_str(&format!(
                "<ul class=\"{class}\" data-list=\"{}\" data-filter=\"{}\" data-sort=\"{}\" data-per-page=\"{}\"{hidden}></ul>",
                escape(text(props, "collection")),
                escape(text(props, "filter")),
                escape(text(props, "sort")),
                props["per_page"].as_i64().unwrap_or(20)
            ));
        }
        "footer" => {
            out.push_str(&format!("<footer class=\"{class}\"{hidden}>"));
            if !text(props, "text").is_empty() {
                out.push_str(&format!("<p>{}</p>", escape(text(props, "text"))));
            }
            if let Some(links) = props["links"].as_array() {
                out.push_str("<nav>");
                for l in links {
                    out.push_str(&format!(
                        "<a href=\"{}\">{}</a>",
                        safe_url(l["href"].as_str().unwrap_or("#")),
                        escape(l["label"].as_str().unwrap_or_default())
                    ));
                }
                out.push_str("</nav>");
            }
            children(node, out);
            out.push_str("</footer>");
        }
        other => {
            out.push_str(&format!("<div class=\"{class}\" data-type=\"{}\"{hidden}>", escape(other)));
            if let Some(t) = props["text"].as_str() {
                out.push_str(&format!("<p>{}</p>", escape(t)));
            }
            children(node, out);
            out.push_str("</div>");
        }
    }
}

/// One whole HTML document for a page.
pub fn page_document(title: &str, description: &str, document: &Value, api: Option<&str>, pwa: bool) -> String {
    let mut body = String::new();
    render(document, &mut body);
    let api = api.map(|a| format!(" data-api=\"{}\"", escape(a))).unwrap_or_default();
    let installable = if pwa {
        "<link rel=\"manifest\" href=\"manifest.webmanifest\">\n<meta name=\"theme-color\" content=\"#2563eb\">\n\
         <link rel=\"icon\" href=\"icons/icon-192.png\">\n"
    } else {
        // No icon file: say so, rather than have every visit ask for a missing /favicon.ico.
        "<link rel=\"icon\" href=\"data:,\">\n"
    };
    let pwa_attr = if pwa { " data-pwa=\"1\"" } else { "" };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <meta name=\"description\" content=\"{}\">\n<link rel=\"stylesheet\" href=\"styles.css\">\n\
         {installable}<script src=\"socle.js\" defer></script>\n</head>\n<body{api}{pwa_attr}>\n{body}\n</body>\n</html>\n",
        escape(title),
        escape(description)
    )
}

const SPACING: [(&str, &str); 7] = [
    ("none", "0"),
    ("xs", "0.25rem"),
    ("sm", "0.5rem"),
    ("md", "1rem"),
    ("lg", "1.5rem"),
    ("xl", "2rem"),
    ("2xl", "3rem"),
];
const COLORS: [(&str, &str); 10] = [
    ("primary", "#2563eb"),
    ("secondary", "#475569"),
    ("accent", "#db2777"),
    ("surface", "#ffffff"),
    ("muted", "#f1f5f9"),
    ("text", "#0f172a"),
    ("success", "#16a34a"),
    ("warning", "#d97706"),
    ("danger", "#dc2626"),
    ("transparent", "transparent"),
];

/// The stylesheet of the style tokens.
pub fn stylesheet() -> String {
    let mut css = String::from(
        "*{box-sizing:border-box}body{margin:0;font-family:system-ui,sans-serif;color:#0f172a;line-height:1.5}\
         main{display:flex;flex-direction:column}img{max-width:100%;height:auto}\
         .s-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr))}\
         .s-columns{display:flex;flex-wrap:wrap}.s-columns>*{flex:1 1 0}\
         .s-container{margin-left:auto;margin-right:auto;width:100%;max-width:72rem}\
         .s-button{display:inline-block;padding:.5rem 1rem;border-radius:.375rem;background:#2563eb;color:#fff;text-decoration:none}\
         .v-outline{background:transparent;color:#2563eb;border:1px solid #2563eb}.v-ghost{background:transparent;color:#2563eb}\
         .v-secondary{background:#475569}.v-danger{background:#dc2626}.v-small{font-size:.875rem}.v-lead{font-size:1.25rem}\
         .v-muted{color:#64748b}label{display:flex;flex-direction:column;gap:.25rem;margin:.5rem 0}\n",
    );
    for (name, size) in SPACING {
        css.push_str(&format!(".p-{name}{{padding:{size}}}.m-{name}{{margin:{size}}}.gap-{name}{{gap:{size}}}\n"));
    }
    for (name, color) in COLORS {
        css.push_str(&format!(".fg-{name}{{color:{color}}}.bg-{name}{{background:{color}}}\n"));
    }
    for (name, value) in [("start", "flex-start"), ("center", "center"), ("end", "flex-end"), ("stretch", "stretch")] {
        css.push_str(&format!(".items-{name}{{align-items:{value}}}\n"));
    }
    for (name, value) in [
        ("start", "flex-start"),
        ("center", "center"),
        ("end", "flex-end"),
        ("between", "space-between"),
        ("around", "space-around"),
    ] {
        css.push_str(&format!(".justify-{name}{{justify-content:{value}}}\n"));
    }
    for (name, value) in [("left", "left"), ("center", "center"), ("right", "right")] {
        css.push_str(&format!(".text-{name}{{text-align:{value}}}\n"));
    }
    for (name, value) in [
        ("auto", "auto"),
        ("full", "100%"),
        ("1-2", "50%"),
        ("1-3", "33.333%"),
        ("2-3", "66.667%"),
        ("1-4", "25%"),
        ("3-4", "75%"),
    ] {
        css.push_str(&format!(".w-{name}{{width:{value}}}\n"));
    }
    for (name, value) in [("none", "0"), ("sm", ".25rem"), ("md", ".5rem"), ("lg", "1rem"), ("full", "9999px")] {
        css.push_str(&format!(".r-{name}{{border-radius:{value}}}\n"));
    }
    for (name, value) in
        [("none", "none"), ("sm", "0 1px 2px #0002"), ("md", "0 4px 8px #0002"), ("lg", "0 8px 24px #0003")]
    {
        css.push_str(&format!(".shadow-{name}{{box-shadow:{value}}}\n"));
    }
    for (name, value) in [("sm", "40rem"), ("md", "48rem"), ("lg", "64rem"), ("xl", "80rem"), ("full", "100%")] {
        css.push_str(&format!(".max-{name}{{max-width:{value}}}\n"));
    }
    css
}

/// The script wiring forms and lists to the app's runtime API (PocketBase's paths).
pub const SCRIPT: &str = r#"(function(){
  if (document.body.getAttribute('data-pwa') && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js');
  }
  var api = document.body.getAttribute('data-api');
  if (!api) return;
  function records(c){ return api + '/api/collections/' + encodeURIComponent(c) + '/records'; }
  document.querySelectorAll('form[data-collection]').forEach(function(form){
    form.addEventListener('submit', function(e){
      e.preventDefault();
      var data = {};
      new FormData(form).forEach(function(v, k){ data[k] = v; });
      var status = form.querySelector('.form-status');
      fetch(records(form.getAttribute('data-collection')), {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(data)})
        .then(function(r){ if (!r.ok) throw new Error(r.status); status.textContent = form.getAttribute('data-success'); form.reset(); })
        .catch(function(){ status.textContent = 'Sending failed; try again.'; });
    });
  });
  document.querySelectorAll('ul[data-list]').forEach(function(list){
    var q = '?perPage=' + encodeURIComponent(list.getAttribute('data-per-page') || '20');
    var f = list.getAttribute('data-filter'); if (f) q += '&filter=' + encodeURIComponent(f);
    var s = list.getAttribute('data-sort'); if (s) q += '&sort=' + encodeURIComponent(s);
    fetch(records(list.getAttribute('data-list')) + q).then(function(r){ return r.json(); }).then(function(page){
      (page.items || []).forEach(function(item){
        var li = document.createElement('li');
        var shown = Object.keys(item).filter(function(k){ return typeof item[k] === 'string' && ['id','collectionId','collectionName','created','updated'].indexOf(k) < 0; });
        li.textContent = shown.map(function(k){ return item[k]; }).join(' — ');
        list.appendChild(li);
      });
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_become_escaped_semantic_html() {
        let doc = json!({"type": "page", "children": [
            {"type": "section", "props": {"anchor": "top", "padding": "lg"}, "children": [
                {"type": "heading", "props": {"text": "Fish & <chips>", "level": 1}},
                {"type": "link", "props": {"label": "Evil", "href": "javascript:alert(1)"}},
                {"type": "image", "props": {"src": "https://img.test/a.png", "alt": "A \"quoted\" fish"}}
            ]}
        ]});
        let mut out = String::new();
        render(&doc, &mut out);
        assert!(out.contains("<section class=\"s-section p-lg\" id=\"top\">"), "{out}");
        assert!(out.contains("<h1 class=\"s-heading\">Fish &amp; &lt;chips&gt;</h1>"), "{out}");
        assert!(out.contains("href=\"#\""), "javascript: URLs are dropped: {out}");
        assert!(out.contains("alt=\"A &quot;quoted&quot; fish\""), "{out}");
    }
}
