//! What makes an HTML export a progressive web app: the web manifest, icons in the sizes
//! installers ask for, and a service worker that caches the shell for offline use.

use kernel::{Error, Result};
use serde_json::{Value, json};

/// 192 and 512 are what Chrome's install criteria ask for; 180 is Apple's touch icon.
pub const ICON_SIZES: [u32; 3] = [180, 192, 512];
const THEME: [u8; 3] = [0x25, 0x63, 0xeb];

pub fn manifest(name: &str) -> Value {
    let name = if name.trim().is_empty() { "Site" } else { name.trim() };
    let short: String = name.chars().take(12).collect();
    json!({
        "name": name,
        "short_name": short,
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#2563eb",
        "icons": ICON_SIZES.iter().map(|s| json!({"src": format!("icons/icon-{s}.png"), "sizes": format!("{s}x{s}"),
            "type": "image/png", "purpose": "any maskable"})).collect::<Vec<_>>()
    })
}

/// A square PNG icon in the theme colour, a lighter disc in its middle.
pub fn icon(size: u32) -> Result<Vec<u8>> {
    let center = size as f32 / 2.0;
    let radius = size as f32 * 0.28;
    let image = image::RgbaImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - center, y as f32 + 0.5 - center);
        if dx * dx + dy * dy <= radius * radius {
            image::Rgba([0xff, 0xff, 0xff, 0xff])
        } else {
            image::Rgba([THEME[0], THEME[1], THEME[2], 0xff])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).map_err(Error::internal)?;
    Ok(out.into_inner())
}

/// Cache the shell when installed (a cache per export, older ones dropped), then answer
/// from the network and fall back to the cache when offline.
pub fn service_worker(version: &str, shell: &[String]) -> String {
    let files = serde_json::to_string(shell).unwrap_or_else(|_| "[]".into());
    format!(
        r#"const CACHE = 'socle-{version}';
const SHELL = {files};
self.addEventListener('install', (e) => {{
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
}});
self.addEventListener('activate', (e) => {{
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))));
}});
self.addEventListener('fetch', (e) => {{
  if (e.request.method !== 'GET') return;
  e.respondWith(fetch(e.request).then((r) => {{
    const copy = r.clone();
    if (r.ok && new URL(e.request.url).origin === location.origin) caches.open(CACHE).then((c) => c.put(e.request, copy));
    return r;
  }}).catch(() => caches.match(e.request).then((hit) => hit || caches.match('index.html'))));
}});
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_pngs_of_their_size() {
        let png = icon(192).expect("an icon");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&png).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (192, 192));
        assert_eq!(manifest("Fish and chips shop")["short_name"], "Fish and chi");
    }
}
