//! How many SMS segments a text costs: the GSM 03.38 alphabet (7-bit, 160 characters in one
//! segment, 153 per part when split) unless any character is outside it, then UCS-2 (70 in
//! one, 67 per part). Characters of the GSM extension table (`^{}\[~]|€`) take two septets;
//! a split never cuts an escape pair or a UTF-16 surrogate pair.
//!
//! A single emoji or curly quote turns a 150-character message into three UCS-2 segments,
//! which is why templates are checked against this count.

/// The GSM 03.38 default alphabet.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the extension table: an escape and the character, two septets.
const GSM_EXTENDED: &str = "\u{c}^{}\\[~]|€";

/// The encoding a text goes out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// What a text costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The segments `text` takes.
pub fn segments(text: &str) -> Segments {
    let septets: Option<Vec<usize>> = text.chars().map(gsm_septets).collect();
    let (encoding, units, single, part) = match septets {
        Some(septets) => (Encoding::Gsm7, septets, 160, 153),
        None => (
            Encoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let total: usize = units.iter().sum();
    let segments = if total <= single {
        1
    } else {
        // Fill parts greedily; a character's units never straddle two parts.
        let mut parts = 1;
        let mut used = 0;
        for &width in &units {
            if used + width > part {
                parts += 1;
                used = 0;
            }
            used += width;
        }
        parts
    };
    Segments {
        encoding,
        units: total,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_with_160_in_one_segment_and_153_per_part() {
        assert_eq!(
            segments(&"a".repeat(160)),
            Segments {
                encoding: Encoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(segments(&"a".repeat(161)).segments, 2);
        assert_eq!(segments(&"a".repeat(306)).segments, 2);
        assert_eq!(segments(&"a".repeat(307)).segments, 3);
        assert_eq!(segments("").segments, 1);
    }

    #[test]
    fn extension_characters_take_two_septets_and_are_never_split() {
        let s = segments("Offer: 10€ off [today]");
        assert_eq!(s.encoding, Encoding::Gsm7);
        assert_eq!(s.units, 22 + 3);
        // 152 plain septets then a euro: the pair moves whole to the second part.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(segments(&text).units, 164);
        assert_eq!(segments(&text).segments, 2);
    }

    #[test]
    fn one_character_outside_gsm_makes_the_whole_text_ucs2() {
        let text = format!("{}’", "a".repeat(69));
        assert_eq!(
            segments(&text),
            Segments {
                encoding: Encoding::Ucs2,
                units: 70,
                segments: 1
            }
        );
        assert_eq!(segments(&format!("{}😀", "a".repeat(69))).segments, 2);
        assert_eq!(segments(&"é".repeat(200)).encoding, Encoding::Gsm7);
        assert_eq!(segments(&"ê".repeat(70)).segments, 1);
        assert_eq!(segments(&"ê".repeat(71)).segments, 2);
        assert_eq!(segments(&"ê".repeat(134)).segments, 2);
        assert_eq!(segments(&"ê".repeat(135)).segments, 3);
    }
}
