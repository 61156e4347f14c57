//! The Flutter export: a Flutter project (`pubspec.yaml` with pinned packages), one widget per
//! page under `lib/pages/`, named routes, and forms and lists bound to collections talking
//! to the deployed app through the official PocketBase Dart SDK (`pocketbase` on pub.dev).
//!
//! Each component type has its widget template in [`render`]; texts are Dart string literals
//! with `\`, `'` and `$` escaped, so nothing a builder typed becomes code.

use serde_json::Value;

use crate::site::{Site, SitePage};

/// Dart single-quoted string literal of `s`.
pub fn lit(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A page's file name: `AboutUsPage` → `about_us_page.dart`.
pub fn file_name(component: &str) -> String {
    let mut out = String::new();
    for (i, c) in component.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    format!("{out}.dart")
}

fn text<'a>(props: &'a Value, key: &str) -> &'a str {
    props[key].as_str().unwrap_or_default()
}

const SPACING: [(&str, f64); 7] =
    [("none", 0.0), ("xs", 4.0), ("sm", 8.0), ("md", 16.0), ("lg", 24.0), ("xl", 32.0), ("2xl", 48.0)];

fn padding(props: &Value) -> f64 {
    props["padding"].as_str().and_then(|p| SPACING.iter().find(|(k, _)| *k == p)).map_or(0.0, |(_, v)| *v)
}

fn children(node: &Value, site: &Site) -> String {
    node["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| render(c, site))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A tap that goes to another page, or opens an address.
fn on_tap(href: &str, site: &Site) -> String {
    match site.route_of(href) {
        Some(route) => format!("() => Navigator.of(context).pushNamed({})", lit(&route)),
        None => format!("() => openAddress({})", lit(&crate::html::safe_href(href))),
    }
}

/// The widget of `node` and its children, as a Dart expression.
pub fn render(node: &Value, site: &Site) -> String {
    let kind = node["type"].as_str().unwrap_or("div");
    let props = &node["props"];
    if props["hidden"] == true {
        return String::new();
    }
    match kind {
        "page" => {
            format!("Column(crossAxisAlignment: CrossAxisAlignment.stretch, children: [{}])", children(node, site))
        }
        "section" => format!(
            "Padding(padding: const EdgeInsets.all({:.1}), child: Column(crossAxisAlignment: CrossAxisAlignment.stretch, children: [{}]))",
            padding(props),
            children(node, site)
        ),
        "heading" => {
            let style = match props["level"].as_i64().unwrap_or(2) {
                1 => "headlineLarge",
                2 => "headlineMedium",
                3 => "headlineSmall",
                4 => "titleLarge",
                5 => "titleMedium",
                _ => "titleSmall",
            };
            format!("Text({}, style: Theme.of(context).textTheme.{style})", lit(text(props, "text")))
        }
        "text" if props["variant"] == "code" => {
            format!("SelectableText({}, style: const TextStyle(fontFamily: 'monospace'))", lit(text(props, "text")))
        }
        "text" => format!("Text({})", lit(text(props, "text"))),
        "image" => {
            let src = site.image_src(text(props, "src"), "assets/");
            let alt = lit(text(props, "alt"));
            if src.starts_with("assets/") {
                format!("Image.asset({}, semanticLabel: {alt})", lit(&src))
            } else {
                format!("Image.network({}, semanticLabel: {alt})", lit(&src))
            }
        }
        "button" if props["action"] == "submit" => String::new(),
        "button" => format!(
            "Align(alignment: Alignment.centerLeft, child: FilledButton(onPressed: {}, child: Text({})))",
            on_tap(props["href"].as_str().unwrap_or("#"), site),
            lit(text(props, "label"))
        ),
        "link" => format!(
            "Align(alignment: Alignment.centerLeft, child: TextButton(onPressed: {}, child: Text({})))",
            on_tap(props["href"].as_str().unwrap_or("#"), site),
            lit(text(props, "label"))
        ),
        "form" => {
            let fields: Vec<String> = node["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["type"] == "input")
                .map(|c| field_spec(&c["props"]))
                .collect();
            format!(
                "CollectionForm(collection: {}, fields: const [{}], submitLabel: {}, successMessage: {})",
                lit(text(props, "collection")),
                fields.join(", "),
                lit(props["submit_label"].as_str().unwrap_or("Send")),
                lit(props["success_message"].as_str().unwrap_or("Thank you!"))
            )
        }
        "input" => format!(
            "TextField(decoration: InputDecoration(labelText: {}))",
            lit(props["label"].as_str().unwrap_or(text(props, "field")))
        ),
        "list" => format!(
            "CollectionList(collection: {}, filter: {}, sort: {}, perPage: {})",
            lit(text(props, "collection")),
            lit(text(props, "filter")),
            lit(text(props, "sort")),
            props["per_page"].as_i64().unwrap_or(20).clamp(1, 500)
        ),
        "footer" => {
            let mut items = Vec::new();
            if !text(props, "text").is_empty() {
                items.push(format!("Text({})", lit(text(props, "text"))));
            }
            let links: Vec<String> = props["links"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    format!(
                        "TextButton(onPressed: {}, child: Text({}))",
                        on_tap(l["href"].as_str().unwrap_or("#"), site),
                        lit(l["label"].as_str().unwrap_or_default())
                    )
                })
                .collect();
            if !links.is_empty() {
                items.push(format!("Wrap(spacing: 8, children: [{}])", links.join(", ")));
            }
            let rest = children(node, site);
            if !rest.is_empty() {
                items.push(rest);
            }
            format!("Padding(padding: const EdgeInsets.all(16), child: Column(children: [{}]))", items.join(", "))
        }
        _ => {
            let mut items = Vec::new();
            if let Some(t) = props["text"].as_str() {
                items.push(format!("Text({})", lit(t)));
            }
            let rest = children(node, site);
            if !rest.is_empty() {
                items.push(rest);
            }
            format!("Column(crossAxisAlignment: CrossAxisAlignment.stretch, children: [{}])", items.join(", "))
        }
    }
}

fn field_spec(props: &Value) -> String {
    let options: Vec<String> =
        props["options"].as_array().into_iter().flatten().filter_map(Value::as_str).map(lit).collect();
    format!(
        "FieldSpec(name: {}, label: {}, type: {}, required: {}, options: [{}])",
        lit(text(props, "field")),
        lit(props["label"].as_str().unwrap_or(text(props, "field"))),
        lit(props["input_type"].as_str().unwrap_or("text")),
        props["required"] == true,
        options.join(", ")
    )
}

fn page_widget(page: &SitePage, site: &Site) -> String {
    let body = render(&page.document, site);
    format!(
        "// The page \"{name}\" ({route}), exported from Socle.\nimport 'package:flutter/material.dart';\n\nimport '../widgets/collection_form.dart';\nimport '../widgets/collection_list.dart';\nimport '../widgets/open_address.dart';\n\nclass {component} extends StatelessWidget {{\n  const {component}({{super.key}});\n\n  @override\n  Widget build(BuildContext context) {{\n    return Scaffold(\n      appBar: AppBar(title: Text({title})),\n      body: SingleChildScrollView(\n        child: {body},\n      ),\n    );\n  }}\n}}\n",
        name = page.name.replace(['\n', '\r'], " "),
        route = page.route,
        component = page.component,
        title = lit(&page.title),
    )
}

const API: &str = "import 'package:pocketbase/pocketbase.dart';

/// The deployed app's API (PocketBase's dialect); `--dart-define=API_URL=...` overrides it.
const apiUrl = String.fromEnvironment('API_URL', defaultValue: DEFAULT_URL);

final pb = PocketBase(apiUrl);
";

const COLLECTION_FORM: &str = "import 'package:flutter/material.dart';

import '../api.dart';

/// One input of a form: the record field it fills.
class FieldSpec {
  const FieldSpec({required this.name, required this.label, required this.type, required this.required, required this.options});

  final String name;
  final String label;
  final String type;
  final bool required;
  final List<String> options;
}

/// A form that creates a record in the app's collection.
class CollectionForm extends StatefulWidget {
  const CollectionForm({super.key, required this.collection, required this.fields, required this.submitLabel, required this.successMessage});

  final String collection;
  final List<FieldSpec> fields;
  final String submitLabel;
  final String successMessage;

  @override
  State<CollectionForm> createState() => _CollectionFormState();
}

class _CollectionFormState extends State<CollectionForm> {
  final _form = GlobalKey<FormState>();
  final Map<String, String> _values = {};
  String _status = '';

  Future<void> _submit() async {
    if (!(_form.currentState?.validate() ?? false)) return;
    _form.currentState?.save();
    try {
      await pb.collection(widget.collection).create(body: _values);
      setState(() => _status = widget.successMessage);
      _form.currentState?.reset();
    } catch (_) {
      setState(() => _status = 'Sending failed; try again.');
    }
  }

  @override
  Widget build(BuildContext context) {
    return Form(
      key: _form,
      child: Column(
        crossAxisAlignment: CrossAxisAlignment.stretch,
        children: [
          for (final field in widget.fields)
            field.options.isNotEmpty
                ? DropdownButtonFormField<String>(
                    decoration: InputDecoration(labelText: field.label),
                    items: [for (final o in field.options) DropdownMenuItem(value: o, child: Text(o))],
                    onChanged: (v) => _values[field.name] = v ?? '',
                    validator: (v) => field.required && (v == null || v.isEmpty) ? 'Required' : null,
                  )
                : TextFormField(
                    decoration: InputDecoration(labelText: field.label),
                    maxLines: field.type == 'textarea' ? 4 : 1,
                    keyboardType: field.type == 'email' ? TextInputType.emailAddress : TextInputType.text,
                    onSaved: (v) => _values[field.name] = v ?? '',
                    validator: (v) => field.required && (v == null || v.isEmpty) ? 'Required' : null,
                  ),
          const SizedBox(height: 12),
          Align(alignment: Alignment.centerLeft, child: FilledButton(onPressed: _submit, child: Text(widget.submitLabel))),
          if (_status.isNotEmpty) Text(_status),
        ],
      ),
    );
  }
}
";

const COLLECTION_LIST: &str = "import 'package:flutter/material.dart';
import 'package:pocketbase/pocketbase.dart';

import '../api.dart';

const _hiddenKeys = ['id', 'collectionId', 'collectionName', 'created', 'updated'];

/// The records of one of the app's collections.
class CollectionList extends StatelessWidget {
  const CollectionList({super.key, required this.collection, required this.filter, required this.sort, required this.perPage});

  final String collection;
  final String filter;
  final String sort;
  final int perPage;

  @override
  Widget build(BuildContext context) {
    return FutureBuilder<ResultList<RecordModel>>(
      future: pb.collection(collection).getList(
            perPage: perPage,
            filter: filter.isEmpty ? null : filter,
            sort: sort.isEmpty ? null : sort,
          ),
      builder: (context, snapshot) {
        final items = snapshot.data?.items ?? const <RecordModel>[];
        return Column(
          children: [
            for (final item in items)
              ListTile(
                title: Text(item.data.entries
                    .where((e) => e.value is String && !_hiddenKeys.contains(e.key))
                    .map((e) => e.value as String)
                    .join(' — ')),
              ),
          ],
        );
      },
    );
  }
}
";

const OPEN_ADDRESS: &str = "import 'package:url_launcher/url_launcher.dart';

/// Open an address outside the app (a link to another site, an email).
Future<void> openAddress(String address) async {
  final uri = Uri.tryParse(address);
  if (uri != null && uri.hasScheme) {
    await launchUrl(uri);
  }
}
";

const ANALYSIS_OPTIONS: &str = "include: package:flutter_lints/flutter.yaml\n";

/// Every file of the project, as (path, content).
pub fn project_files(site: &Site) -> Vec<(String, Vec<u8>)> {
    let package = site.identifier('_');
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |path: &str, content: String| files.push((path.to_string(), content.into_bytes()));
    let assets = if site.assets.is_empty() { String::new() } else { "  assets:\n    - assets/images/\n".to_string() };
    add(
        "pubspec.yaml",
        format!(
            "name: {package}\ndescription: {desc}\npublish_to: none\nversion: 0.1.0\n\nenvironment:\n  sdk: '>=3.4.0 <4.0.0'\n\ndependencies:\n  flutter:\n    sdk: flutter\n  pocketbase: 0.23.0\n  url_launcher: 6.3.1\n\ndev_dependencies:\n  flutter_lints: 4.0.0\n  flutter_test:\n    sdk: flutter\n\nflutter:\n  uses-material-design: true\n{assets}",
            // A JSON string is a valid YAML double-quoted scalar.
            desc = serde_json::Value::String(format!("{}, exported from Socle.", site.name)),
        ),
    );
    add("analysis_options.yaml", ANALYSIS_OPTIONS.into());
    add("lib/api.dart", API.replace("DEFAULT_URL", &lit(site.api.as_deref().unwrap_or("http://127.0.0.1:8090"))));
    add("lib/widgets/collection_form.dart", COLLECTION_FORM.into());
    add("lib/widgets/collection_list.dart", COLLECTION_LIST.into());
    add("lib/widgets/open_address.dart", OPEN_ADDRESS.into());
    let mut imports = String::new();
    let mut routes = String::new();
    for page in &site.pages {
        let file = file_name(&page.component);
        imports.push_str(&format!("import 'pages/{file}';\n"));
        routes.push_str(&format!("        {}: (context) => const {}(),\n", lit(&page.route), page.component));
        add(&format!("lib/pages/{file}"), page_widget(page, site));
    }
    add(
        "lib/main.dart",
        format!(
            "import 'package:flutter/material.dart';\n\n{imports}\nvoid main() => runApp(const SiteApp());\n\nclass SiteApp extends StatelessWidget {{\n  const SiteApp({{super.key}});\n\n  @override\n  Widget build(BuildContext context) {{\n    return MaterialApp(\n      title: {title},\n      theme: ThemeData(colorSchemeSeed: const Color(0xFF2563EB), useMaterial3: true),\n      initialRoute: '/',\n      routes: {{\n{routes}      }},\n    );\n  }}\n}}\n",
            title = lit(&site.name),
        ),
    );
    add(
        "README.md",
        format!(
            "# {}\n\nExported from Socle as a Flutter project.\n\n```sh\nflutter create . --platforms=web,android,ios   # adds the platform folders\nflutter pub get\nflutter run\n```\n\nData comes from the app's API through the official PocketBase Dart SDK (`lib/api.dart`);\nrun with `--dart-define=API_URL=...` to point it elsewhere.\n",
            site.name
        ),
    );
    for (path, bytes) in &site.assets {
        files.push((format!("assets/{path}"), bytes.clone()));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_become_inert_dart_strings() {
        assert_eq!(lit("it's $money \\ 100"), "'it\\'s \\$money \\\\ 100'");
        assert_eq!(lit("a\nb"), "'a\\nb'");
        assert_eq!(file_name("AboutUsPage"), "about_us_page.dart");
    }
}
