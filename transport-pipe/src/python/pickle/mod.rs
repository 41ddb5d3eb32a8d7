//! Pickles of plain values: read for protocols 0 to 5, written at
//! protocol 4, never running anything.
//!
//! [`loads`] reads what Python's `pickle.dumps` (and so
//! `Connection.send`) writes for `None`, `bool`, `int` (any size),
//! `float`, `str`, `bytes`, `bytearray`, `tuple`, `list`, `dict`, `set`
//! and `frozenset`, at every protocol, including the constructor calls that
//! old protocols use for sets (`builtins.set`, before protocol 4) and bytes
//! (`_codecs.encode`, before protocol 3): those few names are recognised
//! and turned into data here, never looked up or called. Any other class,
//! function or object opcode (`GLOBAL`, `STACK_GLOBAL`, `REDUCE`, `BUILD`,
//! `INST`, `OBJ`, `NEWOBJ`, `EXT*`, persistent ids, out-of-band buffers) is
//! refused with [`PickleError::Refused`], naming the class where the pickle
//! gives it.
//!
//! The reader is made for bytes from a peer nobody vouches for: no
//! allocation is sized by a length the pickle claims before the bytes are
//! there (a claimed length past the end is [`PickleError::Truncated`]),
//! nesting is limited ([`Limits::max_depth`], also what stops a list that
//! contains itself), and so is the size of the result
//! ([`Limits::max_size`]), since a small pickle can refer to one value
//! thousands of times through the memo and each reference is a copy here.
//! The `python_pickle` fuzz target runs it on arbitrary bytes.
//!
//! [`dumps`] writes protocol 4, the default of Python 3.8 to 3.13 (and
//! readable from 3.4): one frame, the shortest opcode for each value.
//!
//! # Why not `serde-pickle`
//! It was the first candidate, and was read for this (version 1.2.0). It
//! writes only protocols 2 and 3, where Python's `Connection.send` writes 4
//! (5 from 3.14). It reads lengths into growing buffers, which is safe,
//! but meets a class instance (`INST`, `OBJ`, `NEWOBJ`, `BUILD`) with a
//! best effort that turns it into an empty dict (or its arguments) instead
//! of refusing it by name, so a peer that sends an object would be
//! misread silently. Its value model (serde's) has no way to tell a
//! `tuple` from a `list` or a `set` from a `frozenset` on the way back, and
//! a serde deserializer is more than this needs. The reader here is about
//! 600 lines with the limits above built in, and is fuzzed.
//!
//! ```
//! use transport_pipe::python::pickle::{Value, dumps, loads};
//!
//! let v = Value::Dict(vec![("id".into(), Value::Int(7)), ("tags".into(), Value::List(vec!["a".into()]))]);
//! assert_eq!(loads(&dumps(&v).unwrap()).unwrap(), v);
//!
//! // pickle.dumps(collections.OrderedDict(), 2)
//! let object = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.";
//! let err = loads(object).unwrap_err();
//! assert!(err.to_string().contains("`collections.OrderedDict`"));
//! ```

mod decode;
mod encode;
mod error;
mod value;

pub use decode::{Limits, loads, loads_with};
pub use encode::{MAX_WRITE_DEPTH, dumps};
pub use error::PickleError;
pub use num_bigint::BigInt;
pub use value::Value;

#[cfg(test)]
mod tests;
