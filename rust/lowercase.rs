//! Lowercasing: Python's `str.lower()` for one Unicode version, with a map from each lowered
//! code point back to the one it came from.

use crate::unicode_tables;
use rustc_hash::FxHashMap;
use std::collections::TryReserveError;

/// Python's `str.lower()` for one Unicode version: full mappings plus the final-sigma rule.
#[derive(Clone, Debug)]
pub struct Lowercaser {
    unicode_version: String,
    ascii: [u8; 128],
    mapping: FxHashMap<u32, [u32; 3]>,
    cased: Vec<(u32, u32)>,
    case_ignorable: Vec<(u32, u32)>,
}

const CAPITAL_SIGMA: u32 = 0x3A3;
const SMALL_SIGMA: u32 = 0x3C3;
const FINAL_SIGMA: u32 = 0x3C2;

fn in_ranges(ranges: &[(u32, u32)], code: u32) -> bool {
    match ranges.binary_search_by(|&(start, _)| start.cmp(&code)) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => code <= ranges[i - 1].1,
    }
}

impl Default for Lowercaser {
    /// The tables generated into this crate (see `UNICODE_VERSION` there).
    fn default() -> Self {
        Self::new(
            unicode_tables::UNICODE_VERSION,
            unicode_tables::LOWERCASE.iter().copied(),
            unicode_tables::CASED.to_vec(),
            unicode_tables::CASE_IGNORABLE.to_vec(),
        )
    }
}

impl Lowercaser {
    /// Tables as `bbtok.blenderbot_small.unicode_tables.case_tables()` derives them from a running Python:
    /// `mapping` holds every code point whose lowercase is not itself (0 pads a mapping to
    /// three code points); `cased` and `case_ignorable` are sorted inclusive ranges.
    pub fn new(
        unicode_version: &str,
        mapping: impl IntoIterator<Item = (u32, [u32; 3])>,
        mut cased: Vec<(u32, u32)>,
        mut case_ignorable: Vec<(u32, u32)>,
    ) -> Self {
        let mapping: FxHashMap<u32, [u32; 3]> = mapping.into_iter().collect();
        let mut ascii = [0u8; 128];
        for (code, slot) in ascii.iter_mut().enumerate() {
            *slot = match mapping.get(&(code as u32)) {
                Some(&[lower, 0, 0]) if lower < 128 => lower as u8,
                _ => code as u8,
            };
        }
        cased.sort_unstable();
        case_ignorable.sort_unstable();
        Lowercaser {
            unicode_version: unicode_version.to_string(),
            ascii,
            mapping,
            cased,
            case_ignorable,
        }
    }

    /// The Unicode version of the tables.
    pub fn unicode_version(&self) -> &str {
        &self.unicode_version
    }

    fn is_cased(&self, code: u32) -> bool {
        in_ranges(&self.cased, code)
    }

    fn is_case_ignorable(&self, code: u32) -> bool {
        in_ranges(&self.case_ignorable, code)
    }

    /// Python's choice between `σ` and `ς` for the capital sigma at `chars[at]`.
    fn sigma(&self, chars: &[u32], at: usize) -> u32 {
        let before = chars[..at]
            .iter()
            .rev()
            .find(|&&c| !self.is_case_ignorable(c));
        let mut is_final = before.is_some_and(|&c| self.is_cased(c));
        if is_final {
            let after = chars[at + 1..]
                .iter()
                .find(|&&c| !self.is_case_ignorable(c));
            is_final = after.is_none_or(|&c| !self.is_cased(c));
        }
        if is_final {
            FINAL_SIGMA
        } else {
            SMALL_SIGMA
        }
    }

    /// Lowercase `chars` into `out`; `origin`, when given, gets for each code point written the
    /// index in `chars` it comes from (a code point can lowercase to several: `İ` -> `i`
    /// U+0307). Fails, leaving `out` partly written, only when memory runs out.
    pub fn lower(
        &self,
        chars: &[u32],
        out: &mut Vec<u32>,
        mut origin: Option<&mut Vec<usize>>,
    ) -> Result<(), TryReserveError> {
        out.try_reserve(chars.len())?;
        if let Some(origin) = origin.as_deref_mut() {
            origin.try_reserve(chars.len())?;
        }
        for (i, &code) in chars.iter().enumerate() {
            let (lowered, count) = if code < 128 {
                ([self.ascii[code as usize] as u32, 0, 0], 1)
            } else if code == CAPITAL_SIGMA {
                ([self.sigma(chars, i), 0, 0], 1)
            } else if let Some(&mapped) = self.mapping.get(&code) {
                // One to three code points, padded with 0 (`İ` -> `i` U+0307).
                (mapped, mapped.iter().take_while(|&&c| c != 0).count())
            } else {
                ([code, 0, 0], 1)
            };
            if count > 1 {
                out.try_reserve(count)?;
            }
            out.extend_from_slice(&lowered[..count]);
            if let Some(origin) = origin.as_deref_mut() {
                if count > 1 {
                    origin.try_reserve(count)?;
                }
                origin.extend(std::iter::repeat_n(i, count));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(text: &str) -> String {
        let chars: Vec<u32> = text.chars().map(|c| c as u32).collect();
        let (mut out, mut origin) = (Vec::new(), Vec::new());
        Lowercaser::default()
            .lower(&chars, &mut out, Some(&mut origin))
            .unwrap();
        assert_eq!(origin.len(), out.len());
        out.iter().map(|&c| char::from_u32(c).unwrap()).collect()
    }

    #[test]
    fn lowercasing_is_pythons() {
        assert_eq!(lower("HeLLo"), "hello");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(lower("ΟΔΟΣ"), "οδος");
        assert_eq!(lower("Σ"), "σ");
        assert_eq!(lower("ΣΑΣ"), "σας");
        assert_eq!(lower("ΑΣ.Β"), "ασ.β");
    }

    #[test]
    fn each_lowered_code_point_knows_its_origin() {
        let chars: Vec<u32> = "aİb".chars().map(|c| c as u32).collect();
        let (mut out, mut origin) = (Vec::new(), Vec::new());
        Lowercaser::default()
            .lower(&chars, &mut out, Some(&mut origin))
            .unwrap();
        assert_eq!(origin, vec![0, 1, 1, 2]);
    }
}
