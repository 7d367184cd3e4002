//! The Arrow layouts bbtok reads and writes, as plain slices and vectors: a string column in
//! (offsets into UTF-8 data, or the string-view layout's 16-byte views into data buffers; an
//! optional validity bitmap) and a list of ids out (offsets into one buffer of ids). Nothing
//! here touches Arrow's C structures: the Python binding maps them to and from the C data
//! interface, and a Rust user can fill the slices from arrow-rs or anything else.

use std::collections::TryReserveError;
use std::fmt;

/// Why a string column cannot be read, and at which row (counted from the column's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    /// The row is null: there is no text to encode.
    Null { row: usize },
    /// The row's offsets go backwards or past the data.
    BadOffsets { row: usize },
    /// The row's view has a negative length, or points outside the data buffers.
    BadView { row: usize },
    /// The row's bytes are not UTF-8.
    NotUtf8 { row: usize },
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowError::Null { row } => write!(f, "row {row} is null, not a text"),
            RowError::BadOffsets { row } => {
                write!(f, "row {row} has offsets outside the array's data")
            }
            RowError::BadView { row } => {
                write!(f, "row {row} has a view outside the array's data buffers")
            }
            RowError::NotUtf8 { row } => write!(f, "row {row} is not UTF-8"),
        }
    }
}

impl std::error::Error for RowError {}

/// The offsets of Arrow's variable-size layouts: `i32` for `string` and `list<...>`, `i64`
/// for `large_string` and `large_list<...>`.
pub trait Offset: Copy + Send + Sync {
    /// The largest offset.
    const MAX: Self;
    /// The offset as an index into the data; None when negative.
    fn index(self) -> Option<usize>;
    /// The offset of an index into the data; None when it is past `MAX`.
    fn of_index(index: usize) -> Option<Self>;
}

macro_rules! impl_offset {
    ($($offset:ty),*) => {$(
        impl Offset for $offset {
            const MAX: Self = <$offset>::MAX;
            fn index(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
            fn of_index(index: usize) -> Option<Self> {
                Self::try_from(index).ok()
            }
        }
    )*};
}

impl_offset!(i32, i64);

/// A string column: `offsets` holds one more entry than there are rows (row `i` is
/// `data[offsets[i]..offsets[i + 1]]`), and `validity`, when present, is Arrow's bitmap with
/// the bit of row `i` at `bit_offset + i` (least significant bit first).
pub struct StringColumn<'a, O> {
    pub offsets: &'a [O],
    pub data: &'a [u8],
    pub validity: Option<(&'a [u8], usize)>,
}

impl<'a, O: Offset> StringColumn<'a, O> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append every row's text to `rows`, checked: no null, offsets within the data, UTF-8.
    /// Errors name the row counted from `first_row` (the column's place in a longer input).
    /// (`rows` grows as a `Vec` does: reserve room first to fail softly on a huge column.)
    ///
    /// ```
    /// use bbtok::arrow_layout::{RowError, StringColumn};
    /// let column = StringColumn { offsets: &[0i32, 2, 2, 5], data: b"hiyou", validity: None };
    /// let mut rows = Vec::new();
    /// column.append_rows(&mut rows, 0).unwrap();
    /// assert_eq!(rows, ["hi", "", "you"]);
    /// let nulls = StringColumn { validity: Some((&[0b101][..], 0)), ..column };
    /// assert_eq!(nulls.append_rows(&mut rows, 7), Err(RowError::Null { row: 8 }));
    /// ```
    pub fn append_rows(&self, rows: &mut Vec<&'a str>, first_row: usize) -> Result<(), RowError> {
        for (index, pair) in self.offsets.windows(2).enumerate() {
            let row = first_row + index;
            if !is_valid(self.validity, index) {
                return Err(RowError::Null { row });
            }
            let bytes = match (pair[0].index(), pair[1].index()) {
                (Some(start), Some(end)) if start <= end => self.data.get(start..end),
                _ => None,
            }
            .ok_or(RowError::BadOffsets { row })?;
            rows.push(std::str::from_utf8(bytes).map_err(|_| RowError::NotUtf8 { row })?);
        }
        Ok(())
    }
}

/// Whether slot `index` of a column is valid (not null) by its validity bitmap, if any (the
/// bit of slot `index` at `bit_offset + index`, least significant bit first); a bit past the
/// bitmap counts as null.
fn is_valid(validity: Option<(&[u8], usize)>, index: usize) -> bool {
    match validity {
        None => true,
        Some((bitmap, bit_offset)) => bit_offset.checked_add(index).is_some_and(|bit| {
            bitmap
                .get(bit / 8)
                .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
        }),
    }
}

/// The bytes a row of the string-view layout holds inline in its view, at most.
pub const VIEW_INLINE_MAX: usize = 12;

/// A string column in Arrow's string-view layout (`string_view`, format `vu`: polars' strings).
/// Each row is a 16-byte view, its integers in native byte order: its length (`i32`), then
/// either the bytes themselves when the length is at most [`VIEW_INLINE_MAX`], or the first
/// four bytes, the index of a data buffer (`i32`) and the offset of the row in it (`i32`).
/// `validity` is as for [`StringColumn`].
pub struct StringViewColumn<'b, 'a> {
    pub views: &'a [[u8; 16]],
    pub buffers: &'b [&'a [u8]],
    pub validity: Option<(&'a [u8], usize)>,
}

impl<'a> StringViewColumn<'_, 'a> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Append every row's text to `rows`, checked: no null, a length that is not negative, a
    /// buffer index and offset + length within the data buffers, UTF-8. Errors name the row
    /// counted from `first_row`, as [`StringColumn::append_rows`] does.
    ///
    /// ```
    /// use bbtok::arrow_layout::{RowError, StringViewColumn};
    /// fn view(length: i32, tail: [u8; 12]) -> [u8; 16] {
    ///     let mut view = [0; 16];
    ///     view[..4].copy_from_slice(&length.to_ne_bytes());
    ///     view[4..].copy_from_slice(&tail);
    ///     view
    /// }
    /// let mut long = *b"long\0\0\0\0\0\0\0\0";
    /// long[4..8].copy_from_slice(&0i32.to_ne_bytes()); // buffer 0
    /// long[8..].copy_from_slice(&3i32.to_ne_bytes()); // at offset 3
    /// let views = [view(2, *b"hi\0\0\0\0\0\0\0\0\0\0"), view(13, long)];
    /// let column = StringViewColumn { views: &views, buffers: &[&b"...long enough text"[..]], validity: None };
    /// let mut rows = Vec::new();
    /// column.append_rows(&mut rows, 0).unwrap();
    /// assert_eq!(rows, ["hi", "long enough t"]);
    /// let nulls = StringViewColumn { validity: Some((&[0b01][..], 0)), ..column };
    /// assert_eq!(nulls.append_rows(&mut rows, 7), Err(RowError::Null { row: 8 }));
    /// ```
    pub fn append_rows(&self, rows: &mut Vec<&'a str>, first_row: usize) -> Result<(), RowError> {
        for (index, view) in self.views.iter().enumerate() {
            let row = first_row + index;
            if !is_valid(self.validity, index) {
                return Err(RowError::Null { row });
            }
            let bytes = self.view_bytes(view).ok_or(RowError::BadView { row })?;
            rows.push(std::str::from_utf8(bytes).map_err(|_| RowError::NotUtf8 { row })?);
        }
        Ok(())
    }

    /// The bytes `view` points to: inline in the view, or in one of the data buffers; None
    /// when its length is negative or it points outside the buffers.
    fn view_bytes(&self, view: &'a [u8; 16]) -> Option<&'a [u8]> {
        let field =
            |at: usize| i32::from_ne_bytes([view[at], view[at + 1], view[at + 2], view[at + 3]]);
        let length = usize::try_from(field(0)).ok()?;
        if length <= VIEW_INLINE_MAX {
            return view.get(4..4 + length);
        }
        let buffer = self.buffers.get(usize::try_from(field(8)).ok()?)?;
        let start = usize::try_from(field(12)).ok()?;
        buffer.get(start..start.checked_add(length)?)
    }
}

/// The offsets of a list array: `list<...>` (`i32`) while the total fits, else
/// `large_list<...>` (`i64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOffsets {
    Small(Vec<i32>),
    Large(Vec<i64>),
}

impl ListOffsets {
    /// The offsets of lists of `lengths` items: `i32` when their total is at most
    /// `i32::MAX` (2**31 - 1), as Arrow's `list` requires, else `i64`.
    ///
    /// ```
    /// use bbtok::arrow_layout::ListOffsets;
    /// assert_eq!(ListOffsets::of_lengths(&[2, 0, 3]).unwrap(), ListOffsets::Small(vec![0, 2, 2, 5]));
    /// ```
    pub fn of_lengths(lengths: &[usize]) -> Result<Self, TryReserveError> {
        let total = lengths
            .iter()
            .try_fold(0usize, |sum, &length| sum.checked_add(length));
        if total.and_then(i32::of_index).is_some() {
            Ok(ListOffsets::Small(running_offsets(lengths)?))
        } else {
            Ok(ListOffsets::Large(running_offsets(lengths)?))
        }
    }

    /// The number of lists.
    pub fn len(&self) -> usize {
        match self {
            ListOffsets::Small(offsets) => offsets.len() - 1,
            ListOffsets::Large(offsets) => offsets.len() - 1,
        }
    }

    /// Whether there are no lists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The offsets of lists of `lengths` items: 0, then the running total, saturating at
/// `O::MAX` (for `i64`, memory caps a total well below it: saturating never changes a value).
fn running_offsets<O: Offset>(lengths: &[usize]) -> Result<Vec<O>, TryReserveError> {
    let mut offsets = Vec::new();
    offsets.try_reserve_exact(lengths.len() + 1)?;
    let mut running = 0usize;
    offsets.push(O::of_index(running).unwrap_or(O::MAX));
    for &length in lengths {
        running = running.saturating_add(length);
        offsets.push(O::of_index(running).unwrap_or(O::MAX));
    }
    Ok(offsets)
}

/// The ids of encoded rows laid out as one Arrow list array: every row's ids one after another
/// (each truncated to `max_length`, keeping its end when `from_left`), and the offsets.
///
/// ```
/// use bbtok::arrow_layout::{flatten_rows, ListOffsets};
/// let (values, offsets) = flatten_rows(vec![vec![1, 2, 3], vec![], vec![4]], Some(2), false).unwrap();
/// assert_eq!((values, offsets), (vec![1, 2, 4], ListOffsets::Small(vec![0, 2, 2, 3])));
/// ```
pub fn flatten_rows(
    rows: Vec<Vec<u32>>,
    max_length: Option<usize>,
    from_left: bool,
) -> Result<(Vec<u32>, ListOffsets), TryReserveError> {
    let kept = |row: &[u32]| -> (usize, usize) {
        match max_length {
            Some(most) if row.len() > most => {
                if from_left {
                    (row.len() - most, row.len())
                } else {
                    (0, most)
                }
            }
            _ => (0, row.len()),
        }
    };
    let mut lengths = Vec::new();
    lengths.try_reserve_exact(rows.len())?;
    lengths.extend(rows.iter().map(|row| {
        let (start, end) = kept(row);
        end - start
    }));
    let offsets = ListOffsets::of_lengths(&lengths)?;
    let mut values = Vec::new();
    values.try_reserve_exact(lengths.iter().sum())?;
    for row in &rows {
        let (start, end) = kept(row);
        values.extend_from_slice(&row[start..end]);
    }
    Ok((values, offsets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_stay_i32_up_to_i32_max_ids() {
        let offsets = ListOffsets::of_lengths(&[i32::MAX as usize - 1, 1]).unwrap();
        assert_eq!(offsets, ListOffsets::Small(vec![0, i32::MAX - 1, i32::MAX]));
    }

    #[test]
    fn offsets_become_i64_one_id_past_i32_max() {
        let offsets = ListOffsets::of_lengths(&[i32::MAX as usize, 1]).unwrap();
        assert_eq!(
            offsets,
            ListOffsets::Large(vec![0, i32::MAX as i64, i32::MAX as i64 + 1])
        );
    }

    #[test]
    fn offsets_of_no_lists_are_one_zero() {
        assert_eq!(
            ListOffsets::of_lengths(&[]).unwrap(),
            ListOffsets::Small(vec![0])
        );
    }

    #[test]
    fn truncation_from_the_left_keeps_the_ends_of_rows() {
        let (values, _) = flatten_rows(vec![vec![1, 2, 3], vec![4]], Some(2), true).unwrap();
        assert_eq!(values, [2, 3, 4]);
    }

    #[test]
    fn offsets_past_the_data_are_refused_with_their_row() {
        let column = StringColumn {
            offsets: &[0i64, 1, 9],
            data: b"ab",
            validity: None,
        };
        assert_eq!(
            column.append_rows(&mut Vec::new(), 0),
            Err(RowError::BadOffsets { row: 1 })
        );
    }

    #[test]
    fn decreasing_offsets_are_refused() {
        let column = StringColumn {
            offsets: &[0i32, 2, 1],
            data: b"ab",
            validity: None,
        };
        assert_eq!(
            column.append_rows(&mut Vec::new(), 0),
            Err(RowError::BadOffsets { row: 1 })
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_their_row() {
        let column = StringColumn {
            offsets: &[0i32, 1, 2],
            data: b"a\xff",
            validity: None,
        };
        assert_eq!(
            column.append_rows(&mut Vec::new(), 3),
            Err(RowError::NotUtf8 { row: 4 })
        );
    }

    #[test]
    fn the_validity_bitmap_is_read_from_its_bit_offset() {
        let column = StringColumn {
            offsets: &[0i32, 1, 2],
            data: b"ab",
            validity: Some((&[0b0000_0110], 1)),
        };
        let mut rows = Vec::new();
        column.append_rows(&mut rows, 0).unwrap();
        assert_eq!(rows, ["a", "b"]);
    }

    /// A view of `length` bytes: `inline` itself up to 12 bytes, else the first four bytes
    /// of `inline` and `offset` in data buffer `buffer`.
    fn view(length: i32, inline: &[u8], buffer: i32, offset: i32) -> [u8; 16] {
        let mut view = [0; 16];
        view[..4].copy_from_slice(&length.to_ne_bytes());
        if length <= VIEW_INLINE_MAX as i32 {
            view[4..4 + inline.len()].copy_from_slice(inline);
        } else {
            view[4..8].copy_from_slice(&inline[..4]);
            view[8..12].copy_from_slice(&buffer.to_ne_bytes());
            view[12..].copy_from_slice(&offset.to_ne_bytes());
        }
        view
    }

    fn view_rows<'a>(
        views: &'a [[u8; 16]],
        buffers: &[&'a [u8]],
    ) -> Result<Vec<&'a str>, RowError> {
        let column = StringViewColumn {
            views,
            buffers,
            validity: None,
        };
        let mut rows = Vec::new();
        column.append_rows(&mut rows, 10)?;
        Ok(rows)
    }

    #[test]
    fn views_read_inline_and_buffered_rows_of_every_length() {
        let first: &[u8] = "twelve bytes and then some".as_bytes();
        let second: &[u8] = "héllo wörld, ünïcode".as_bytes();
        let views = [
            view(0, b"", -1, 0),
            view(12, b"twelve bytes", -1, 0),
            view(13, first, 0, 0),
            view(20, &second[3..], 1, 3),
            view(7, "héllo!".as_bytes(), -1, 0),
        ];
        assert_eq!(
            view_rows(&views, &[first, second]).unwrap(),
            [
                "",
                "twelve bytes",
                "twelve bytes ",
                "llo wörld, ünïcod",
                "héllo!"
            ]
        );
    }

    #[test]
    fn a_view_of_a_buffer_past_the_last_is_refused_with_its_row() {
        let views = [view(13, b"0123", 0, 0), view(13, b"0123", 1, 0)];
        let buffers: [&[u8]; 1] = [b"0123456789abcdef"];
        assert_eq!(
            view_rows(&views, &buffers),
            Err(RowError::BadView { row: 11 })
        );
        let negative = [view(13, b"0123", -1, 0)];
        assert_eq!(
            view_rows(&negative, &buffers),
            Err(RowError::BadView { row: 10 })
        );
    }

    #[test]
    fn a_view_past_the_end_of_its_buffer_is_refused() {
        let buffers: [&[u8]; 1] = [b"0123456789abcdef"];
        for (offset, length) in [(4, 13), (17, 13), (i32::MAX, i32::MAX), (-1, 13)] {
            let views = [view(length, b"0123", 0, offset)];
            assert_eq!(
                view_rows(&views, &buffers),
                Err(RowError::BadView { row: 10 }),
                "offset {offset}, length {length}"
            );
        }
    }

    #[test]
    fn a_view_of_negative_length_is_refused() {
        for length in [-1, i32::MIN] {
            let views = [view(length, b"", -1, 0)];
            assert_eq!(view_rows(&views, &[]), Err(RowError::BadView { row: 10 }));
        }
    }

    #[test]
    fn view_bytes_that_are_not_utf8_are_refused_inline_and_buffered() {
        let buffers: [&[u8]; 1] = [b"0123456789abc\xff"];
        let buffered = [view(14, b"0123", 0, 0)];
        assert_eq!(
            view_rows(&buffered, &buffers),
            Err(RowError::NotUtf8 { row: 10 })
        );
        let inline = [view(2, b"a\xff", -1, 0)];
        assert_eq!(view_rows(&inline, &[]), Err(RowError::NotUtf8 { row: 10 }));
    }

    #[test]
    fn a_null_view_is_refused_with_its_row_from_the_bit_offset() {
        let views = [view(1, b"a", -1, 0), view(1, b"b", -1, 0)];
        let column = StringViewColumn {
            views: &views,
            buffers: &[],
            validity: Some((&[0b0000_0010], 1)),
        };
        assert_eq!(
            column.append_rows(&mut Vec::new(), 5),
            Err(RowError::Null { row: 6 })
        );
    }
}
