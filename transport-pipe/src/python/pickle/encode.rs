//! Writing a [`Value`] as a protocol 4 pickle (what `pickle.dumps(value,
//! 4)` reads back as the same value; Python 3.4 and later read it).

use super::{PickleError, Value};

/// How deeply a written value may nest (the writer recurses).
pub const MAX_WRITE_DEPTH: usize = 200;

/// Writes `value` as a protocol 4 pickle.
///
/// Nothing is memoized: a [`Value`] is a tree, so nothing is shared.
///
/// # Errors
/// [`PickleError::TooDeep`] for a value nested deeper than
/// [`MAX_WRITE_DEPTH`].
pub fn dumps(value: &Value) -> Result<Vec<u8>, PickleError> {
    let mut body = Vec::new();
    write(&mut body, value, 0)?;
    body.push(b'.');
    // PROTO 4, then one FRAME around everything (as Python frames it),
    // so a reader may fetch it with one read.
    let mut out = Vec::with_capacity(body.len() + 11);
    out.extend_from_slice(&[0x80, 4, 0x95]);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn sized(out: &mut Vec<u8>, short: u8, long: u8, huge: u8, bytes: &[u8]) {
    let n = bytes.len();
    if n < 256 {
        out.extend_from_slice(&[short, n as u8]);
    } else if let Ok(n) = u32::try_from(n) {
        out.push(long);
        out.extend_from_slice(&n.to_le_bytes());
    } else {
        out.push(huge);
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    out.extend_from_slice(bytes);
}

fn int(out: &mut Vec<u8>, n: i64) {
    if let Ok(small) = u8::try_from(n) {
        out.extend_from_slice(&[b'K', small]);
    } else if let Ok(small) = u16::try_from(n) {
        out.push(b'M');
        out.extend_from_slice(&small.to_le_bytes());
    } else if let Ok(small) = i32::try_from(n) {
        out.push(b'J');
        out.extend_from_slice(&small.to_le_bytes());
    } else {
        long(out, &num_bigint::BigInt::from(n));
    }
}

fn long(out: &mut Vec<u8>, n: &num_bigint::BigInt) {
    let bytes = n.to_signed_bytes_le();
    if let Ok(len) = u8::try_from(bytes.len()) {
        out.extend_from_slice(&[0x8a, len]);
    } else {
        out.push(0x8b);
        // A Python int of 2^31 bytes has 17 billion digits; a longer one
        // cannot exist on either side.
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&bytes);
}

fn items(out: &mut Vec<u8>, items: &[Value], depth: usize) -> Result<(), PickleError> {
    for item in items {
        write(out, item, depth + 1)?;
    }
    Ok(())
}

fn write(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), PickleError> {
    if depth > MAX_WRITE_DEPTH {
        return Err(PickleError::TooDeep {
            limit: MAX_WRITE_DEPTH,
        });
    }
    match value {
        Value::None => out.push(b'N'),
        Value::Bool(true) => out.push(0x88),
        Value::Bool(false) => out.push(0x89),
        Value::Int(n) => int(out, *n),
        Value::BigInt(n) => long(out, n),
        Value::Float(x) => {
            out.push(b'G');
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Str(s) => sized(out, 0x8c, b'X', 0x8d, s.as_bytes()),
        Value::Bytes(b) => sized(out, b'C', b'B', 0x8e, b),
        Value::Tuple(t) if t.is_empty() => out.push(b')'),
        Value::Tuple(t) if t.len() <= 3 => {
            items(out, t, depth)?;
            out.push(0x84 + t.len() as u8);
        }
        Value::Tuple(t) => {
            out.push(b'(');
            items(out, t, depth)?;
            out.push(b't');
        }
        Value::List(l) => {
            out.push(b']');
            if !l.is_empty() {
                out.push(b'(');
                items(out, l, depth)?;
                out.push(b'e');
            }
        }
        Value::Dict(pairs) => {
            out.push(b'}');
            if !pairs.is_empty() {
                out.push(b'(');
                for (k, v) in pairs {
                    write(out, k, depth + 1)?;
                    write(out, v, depth + 1)?;
                }
                out.push(b'u');
            }
        }
        Value::Set(s) => {
            out.push(0x8f);
            if !s.is_empty() {
                out.push(b'(');
                items(out, s, depth)?;
                out.push(0x90);
            }
        }
        Value::FrozenSet(s) => {
            out.push(b'(');
            items(out, s, depth)?;
            out.push(0x91);
        }
    }
    Ok(())
}
