//! The React export: a Vite + React + TypeScript project (versions pinned), one component
//! per page under `src/pages/`, routes with `react-router-dom`, and forms and lists bound to
//! collections talking to the deployed app through the official `pocketbase` SDK.
//!
//! Each component type has its JSX template in [`render`]; texts and attributes are written
//! as JavaScript string literals (JSON), so nothing a builder typed becomes code.

use serde_json::{Value, json};

use crate::site::{Site, SitePage};

/// Pinned versions: the project builds the same way tomorrow.
const DEPENDENCIES: [(&str, &str); 4] =
    [("pocketbase", "0.28.1"), ("react", "18.3.1"), ("react-dom", "18.3.1"), ("react-router-dom", "6.30.1")];
const DEV_DEPENDENCIES: [(&str, &str); 5] = [
    ("@types/react", "18.3.12"),
    ("@types/react-dom", "18.3.1"),
    ("@vitejs/plugin-react", "4.3.4"),
    ("typescript", "5.6.3"),
    ("vite", "5.4.9"),
];

/// A JavaScript string literal of `s`.
fn lit(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// A page's component name: `about-us` → `AboutUsPage`.
pub fn component_name(slug: &str, home: bool) -> String {
    if home {
        return "HomePage".into();
    }
    let mut name: String = slug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|f| f.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("P{name}");
    }
    format!("{name}Page")
}

fn text<'a>(props: &'a Value, key: &str) -> &'a str {
    props[key].as_str().unwrap_or_default()
}

fn attrs(kind: &str, props: &Value) -> String {
    let hidden = if props["hidden"] == true { " hidden" } else { "" };
    format!("className={{{}}}{hidden}", lit(&crate::html::class_names(kind, props)))
}

fn children(node: &Value, site: &Site, out: &mut String) {
    for child in node["children"].as_array().into_iter().flatten() {
        render(child, site, out);
    }
}

/// Internal links (`/about.html`, `about`) become router links; others stay anchors.
fn link(href: &str, site: &Site, class: &str, label: &str, new_tab: bool) -> String {
    match site.route_of(href) {
        Some(route) if !new_tab => format!("<Link {class} to={{{}}}>{{{}}}</Link>", lit(&route), lit(label)),
        _ => {
            let target = if new_tab { " target=\"_blank\" rel=\"noopener\"" } else { "" };
            format!("<a {class} href={{{}}}{target}>{{{}}}</a>", lit(&crate::html::safe_href(href)), lit(label))
        }
    }
}

/// Append the JSX of `node` and its children.
pub fn render(node: &Value, site: &Site, out: &mut String) {
    let kind = node["type"].as_str().unwrap_or("div");
    let props = &node["props"];
    let a = attrs(kind, props);
    match kind {
        "page" => {
            out.push_str(&format!("<main {a}>"));
            children(node, site, out);
            out.push_str("</main>");
        }
        "section" => {
            let id = text(props, "anchor");
            let id = if id.is_empty() { String::new() } else { format!(" id={{{}}}", lit(id)) };
            out.push_str(&format!("<section {a}{id}>"));
            children(node, site, out);
            out.push_str("</section>");
        }
        "heading" => {
            let level = props["level"].as_i64().unwrap_or(2).clamp(1, 6);
            out.push_str(&format!("<h{level} {a}>{{{}}}</h{level}>", lit(text(props, "text"))));
        }
        "text" if props["variant"] == "code" => {
            out.push_str(&format!("<pre {a}><code>{{{}}}</code></pre>", lit(text(props, "text"))))
        }
        "text" => out.push_str(&format!("<p {a}>{{{}}}</p>", lit(text(props, "text")))),
        "image" => out.push_str(&format!(
            "<img {a} src={{{}}} alt={{{}}} loading=\"lazy\" />",
            lit(&site.image_src(text(props, "src"), "/")),
            lit(text(props, "alt"))
        )),
        "button" if props["action"] == "submit" => {
            out.push_str(&format!("<button type=\"submit\" {a}>{{{}}}</button>", lit(text(props, "label"))))
        }
        "button" | "link" => out.push_str(&link(
            props["href"].as_str().unwrap_or("#"),
            site,
            &a,
            text(props, "label"),
            props["new_tab"] == true,
        )),
        "form" => {
            out.push_str(&format!(
                "<CollectionForm {a} collection={{{}}} submitLabel={{{}}} successMessage={{{}}}>",
                lit(text(props, "collection")),
                lit(props["submit_label"].as_str().unwrap_or("Send")),
                lit(props["success_message"].as_str().unwrap_or("Thank you!"))
            ));
            children(node, site, out);
            out.push_str("</CollectionForm>");
        }
        "input" => {
            let field = lit(text(props, "field"));
            let label = lit(props["label"].as_str().unwrap_or(text(props, "field")));
            let required = if props["required"] == true { " required" } else { "" };
            let placeholder = lit(text(props, "placeholder"));
            let control = match props["input_type"].as_str().unwrap_or("text") {
                "textarea" => format!("<textarea name={{{field}}} placeholder={{{placeholder}}}{required} />"),
                "select" => {
                    let options: String = props["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|v| format!("<option key={{{0}}}>{{{0}}}</option>", lit(v)))
                        .collect();
                    format!("<select name={{{field}}}{required}>{options}</select>")
                }
                other => format!(
                    "<input name={{{field}}} type={{{}}} placeholder={{{placeholder}}}{required} />",
                    lit(other)
                ),
            };
            out.push_str(&format!("<label {a}><span>{{{label}}}</span>{control}</label>"));
        }
        "list" => out.push_str(&format!(
            "<CollectionList {a} collection={{{}}} filter={{{}}} sort={{{}}} perPage={{{}}} />",
            lit(text(props, "collection")),
            lit(text(props, "filter")),
            lit(text(props, "sort")),
            props["per_page"].as_i64().unwrap_or(20).clamp(1, 500)
        )),
        "footer" => {
            out.push_str(&format!("<footer {a}>"));
            if !text(props, "text").is_empty() {
                out.push_str(&format!("<p>{{{}}}</p>", lit(text(props, "text"))));
            }
            let links = props["links"].as_array().cloned().unwrap_or_default();
            if !links.is_empty() {
                out.push_str("<nav>");
                for l in &links {
                    let label = l["label"].as_str().unwrap_or_default();
                    out.push_str(&link(l["href"].as_str().unwrap_or("#"), site, "", label, false));
                }
                out.push_str("</nav>");
            }
            children(node, site, out);
            out.push_str("</footer>");
        }
        other => {
            out.push_str(&format!("<div {a} data-type={{{}}}>", lit(other)));
            if let Some(t) = props["text"].as_str() {
                out.push_str(&format!("<p>{{{}}}</p>", lit(t)));
            }
            children(node, site, out);
            out.push_str("</div>");
        }
    }
}

fn page_component(page: &SitePage, site: &Site) -> String {
    let mut body = String::new();
    render(&page.document, site, &mut body);
    let mut imports = vec!["import { useEffect } from \"react\";".to_string()];
    if body.contains("<Link ") {
        imports.push("import { Link } from \"react-router-dom\";".into());
    }
    if body.contains("<CollectionForm") {
        imports.push("import CollectionForm from \"../components/CollectionForm\";".into());
    }
    if body.contains("<CollectionList") {
        imports.push("import CollectionList from \"../components/CollectionList\";".into());
    }
    format!(
        "// The page \"{name}\" ({route}), exported from Socle.\n{imports}\n\nexport default function {component}() {{\n  useEffect(() => {{\n    document.title = {title};\n  }}, []);\n  return (\n    {body}\n  );\n}}\n",
        name = page.name.replace(['\n', '\r'], " "),
        route = page.route,
        imports = imports.join("\n"),
        component = page.component,
        title = lit(&page.title),
    )
}

fn package_json(site: &Site) -> String {
    let deps: serde_json::Map<String, Value> = DEPENDENCIES.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let dev: serde_json::Map<String, Value> = DEV_DEPENDENCIES.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let pkg = json!({
        "name": site.package_name(),
        "private": true,
        "version": "0.1.0",
        "type": "module",
        "scripts": {"dev": "vite", "build": "tsc --noEmit && vite build", "preview": "vite preview"},
        "dependencies": deps,
        "devDependencies": dev,
    });
    serde_json::to_string_pretty(&pkg).unwrap_or_default() + "\n"
}

const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "ES2020",
    "lib": ["ES2020", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "jsx": "react-jsx",
    "strict": true,
    "skipLibCheck": true,
    "noEmit": true,
    "isolatedModules": true,
    "types": ["vite/client"]
  },
  "include": ["src"]
}
"#;

const VITE_CONFIG: &str = r#"import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({ plugins: [react()] });
"#;

const POCKETBASE: &str = r#"import PocketBase from "pocketbase";

/** The deployed app's API (PocketBase's dialect): VITE_API_URL overrides the exported one. */
export const apiUrl: string = import.meta.env.VITE_API_URL ?? API_URL;

export const pb = new PocketBase(apiUrl);
"#;

const COLLECTION_FORM: &str = r#"import { FormEvent, ReactNode, useState } from "react";
import { pb } from "../lib/pocketbase";

type Props = {
  className?: string;
  hidden?: boolean;
  collection: string;
  submitLabel: string;
  successMessage: string;
  children?: ReactNode;
};

/** A form that creates a record in the app's collection. */
export default function CollectionForm({ className, hidden, collection, submitLabel, successMessage, children }: Props) {
  const [status, setStatus] = useState("");
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = Object.fromEntries(new FormData(form).entries());
    try {
      await pb.collection(collection).create(data);
      setStatus(successMessage);
      form.reset();
    } catch {
      setStatus("Sending failed; try again.");
    }
  }
  return (
    <form className={className} hidden={hidden} onSubmit={submit}>
      {children}
      <button type="submit">{submitLabel}</button>
      <p className="form-status" role="status">{status}</p>
    </form>
  );
}
"#;

const COLLECTION_LIST: &str = r#"import { useEffect, useState } from "react";
import type { RecordModel } from "pocketbase";
import { pb } from "../lib/pocketbase";

type Props = { className?: string; hidden?: boolean; collection: string; filter: string; sort: string; perPage: number };

const HIDDEN_KEYS = ["id", "collectionId", "collectionName", "created", "updated"];

/** The records of one of the app's collections. */
export default function CollectionList({ className, hidden, collection, filter, sort, perPage }: Props) {
  const [items, setItems] = useState<RecordModel[]>([]);
  useEffect(() => {
    pb.collection(collection)
      .getList(1, perPage, { filter: filter || undefined, sort: sort || undefined, requestKey: null })
      .then((page) => setItems(page.items))
      .catch(() => setItems([]));
  }, [collection, filter, sort, perPage]);
  return (
    <ul className={className} hidden={hidden}>
      {items.map((item) => (
        <li key={item.id}>
          {Object.keys(item)
            .filter((k) => typeof item[k] === "string" && !HIDDEN_KEYS.includes(k))
            .map((k) => item[k])
            .join(" — ")}
        </li>
      ))}
    </ul>
  );
}
"#;

/// Every file of the project, as (path, content).
pub fn project_files(site: &Site) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |path: &str, content: String| files.push((path.to_string(), content.into_bytes()));
    add("package.json", package_json(site));
    add("tsconfig.json", TSCONFIG.into());
    add("vite.config.ts", VITE_CONFIG.into());
    add(
        "index.html",
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n<body>\n<div id=\"root\"></div>\n<script type=\"module\" src=\"/src/main.tsx\"></script>\n</body>\n</html>\n",
            crate::html::escape(&site.name)
        ),
    );
    add(
        "src/lib/pocketbase.ts",
        POCKETBASE.replace("API_URL;", &format!("{};", lit(site.api.as_deref().unwrap_or("http://127.0.0.1:8090")))),
    );
    add("src/components/CollectionForm.tsx", COLLECTION_FORM.into());
    add("src/components/CollectionList.tsx", COLLECTION_LIST.into());
    add("src/styles.css", crate::html::stylesheet());
    let mut imports = String::new();
    let mut routes = String::new();
    for page in &site.pages {
        imports.push_str(&format!("import {0} from \"./pages/{0}\";\n", page.component));
        routes.push_str(&format!("        <Route path={} element={{<{} />}} />\n", lit(&page.route), page.component));
        add(&format!("src/pages/{}.tsx", page.component), page_component(page, site));
    }
    add(
        "src/main.tsx",
        format!(
            "import {{ StrictMode }} from \"react\";\nimport {{ createRoot }} from \"react-dom/client\";\nimport {{ BrowserRouter, Route, Routes }} from \"react-router-dom\";\nimport \"./styles.css\";\n{imports}\nconst root = document.getElementById(\"root\");\nif (root) {{\n  createRoot(root).render(\n    <StrictMode>\n      <BrowserRouter>\n        <Routes>\n{routes}        </Routes>\n      </BrowserRouter>\n    </StrictMode>,\n  );\n}}\n"
        ),
    );
    add("public/robots.txt", site.robots());
    add("public/sitemap.xml", site.sitemap(false));
    add(
        "README.md",
        format!(
            "# {}\n\nExported from Socle as a Vite + React + TypeScript project.\n\n```sh\nnpm install\nnpm run dev     # http://localhost:5173\nnpm run build   # into dist/\n```\n\nData comes from the app's API through the official `pocketbase` SDK\n(`src/lib/pocketbase.ts`); set `VITE_API_URL` to point it elsewhere.\n",
            site.name
        ),
    );
    for (path, bytes) in &site.assets {
        files.push((format!("public/{path}"), bytes.clone()));
    }
    files
}
