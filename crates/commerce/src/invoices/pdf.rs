//! A small PDF writer for invoices: one A4 page, the standard Helvetica fonts (no font
//! embedded), text lines placed by coordinates, WinAnsi encoding. Enough for a document any
//! reader opens and any PDF library parses back to its text.

/// A text line: x and y in points from the bottom left, size, bold.
pub struct Line {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub bold: bool,
    pub text: String,
}

impl Line {
    pub fn new(x: f32, y: f32, size: f32, text: impl Into<String>) -> Self {
        Line { x, y, size, bold: false, text: text.into() }
    }

    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
}

/// A string as a PDF literal in WinAnsi: Latin-1 characters kept, others replaced.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for ch in text.chars() {
        let byte = match ch {
            '€' => 0x80,
            c if (c as u32) < 0x100 && !c.is_control() => c as u32 as u8,
            _ => b'?',
        };
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b')');
    out
}

/// The PDF bytes of one A4 page with `lines` and straight `rules` (x1, y1, x2, y2).
pub fn page(lines: &[Line], rules: &[(f32, f32, f32, f32)]) -> Vec<u8> {
    let mut content = Vec::new();
    for (x1, y1, x2, y2) in rules {
        content.extend_from_slice(format!("0.5 w {x1} {y1} m {x2} {y2} l S\n").as_bytes());
    }
    for line in lines {
        let font = if line.bold { "F2" } else { "F1" };
        content.extend_from_slice(format!("BT /{font} {} Tf {} {} Td ", line.size, line.x, line.y).as_bytes());
        content.extend_from_slice(&literal(&line.text));
        content.extend_from_slice(b" Tj ET\n");
    }
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"endstream");
    objects.push(stream);
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_well_formed_pdf() {
        let pdf =
            page(&[Line::new(50.0, 800.0, 12.0, "Invoice (INV-1) 12,00 €").bold()], &[(50.0, 790.0, 545.0, 790.0)]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4") && text.ends_with("%%EOF\n"));
        let shown: &[u8] = b"(Invoice \\(INV-1\\) 12,00 \x80) Tj";
        assert!(pdf.windows(shown.len()).any(|w| w == shown), "escaped, WinAnsi");
        // The xref offsets point at the objects (read on the bytes: the header has binary ones).
        let tail = text.rsplit("startxref\n").next().unwrap_or_default();
        let start: usize = tail.lines().next().and_then(|s| s.parse().ok()).expect("startxref");
        assert!(pdf[start..].starts_with(b"xref"));
        let xref = String::from_utf8_lossy(&pdf[start..]).to_string();
        let first: usize =
            xref.lines().nth(3).and_then(|l| l.split(' ').next()).and_then(|o| o.parse().ok()).expect("offset");
        assert!(pdf[first..].starts_with(b"1 0 obj"));
    }
}
