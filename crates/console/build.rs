//! Embeds the console's build output (`console/dist`, committed) into the binary: writes
//! `$OUT_DIR/assets.rs`, a sorted table of every file with its content type and its bytes
//! (`include_bytes!`). Cargo reruns this when anything under `console/dist` changes.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let dist = manifest.join("../../console/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &mut files)?;
    } else {
        println!(
            "cargo:warning=console/dist is missing: the console is not embedded (run `npm run build` in console/)"
        );
    }
    // Sorted as the strings the server looks up (a binary search), not as paths.
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let relative = file.strip_prefix(&dist)?.to_str().ok_or("a console file name is not UTF-8")?.replace('\\', "/");
        entries.push((relative, file));
    }
    entries.sort();
    let mut table =
        String::from("/// Every file of the console's build, sorted by path.\npub static FILES: &[Asset] = &[\n");
    for (relative, file) in &entries {
        let absolute = file.canonicalize()?;
        let absolute = absolute.to_str().ok_or("a console path is not UTF-8")?;
        writeln!(
            table,
            "    Asset {{ path: {relative:?}, content_type: {:?}, body: include_bytes!({absolute:?}) }},",
            content_type(file)
        )?;
    }
    table.push_str("];\n");
    fs::write(PathBuf::from(env::var("OUT_DIR")?).join("assets.rs"), table)?;
    Ok(())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The `Content-Type` of a file, with a charset for text.
fn content_type(path: &Path) -> String {
    let mime = match path.extension().and_then(|e| e.to_str()) {
        // RFC 9239: JavaScript is text/javascript.
        Some("js" | "mjs") => "text/javascript".to_string(),
        _ => mime_guess::from_path(path).first_or_octet_stream().essence_str().to_string(),
    };
    if mime.starts_with("text/") || mime == "image/svg+xml" || mime == "application/json" {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}
