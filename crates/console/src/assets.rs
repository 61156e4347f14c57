//! The embedded build output of `console/` (see `build.rs`).

/// One file of the console's build.
pub struct Asset {
    /// Relative to the build's root, with `/` separators: `index.html`, `assets/index-3f2a.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path`, if the build has it.
pub fn find(path: &str) -> Option<&'static Asset> {
    FILES.binary_search_by(|asset| asset.path.cmp(path)).ok().and_then(|i| FILES.get(i))
}

/// Whether the file at `path` has a content hash in its name (Vite's `assets/` folder), so
/// that it never changes and may be cached for good.
pub fn is_immutable(path: &str) -> bool {
    path.starts_with("assets/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_sorted_for_lookup() {
        assert!(FILES.windows(2).all(|w| w[0].path < w[1].path));
        for asset in FILES {
            assert!(find(asset.path).is_some_and(|found| std::ptr::eq(found, asset)));
        }
        assert!(find("nothing/here.js").is_none());
    }

    #[test]
    fn the_build_has_an_index_and_typed_assets() {
        let index = find("index.html").map(|a| a.content_type);
        assert_eq!(index, Some("text/html; charset=utf-8"));
        for asset in FILES.iter().filter(|a| a.path.ends_with(".js")) {
            assert_eq!(asset.content_type, "text/javascript; charset=utf-8", "{}", asset.path);
        }
        assert!(is_immutable("assets/index-abc.js"));
        assert!(!is_immutable("index.html"));
    }
}
