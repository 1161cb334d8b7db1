//! Protocol Buffers' wire format, read field by field: what the ONNX reader needs and no more.

use crate::error::{Error, bail};

/// One field's value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    pub fn bytes(self, field: &str) -> Result<&'a [u8], Error> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => bail!("{field}: expected bytes, found {other:?}"),
        }
    }

    pub fn string(self, field: &str) -> Result<String, Error> {
        let bytes = self.bytes(field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::new(format!("{field}: not UTF-8")))
    }

    pub fn varint(self, field: &str) -> Result<u64, Error> {
        match self {
            Value::Varint(v) => Ok(v),
            other => bail!("{field}: expected a varint, found {other:?}"),
        }
    }

    /// A repeated `int64`, packed (one length-delimited run) or not (one varint).
    pub fn push_ints(self, into: &mut Vec<i64>, field: &str) -> Result<(), Error> {
        match self {
            Value::Varint(v) => into.push(v as i64),
            Value::Bytes(mut run) => {
                while !run.is_empty() {
                    let (v, used) = varint(run)?;
                    into.push(v as i64);
                    run = &run[used..];
                }
            }
            other => bail!("{field}: expected int64 values, found {other:?}"),
        }
        Ok(())
    }

    /// A repeated `float`, packed or not.
    pub fn push_floats(self, into: &mut Vec<f32>, field: &str) -> Result<(), Error> {
        match self {
            Value::Fixed32(v) => into.push(f32::from_bits(v)),
            Value::Bytes(run) => {
                if run.len() % 4 != 0 {
                    bail!("{field}: a packed float run of {} bytes", run.len());
                }
                into.extend(
                    run.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
            other => bail!("{field}: expected float values, found {other:?}"),
        }
        Ok(())
    }
}

/// The fields of one message, in the order they were written.
pub struct Fields<'a> {
    rest: &'a [u8],
}

pub fn fields(message: &[u8]) -> Fields<'_> {
    Fields { rest: message }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            // Nothing after a malformed field can be trusted.
            self.rest = &[];
        }
        Some(field)
    }
}

impl<'a> Fields<'a> {
    fn field(&mut self) -> Result<(u64, Value<'a>), Error> {
        let (key, used) = varint(self.rest)?;
        self.rest = &self.rest[used..];
        let value = match key & 7 {
            0 => {
                let (v, used) = varint(self.rest)?;
                self.rest = &self.rest[used..];
                Value::Varint(v)
            }
            1 => Value::Fixed64(u64::from_le_bytes(self.take_array()?)),
            2 => {
                let (len, used) = varint(self.rest)?;
                self.rest = &self.rest[used..];
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take_array()?)),
            wire => bail!("field {}: wire type {wire} is not read", key >> 3),
        };
        Ok((key >> 3, value))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], Error> {
        let len = usize::try_from(len).map_err(|_| Error::new("a field longer than memory"))?;
        if len > self.rest.len() {
            bail!("a field of {len} bytes where {} are left", self.rest.len());
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let bytes = self.take(N as u64)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }
}

/// A varint at the start of `bytes`, and how many bytes it took.
fn varint(bytes: &[u8]) -> Result<(u64, usize), Error> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    bail!("a varint that does not end")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_each_wire_type_are_read_in_order() {
        // 1: varint 150; 2: "hi"; 3: fixed32 1.5f; 4: fixed64 7; 5: packed varints [1, 300].
        let mut message = vec![0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x1d];
        message.extend(1.5f32.to_le_bytes());
        message.push(0x21);
        message.extend(7u64.to_le_bytes());
        message.extend([0x2a, 3, 0x01, 0xac, 0x02]);
        let got: Vec<_> = fields(&message).collect::<Result<_, _>>().expect("reads");
        assert_eq!(got[0], (1, Value::Varint(150)));
        assert_eq!(got[1], (2, Value::Bytes(b"hi")));
        assert_eq!(got[2], (3, Value::Fixed32(1.5f32.to_bits())));
        assert_eq!(got[3], (4, Value::Fixed64(7)));
        let mut ints = Vec::new();
        got[4].1.push_ints(&mut ints, "ints").expect("packed");
        assert_eq!(ints, [1, 300]);
    }

    #[test]
    fn a_cut_message_is_an_error_not_a_panic() {
        let message = [0x12, 10, b'a'];
        let got: Vec<_> = fields(&message).collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
        assert!(fields(&[0x08, 0x80]).next().expect("one").is_err());
        assert!(fields(&[0x0b]).next().expect("one").is_err(), "wire type 3");
    }
}
