//! [`Value`]: the plain Python values a pickle may carry here.

use num_bigint::BigInt;

/// A plain Python value, as read from or written to a pickle.
///
/// | Python | `Value` |
/// |---|---|
/// | `None` | [`None`](Value::None) |
/// | `bool` | [`Bool`](Value::Bool) |
/// | `int` | [`Int`](Value::Int) when it fits an `i64`, else [`BigInt`](Value::BigInt) |
/// | `float` | [`Float`](Value::Float) |
/// | `str` | [`Str`](Value::Str) |
/// | `bytes`, `bytearray` | [`Bytes`](Value::Bytes) (a `bytearray` is read as bytes) |
/// | `tuple`, `list` | [`Tuple`](Value::Tuple), [`List`](Value::List) |
/// | `dict` | [`Dict`](Value::Dict): key/value pairs in insertion order |
/// | `set`, `frozenset` | [`Set`](Value::Set), [`FrozenSet`](Value::FrozenSet) |
///
/// A value Python shares (the same list twice in a tuple) arrives as two
/// equal copies; keys and set items are kept in the order they come
/// (Python never writes a key twice).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// An `int` that does not fit 64 bits (never one that does).
    BigInt(BigInt),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `bytes` (or `bytearray`).
    Bytes(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`.
    List(Vec<Value>),
    /// A `dict`, its pairs in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A `set`.
    Set(Vec<Value>),
    /// A `frozenset`.
    FrozenSet(Vec<Value>),
}

impl Value {
    /// An `int` of any size: [`Int`](Value::Int) when it fits an `i64`.
    pub fn int(n: impl Into<BigInt>) -> Value {
        let n = n.into();
        match i64::try_from(&n) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(n),
        }
    }

    /// Python's name for the value's type (`"int"`, `"dict"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
        }
    }

    /// The text, for a [`Str`](Value::Str).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, for a [`Bytes`](Value::Bytes).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The number, for an [`Int`](Value::Int).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The value under `key`, for a [`Dict`](Value::Dict) (the last pair
    /// with that key).
    pub fn get(&self, key: &Value) -> Option<&Value> {
        match self {
            Value::Dict(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(b)
    }
}
