//! Image thumbnails in PocketBase's size syntax, made on first request and kept next to the
//! original: `WxH` (crop to fill, centered), `WxHt` (crop from the top), `WxHb` (from the
//! bottom), `WxHf` (fit inside), `0xH` and `Wx0` (keep the ratio). Only PNG, JPEG, GIF and
//! WebP are thumbnailed; decoding is bounded so a small file cannot claim huge memory.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Center,
    Top,
    Bottom,
    Fit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
    pub mode: Mode,
}

pub const MAX_SIDE: u32 = 4000;

/// Read `100x100`, `0x200`, `300x0`, `100x50t`, `100x50b`, `100x50f`.
pub fn parse(s: &str) -> Option<Size> {
    let (body, mode) = match s.chars().last()? {
        't' => (&s[..s.len() - 1], Mode::Top),
        'b' => (&s[..s.len() - 1], Mode::Bottom),
        'f' => (&s[..s.len() - 1], Mode::Fit),
        _ => (s, Mode::Center),
    };
    let (w, h) = body.split_once('x')?;
    let (width, height) = (w.parse::<u32>().ok()?, h.parse::<u32>().ok()?);
    if (width == 0 && height == 0) || width > MAX_SIDE || height > MAX_SIDE {
        return None;
    }
    if (width == 0 || height == 0) && mode != Mode::Center {
        return None;
    }
    Some(Size { width, height, mode })
}

/// The thumbnail's bytes and format, or None when the bytes are not a supported image.
pub fn make(bytes: &[u8], size: Size) -> Option<(Vec<u8>, ImageFormat)> {
    let (img, format) = decode_bounded(bytes)?;
    let out = resize(&img, size);
    // GIF and WebP thumbnails are written as PNG (one frame; the encoders we ship).
    let out_format = if format == ImageFormat::Jpeg { ImageFormat::Jpeg } else { ImageFormat::Png };
    let mut buf = Cursor::new(Vec::new());
    let out = if out_format == ImageFormat::Jpeg { DynamicImage::ImageRgb8(out.to_rgb8()) } else { out };
    out.write_to(&mut buf, out_format).ok()?;
    Some((buf.into_inner(), out_format))
}

/// A PNG, JPEG, GIF or WebP image decoded with bounds (12,000 px a side, 256 MiB), so that a
/// small file cannot claim huge memory; None for anything else.
pub fn decode_bounded(bytes: &[u8]) -> Option<(DynamicImage, ImageFormat)> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().ok()?;
    let format = reader.format()?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP) {
        return None;
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    Some((reader.decode().ok()?, format))
}

fn resize(img: &DynamicImage, size: Size) -> DynamicImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    match (size.width, size.height, size.mode) {
        (0, height, _) => img.resize(u32::MAX, height, FilterType::Lanczos3),
        (width, 0, _) => img.resize(width, u32::MAX, FilterType::Lanczos3),
        (width, height, Mode::Fit) => img.resize(width, height, FilterType::Lanczos3),
        (width, height, mode) => {
            // Scale to cover, then crop the overflow.
            let scale = f64::max(width as f64 / w as f64, height as f64 / h as f64);
            let (sw, sh) = (((w as f64) * scale).ceil() as u32, ((h as f64) * scale).ceil() as u32);
            let scaled = img.resize_exact(sw.max(width), sh.max(height), FilterType::Lanczos3);
            let x = (scaled.width() - width) / 2;
            let y = match mode {
                Mode::Top => 0,
                Mode::Bottom => scaled.height() - height,
                _ => (scaled.height() - height) / 2,
            };
            scaled.crop_imm(x, y, width, height)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Png).expect("encode");
        buf.into_inner()
    }

    fn dims(bytes: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(bytes).expect("decode");
        (img.width(), img.height())
    }

    #[test]
    fn sizes_follow_pocketbase() {
        let src = png(400, 200);
        for (spec, expected) in [
            ("100x100", (100, 100)),
            ("100x50t", (100, 50)),
            ("50x100b", (50, 100)),
            ("100x100f", (100, 50)),
            ("0x50", (100, 50)),
            ("80x0", (80, 40)),
        ] {
            let size = parse(spec).expect(spec);
            let (out, format) = make(&src, size).expect(spec);
            assert_eq!(format, ImageFormat::Png);
            assert_eq!(dims(&out), expected, "{spec}");
        }
        for bad in ["", "x", "0x0", "10", "axb", "5000x10", "0x10f", "10x10q"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(make(b"not an image", parse("10x10").expect("size")).is_none());
    }
}
