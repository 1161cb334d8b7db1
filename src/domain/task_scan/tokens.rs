//! The tokens of a task body: strings (escapes decoded), numbers, literals.

use serde_json::{Number, Value};

use super::{ScanError, Scanner};

impl Scanner<'_> {
    pub(super) fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, ScanError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            self.fail("expected a JSON value")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    pub(super) fn number(&mut self) -> Result<Value, ScanError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("a number needs digits"),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return self.fail("a number needs digits after '.'");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return self.fail("a number needs digits in its exponent");
            }
        }
        let text = &self.text[start..self.at];
        // The walk never reads numbers: any stand-in that is not null will do where one does
        // not fit a `Number` (the bytes forwarded keep the caller's spelling in every case).
        Ok(text
            .parse::<Number>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::Number))
    }

    fn hex4(&mut self) -> Result<u32, ScanError> {
        let Some(digits) = self.text.get(self.at..self.at + 4) else {
            return self.fail("a \\u escape needs four hex digits");
        };
        let Ok(code) = u32::from_str_radix(digits, 16) else {
            return self.fail("a \\u escape needs four hex digits");
        };
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.fail("a \\u escape needs four hex digits");
        }
        self.at += 4;
        Ok(code)
    }

    /// Reads a string from its opening quote to past its closing one, escapes decoded.
    pub(super) fn string(&mut self) -> Result<String, ScanError> {
        self.at += 1;
        let mut out = String::new();
        let mut run = self.at;
        loop {
            match self.peek() {
                None => return self.fail("a string is not closed"),
                Some(b'"') => {
                    out.push_str(&self.text[run..self.at]);
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.at]);
                    self.at += 1;
                    let Some(c) = self.peek() else {
                        return self.fail("a string is not closed");
                    };
                    self.at += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high)
                                && self.bytes[self.at..].starts_with(b"\\u")
                            {
                                let back = self.at;
                                self.at += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    self.at = back;
                                    high
                                }
                            } else {
                                high
                            };
                            // A lone surrogate is kept as the replacement character: the bytes
                            // forwarded are the caller's either way.
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.at -= 1;
                            return self.fail("an unknown escape in a string");
                        }
                    }
                    run = self.at;
                }
                Some(0x00..=0x1f) => {
                    return self.fail("a control character inside a string");
                }
                Some(_) => self.at += 1,
            }
        }
    }
}
