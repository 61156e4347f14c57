//! What every format is made from: the project's pages (with their file, route and component
//! names), the app the site talks to, its address, and the page images copied from the
//! organization's files, resized and recompressed.

use std::collections::HashMap;

use serde_json::Value;

pub struct SitePage {
    pub name: String,
    pub slug: String,
    pub home: bool,
    /// `index.html`, `about.html`.
    pub file: String,
    /// `/`, `/about`.
    pub route: String,
    /// `HomePage`, `AboutPage`.
    pub component: String,
    pub title: String,
    pub description: String,
    /// The page document, its images pointing at `images/…` when copied.
    pub document: Value,
}

pub struct Site {
    pub name: String,
    pub pages: Vec<SitePage>,
    /// The deployed app's API (`https://host/apps/{slug}`).
    pub api: Option<String>,
    /// The site's own address, for absolute URLs (`https://www.example.com`).
    pub base_url: String,
    /// Files copied into the export: (`images/x.jpg`, bytes).
    pub assets: Vec<(String, Vec<u8>)>,
}

/// The largest width an exported image keeps.
pub const MAX_IMAGE_WIDTH: u32 = 1600;

impl Site {
    /// The route a link goes to, when it is one of the site's pages (`/about.html`, `about`,
    /// `./about.html`, `/`); None for other addresses.
    pub fn route_of(&self, href: &str) -> Option<String> {
        let h = href.trim();
        if h.contains("://") || h.starts_with("mailto:") || h.starts_with('#') {
            return None;
        }
        let path = h.trim_start_matches("./").trim_start_matches('/');
        let path = path.split(['#', '?']).next().unwrap_or_default();
        let slug = path.strip_suffix(".html").unwrap_or(path);
        if slug.is_empty() || slug == "index" {
            return Some("/".into());
        }
        self.pages.iter().find(|p| p.slug == slug || p.file == path).map(|p| p.route.clone())
    }

    /// An npm or pub package name from the project's name (`my_site`, `my-site`).
    pub fn package_name(&self) -> String {
        self.identifier('-')
    }

    pub fn identifier(&self, sep: char) -> String {
        let words: Vec<String> = self
            .name
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let mut name = words.join(&sep.to_string());
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("site{sep}{name}").trim_end_matches(sep).to_string();
        }
        name.chars().take(60).collect()
    }

    /// Where an image's `src` points in a format whose public files are served from `root`
    /// (`""` for the static site, `/` for React, `assets/` for Flutter).
    pub fn image_src(&self, src: &str, root: &str) -> String {
        if src.starts_with("images/") { format!("{root}{src}") } else { crate::html::safe_href(src) }
    }

    pub fn robots(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        let mut robots = String::from("User-agent: *\nAllow: /\n");
        if !base.is_empty() {
            robots.push_str(&format!("Sitemap: {base}/sitemap.xml\n"));
        }
        robots
    }

    /// `sitemap.xml`: pages as files (`about.html`, the static site) or as routes (`/about`).
    pub fn sitemap(&self, files: bool) -> String {
        let base = self.base_url.trim_end_matches('/');
        let mut sitemap = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for p in &self.pages {
            let path = match (files, p.home) {
                (_, true) => "/".to_string(),
                (true, false) => format!("/{}", p.file),
                (false, false) => p.route.clone(),
            };
            sitemap.push_str(&format!("  <url><loc>{}</loc></url>\n", crate::html::escape(&format!("{base}{path}"))));
        }
        sitemap.push_str("</urlset>\n");
        sitemap
    }
}

/// The platform file an image `src` names (`…/api/v1/files/{id}/content…`), if any.
pub fn platform_file_id(src: &str) -> Option<&str> {
    let rest = src.split("/api/v1/files/").nth(1)?;
    let id = rest.split(['/', '?']).next()?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')).then_some(id)
}

/// Every image `src` of a document.
pub fn image_sources(node: &Value, out: &mut Vec<String>) {
    if node["type"] == "image"
        && let Some(src) = node["props"]["src"].as_str()
    {
        out.push(src.to_string());
    }
    for child in node["children"].as_array().into_iter().flatten() {
        image_sources(child, out);
    }
}

/// Point image `src`s at their copies.
pub fn rewrite_images(node: &mut Value, copies: &HashMap<String, String>) {
    if node["type"] == "image"
        && let Some(src) = node["props"]["src"].as_str()
        && let Some(copy) = copies.get(src)
    {
        node["props"]["src"] = Value::String(copy.clone());
    }
    if let Some(children) = node.get_mut("children").and_then(Value::as_array_mut) {
        for child in children {
            rewrite_images(child, copies);
        }
    }
}

/// An image made fit for the web: at most [`MAX_IMAGE_WIDTH`] wide, re-encoded (PNG when it
/// has transparency, else JPEG at quality 82), with its extension; None when the bytes are
/// not an image this can read. Decoding is bounded like thumbnails'.
pub fn optimize_image(bytes: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let (mut img, _) = runtime::thumbs::decode_bounded(bytes)?;
    if img.width() > MAX_IMAGE_WIDTH {
        let height = (u64::from(img.height()) * u64::from(MAX_IMAGE_WIDTH) / u64::from(img.width())).max(1) as u32;
        img = img.resize_exact(MAX_IMAGE_WIDTH, height, image::imageops::FilterType::Lanczos3);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    if img.color().has_alpha() {
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::Adaptive,
        );
        img.write_with_encoder(encoder).ok()?;
        Some((out.into_inner(), "png"))
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
        img.to_rgb8().write_with_encoder(encoder).ok()?;
        Some((out.into_inner(), "jpg"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_file_urls_are_recognised() {
        assert_eq!(platform_file_id("https://socle.example/api/v1/files/abc123/content"), Some("abc123"));
        assert_eq!(platform_file_id("/api/v1/files/abc123/content?thumb=10x10"), Some("abc123"));
        assert_eq!(platform_file_id("https://img.example/a.png"), None);
    }

    #[test]
    fn large_photos_are_resized_and_recompressed() {
        // A photo-like image (noise compresses badly as PNG, well as JPEG).
        let mut seed = 7u32;
        let img = image::RgbImage::from_fn(2400, 1200, |x, y| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let noise = (seed >> 24) as u8 / 8;
            image::Rgb([(x / 10 % 256) as u8 ^ noise, (y / 5 % 256) as u8, 90u8.wrapping_add(noise)])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).expect("encode");
        let png = png.into_inner();
        let (out, ext) = optimize_image(&png).expect("optimized");
        assert_eq!(ext, "jpg");
        let back = image::load_from_memory(&out).expect("decodes");
        assert_eq!((back.width(), back.height()), (MAX_IMAGE_WIDTH, 800));
        assert!(out.len() < png.len(), "{} >= {}", out.len(), png.len());
    }
}
