//! Token ids as JSON lines, the output of `bbtok encode`: one `{"input_ids":[1,2,3]}` line per
//! record, from the ids of a batch one record after another and the count of each record.
//!
//! Formatting is the corpus pipeline's last stage and, done id by id in Python, its slowest:
//! here it is two passes over the ids (the exact size, then the digits written in place), with
//! no allocation but the output's.

/// What a line holds around its ids.
const LINE_START: &[u8] = b"{\"input_ids\":[";
const LINE_END: &[u8] = b"]}\n";

/// The counts do not add up to the ids given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountMismatch {
    /// The sum of the counts (saturated at `usize::MAX`).
    pub counted: usize,
    /// The ids given.
    pub ids: usize,
}

impl std::fmt::Display for CountMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the record counts add up to {} ids, but {} were given",
            self.counted, self.ids
        )
    }
}

impl std::error::Error for CountMismatch {}

/// The number of decimal digits of `id`.
#[inline]
fn digits(id: u32) -> usize {
    match id {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1_000..=9_999 => 4,
        10_000..=99_999 => 5,
        100_000..=999_999 => 6,
        1_000_000..=9_999_999 => 7,
        10_000_000..=99_999_999 => 8,
        100_000_000..=999_999_999 => 9,
        _ => 10,
    }
}

/// The bytes of the JSON lines of `counts.len()` records whose ids are `ids`, one record after
/// another; an error when the counts do not add up to `ids.len()`.
pub fn lines_size(ids: &[u32], counts: &[usize]) -> Result<usize, CountMismatch> {
    let counted = counts
        .iter()
        .try_fold(0usize, |total, &count| total.checked_add(count));
    if counted != Some(ids.len()) {
        return Err(CountMismatch {
            counted: counted.unwrap_or(usize::MAX),
            ids: ids.len(),
        });
    }
    let digit_bytes: usize = ids.iter().map(|&id| digits(id)).sum();
    // Commas: one fewer than the ids of each non-empty record.
    let commas = ids.len() - counts.iter().filter(|&&count| count > 0).count();
    Ok(counts.len() * (LINE_START.len() + LINE_END.len()) + digit_bytes + commas)
}

/// Write into `out`, which must be exactly `lines_size(ids, counts)` bytes long, the JSON
/// lines of the records (see [`lines_size`], which checks the counts).
///
/// # Panics
/// When `out` is not that size, or the counts do not add up to the ids: [`lines_size`] first.
pub fn write_lines(ids: &[u32], counts: &[usize], out: &mut [u8]) {
    let mut at = 0;
    let mut put = |bytes: &[u8], at: &mut usize| {
        out[*at..*at + bytes.len()].copy_from_slice(bytes);
        *at += bytes.len();
    };
    let mut start = 0;
    for &count in counts {
        put(LINE_START, &mut at);
        for (index, &id) in ids[start..start + count].iter().enumerate() {
            if index > 0 {
                put(b",", &mut at);
            }
            let mut number = [0u8; 10];
            let width = digits(id);
            let mut rest = id;
            for slot in number[..width].iter_mut().rev() {
                *slot = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            put(&number[..width], &mut at);
        }
        put(LINE_END, &mut at);
        start += count;
    }
    assert_eq!(at, out.len(), "the output is not the size lines_size gives");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_is_one_line_of_its_ids() {
        let (ids, counts) = ([10770, 1742, 10, 7], [3, 0, 1]);
        let mut out = vec![0; lines_size(&ids, &counts).unwrap()];
        write_lines(&ids, &counts, &mut out);
        assert_eq!(
            out,
            b"{\"input_ids\":[10770,1742,10]}\n{\"input_ids\":[]}\n{\"input_ids\":[7]}\n"
        );
    }

    fn lines(ids: &[u32], counts: &[usize]) -> String {
        let mut out = vec![0; lines_size(ids, counts).unwrap()];
        write_lines(ids, counts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_width_of_id_is_written_in_decimal() {
        let ids: Vec<u32> = (0..10)
            .map(|power| 10u32.pow(power))
            .chain([9, 99, u32::MAX])
            .collect();
        let expected: Vec<String> = ids.iter().map(u32::to_string).collect();
        assert_eq!(
            lines(&ids, &[ids.len()]),
            format!("{{\"input_ids\":[{}]}}\n", expected.join(","))
        );
    }

    #[test]
    fn empty_records_and_an_empty_batch() {
        assert_eq!(lines(&[], &[]), "");
        assert_eq!(
            lines(&[5], &[0, 1, 0]),
            "{\"input_ids\":[]}\n{\"input_ids\":[5]}\n{\"input_ids\":[]}\n"
        );
    }

    #[test]
    fn counts_that_do_not_add_up_are_refused() {
        assert_eq!(
            lines_size(&[1, 2], &[1]),
            Err(CountMismatch { counted: 1, ids: 2 })
        );
        assert_eq!(
            lines_size(&[1], &[usize::MAX, 2]),
            Err(CountMismatch {
                counted: usize::MAX,
                ids: 1
            })
        );
    }
}
