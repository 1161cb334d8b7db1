//! The order of the v1 library list (`sort=`) and its opaque cursor, which carries the last
//! item's sort value and insertion number so that a page continues exactly where the one
//! before ended, whatever was inserted, renamed or deleted in between.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::repo::{ListSort, SortCursor};
use crate::service::ServiceError;

/// `sort=` as a face receives it: `newest` (the default), `oldest`, `name`, `size`.
pub fn parse_sort(raw: Option<&str>) -> Result<ListSort, ServiceError> {
    match raw.map(str::trim).unwrap_or_default() {
        "" | "newest" => Ok(ListSort::Newest),
        "oldest" => Ok(ListSort::Oldest),
        "name" => Ok(ListSort::Name),
        "size" => Ok(ListSort::Size),
        other => Err(ServiceError::invalid(format!(
            "sort '{other}' is not valid; use one of newest, oldest, name, size"
        ))),
    }
}

/// The cursor as text. A newest-first cursor is the bare number it has always been.
pub fn encode_cursor(cursor: &SortCursor) -> String {
    match cursor {
        SortCursor::Newest { seq } => seq.to_string(),
        SortCursor::Oldest { seq } => format!("o.{seq}"),
        SortCursor::Size { bytes, seq } => format!("s.{seq}.{bytes}"),
        SortCursor::Name { name, seq } => format!("n.{seq}.{}", URL_SAFE_NO_PAD.encode(name)),
    }
}

/// Reads a cursor given back by a client, for `sort`; a cursor of another order, or one that
/// was not made here, is refused.
pub fn decode_cursor(raw: &str, sort: ListSort) -> Result<SortCursor, ServiceError> {
    let cursor = parse(raw).filter(|c| c.sort() == sort);
    cursor.ok_or_else(|| {
        ServiceError::invalid(format!(
            "cursor '{raw}' is not valid for this sort; pass nextCursor from a previous page \
             with the same sort"
        ))
    })
}

fn parse(raw: &str) -> Option<SortCursor> {
    let positive = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    let mut parts = raw.splitn(3, '.');
    let first = parts.next()?;
    let (Some(seq), rest) = (parts.next(), parts.next()) else {
        return positive(first).map(|seq| SortCursor::Newest { seq });
    };
    let seq = positive(seq)?;
    match (first, rest) {
        ("o", None) => Some(SortCursor::Oldest { seq }),
        ("s", Some(bytes)) => Some(SortCursor::Size {
            bytes: bytes.parse::<i64>().ok().filter(|n| *n >= 0)?,
            seq,
        }),
        ("n", Some(name)) => Some(SortCursor::Name {
            name: String::from_utf8(URL_SAFE_NO_PAD.decode(name).ok()?).ok()?,
            seq,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written_and_only_for_their_sort() {
        let cursors = [
            SortCursor::Newest { seq: 42 },
            SortCursor::Oldest { seq: 7 },
            SortCursor::Size { bytes: 0, seq: 3 },
            SortCursor::Name {
                name: "été. 2.png".into(),
                seq: 9,
            },
            SortCursor::Name {
                name: String::new(),
                seq: 1,
            },
        ];
        for c in cursors {
            let text = encode_cursor(&c);
            assert_eq!(
                decode_cursor(&text, c.sort()).ok(),
                Some(c.clone()),
                "{text}"
            );
            let other = if c.sort() == ListSort::Newest {
                ListSort::Oldest
            } else {
                ListSort::Newest
            };
            assert!(decode_cursor(&text, other).is_err(), "{text}");
        }
        assert_eq!(encode_cursor(&SortCursor::Newest { seq: 42 }), "42");
        for bad in [
            "", "0", "-1", "x", "o.", "o.0", "n.1.@@", "s.1", "s.1.-2", "q.1.2",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sort_names() {
        assert_eq!(parse_sort(None).ok(), Some(ListSort::Newest));
        assert_eq!(parse_sort(Some("name")).ok(), Some(ListSort::Name));
        assert!(parse_sort(Some("Name")).is_err());
    }
}
