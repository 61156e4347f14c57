//! Amounts are integers in a currency's minor units; how many decimals a currency has
//! (ISO 4217's exponent) decides how they are written for people and for providers that
//! take decimal strings (PayPal's `"19.00"`, CinetPay's whole francs).

/// ISO 4217 currencies without minor units.
const ZERO_DECIMAL: [&str; 17] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    "XPF",
];
/// ISO 4217 currencies with three decimals.
const THREE_DECIMAL: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// The number of decimals of `currency` (2 for any code not listed otherwise).
pub fn exponent(currency: &str) -> u32 {
    let code = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// `1900 EUR` → `"19.00"`, `500 XOF` → `"500"`, `-1234 KWD` → `"-1.234"`.
pub fn to_decimal(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u64.pow(exp);
    format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = exp as usize)
}

/// `"19.00"` (or `"19"`, `"19.5"`) in EUR → 1900; None for anything else (more decimals than
/// the currency has, signs, exponents, overflow).
pub fn from_decimal(text: &str, currency: &str) -> Option<i64> {
    let exp = exponent(currency) as usize;
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > exp {
        return None;
    }
    let padded = format!("{whole}{fraction:0<exp$}");
    padded.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_each_currency_exponent() {
        assert_eq!(to_decimal(1900, "EUR"), "19.00");
        assert_eq!(to_decimal(5, "usd"), "0.05");
        assert_eq!(to_decimal(500, "XOF"), "500");
        assert_eq!(to_decimal(-1234, "KWD"), "-1.234");
        assert_eq!(from_decimal("19.00", "EUR"), Some(1900));
        assert_eq!(from_decimal("19.5", "EUR"), Some(1950));
        assert_eq!(from_decimal("19", "EUR"), Some(1900));
        assert_eq!(from_decimal("500", "XOF"), Some(500));
        assert_eq!(from_decimal("1.234", "KWD"), Some(1234));
        for bad in ["19.001", "-1", "1e3", "", ".5", "1.2.3", "99999999999999999999"] {
            assert_eq!(from_decimal(bad, "EUR"), None, "{bad}");
        }
        assert_eq!(from_decimal("5.5", "XOF"), None);
    }
}
