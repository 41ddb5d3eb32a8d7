//! Reading a pickle (protocols 0 to 5) into a [`Value`], without running
//! anything.
//!
//! The opcodes build a graph in a flat arena (one node per value-making
//! opcode, children by index), so that lists and dicts that the memo
//! shares can still be appended to, as Python's own unpickler allows; the
//! graph becomes a [`Value`] tree at `STOP`. Nothing here recurses on the
//! input except that last step, which is bounded by [`Limits::max_depth`]
//! (a value that contains itself hits the same bound), and every copy the
//! memo's sharing causes counts against [`Limits::max_size`].

use std::collections::HashMap;

use num_bigint::{BigInt, Sign};

use super::{PickleError, Value};

/// The bounds a read keeps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How deeply containers may nest: 200 by default, which a thread with
    /// the default 2 MiB stack turns into a value comfortably (the last
    /// step recurses once per level).
    pub max_depth: usize,
    /// The most memory the resulting value may take, in bytes (counted as
    /// the size of each [`Value`] plus its text and bytes); `None` for the
    /// default: 64 times the pickle's length, plus 1 MiB.
    pub max_size: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 200,
            max_size: None,
        }
    }
}

/// Reads one pickled value with the default [`Limits`] (Python's
/// `pickle.loads`, for plain values only). Bytes after the `STOP` opcode
/// are ignored, as Python ignores them.
///
/// # Errors
/// A [`PickleError`] naming what is wrong and where: a class, function or
/// other object (by name where the pickle gives one), bad or cut-short
/// bytes, nesting or size past the limits.
pub fn loads(bytes: &[u8]) -> Result<Value, PickleError> {
    loads_with(bytes, Limits::default())
}

/// As [`loads`], with explicit limits.
///
/// # Errors
/// As [`loads`].
pub fn loads_with(bytes: &[u8], limits: Limits) -> Result<Value, PickleError> {
    let root = Machine::new(bytes).run()?;
    let budget = limits
        .max_size
        .unwrap_or_else(|| bytes.len().saturating_mul(64).saturating_add(1 << 20));
    let mut build = Build {
        nodes: &root.nodes,
        max_depth: limits.max_depth,
        budget,
        limit: budget,
    };
    build.charge(std::mem::size_of::<Value>())?;
    build.value(root.top, 0)
}

/// A constructor a pickle of protocol 0 to 3 uses for a plain value: set
/// and frozenset before protocol 4, bytes and bytearray before protocol 3.
/// Only these names are known; they are mapped to data here, never called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Set,
    FrozenSet,
    Bytes,
    ByteArray,
    /// `_codecs.encode(text, "latin1")`: bytes before protocol 3.
    Encode,
}

impl Known {
    fn find(module: &[u8], name: &[u8]) -> Option<Known> {
        let builtin = module == b"builtins" || module == b"__builtin__";
        Some(match (builtin, name) {
            (true, b"set") => Known::Set,
            (true, b"frozenset") => Known::FrozenSet,
            (true, b"bytes") => Known::Bytes,
            (true, b"bytearray") => Known::ByteArray,
            (false, b"encode") if module == b"_codecs" => Known::Encode,
            _ => return None,
        })
    }
}

/// One value of the graph.
#[derive(Debug)]
enum Node {
    /// None, bool, int, float, str, bytes.
    Scalar(Value),
    Tuple(Vec<u32>),
    List(Vec<u32>),
    Dict(Vec<(u32, u32)>),
    Set(Vec<u32>),
    FrozenSet(Vec<u32>),
    /// A known constructor, waiting for `REDUCE`.
    Global(Known, String),
}

/// The result of running the opcodes: the graph and its top node.
struct Graph {
    nodes: Vec<Node>,
    top: u32,
}

/// The unpickling machine: the input, the stack, the marks, the memo.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts, for errors.
    at: usize,
    nodes: Vec<Node>,
    stack: Vec<u32>,
    /// Stack heights at each `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u64, u32>,
}

/// Python's limit on the digits of an `int` read from text (3.11+).
const MAX_INT_DIGITS: usize = 4300;

impl<'a> Machine<'a> {
    fn new(input: &'a [u8]) -> Self {
        Machine {
            input,
            pos: 0,
            at: 0,
            nodes: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> PickleError {
        PickleError::invalid(self.at, reason)
    }

    fn refused(&self, opcode: &'static str, name: Option<String>) -> PickleError {
        PickleError::Refused {
            opcode,
            name,
            at: self.at,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.input.len())
            .ok_or(PickleError::Truncated { at: self.at })?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length of `n` bytes still to come, as a `usize` (a claimed length
    /// past the input is cut short, not allocated).
    fn len(&self, n: u64) -> Result<usize, PickleError> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.input.len() - self.pos)
            .ok_or(PickleError::Truncated { at: self.at })
    }

    /// The text up to the next newline (which is consumed, not returned).
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = &self.input[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated { at: self.at })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn push(&mut self, node: Node) {
        let index = self.nodes.len() as u32;
        self.nodes.push(node);
        self.stack.push(index);
    }

    fn scalar(&mut self, value: Value) {
        self.push(Node::Scalar(value));
    }

    fn pop(&mut self) -> Result<u32, PickleError> {
        if self.marks.last() == Some(&self.stack.len()) {
            return Err(self.invalid("a mark where a value was expected"));
        }
        self.stack.pop().ok_or_else(|| self.invalid("the stack is empty"))
    }

    fn top(&self) -> Result<u32, PickleError> {
        if self.marks.last() == Some(&self.stack.len()) {
            return Err(self.invalid("a mark where a value was expected"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.invalid("the stack is empty"))
    }

    /// The items pushed since the last mark, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<u32>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.invalid("no mark on the stack"))?;
        Ok(self.stack.split_off(mark))
    }

    fn memo_put(&mut self, id: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(id, top);
        Ok(())
    }

    fn memo_get(&mut self, id: u64) -> Result<(), PickleError> {
        let index = *self
            .memo
            .get(&id)
            .ok_or_else(|| self.invalid(format!("memo key {id} was never stored")))?;
        self.stack.push(index);
        Ok(())
    }

    fn text_id(&self, line: &[u8]) -> Result<u64, PickleError> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| self.invalid("a memo key that is not a number"))
    }

    fn run(mut self) -> Result<Graph, PickleError> {
        loop {
            self.at = self.pos;
            let op = self.u8()?;
            if op == b'.' {
                let top = self.pop()?;
                return Ok(Graph {
                    nodes: self.nodes,
                    top,
                });
            }
            self.step(op)?;
        }
    }

    /// Runs one opcode (all but `STOP`).
    fn step(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            // Framing and structure.
            0x80 => {
                let protocol = self.u8()?;
                if protocol > 5 {
                    return Err(PickleError::UnsupportedProtocol { protocol });
                }
            }
            0x95 => {
                self.u64()?;
            }
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                if self.marks.last() == Some(&self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?;
                self.stack.push(top);
            }
            // Memo.
            b'p' => {
                let line = self.line()?;
                let id = self.text_id(line)?;
                self.memo_put(id)?;
            }
            b'q' => {
                let id = self.u8()?;
                self.memo_put(id.into())?;
            }
            b'r' => {
                let id = self.u32()?;
                self.memo_put(id.into())?;
            }
            0x94 => {
                let id = self.memo.len() as u64;
                self.memo_put(id)?;
            }
            b'g' => {
                let line = self.line()?;
                let id = self.text_id(line)?;
                self.memo_get(id)?;
            }
            b'h' => {
                let id = self.u8()?;
                self.memo_get(id.into())?;
            }
            b'j' => {
                let id = self.u32()?;
                self.memo_get(id.into())?;
            }
            _ => return self.value(op),
        }
        Ok(())
    }

    /// Runs an opcode that makes or fills a value.
    fn value(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'N' => self.scalar(Value::None),
            0x88 => self.scalar(Value::Bool(true)),
            0x89 => self.scalar(Value::Bool(false)),
            b'I' => {
                let line = self.line()?;
                let value = match line {
                    b"01" => Value::Bool(true),
                    b"00" => Value::Bool(false),
                    _ => self.decimal(line)?,
                };
                self.scalar(value);
            }
            b'J' => {
                let n = i32::from_le_bytes(self.array()?);
                self.scalar(Value::Int(n.into()));
            }
            b'K' => {
                let n = self.u8()?;
                self.scalar(Value::Int(n.into()));
            }
            b'M' => {
                let n = u16::from_le_bytes(self.array()?);
                self.scalar(Value::Int(n.into()));
            }
            b'L' => {
                let line = self.line()?;
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let value = self.decimal(line)?;
                self.scalar(value);
            }
            0x8a => {
                let n = self.u8()?;
                let bytes = self.take(n.into())?;
                self.scalar(Value::int(BigInt::from_signed_bytes_le(bytes)));
            }
            0x8b => {
                let n = i32::from_le_bytes(self.array()?);
                let n = u64::try_from(n).map_err(|_| self.invalid("a negative length"))?;
                let n = self.len(n)?;
                let bytes = self.take(n)?;
                self.scalar(Value::int(BigInt::from_signed_bytes_le(bytes)));
            }
            b'F' => {
                let line = self.line()?;
                let x = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| self.invalid("a float that is not a number"))?;
                self.scalar(Value::Float(x));
            }
            b'G' => {
                let x = f64::from_be_bytes(self.array()?);
                self.scalar(Value::Float(x));
            }
            _ => return self.text(op),
        }
        Ok(())
    }

    /// An `int` written in decimal (protocol 0).
    fn decimal(&self, line: &[u8]) -> Result<Value, PickleError> {
        let digits = line.iter().filter(|b| b.is_ascii_digit()).count();
        if digits > MAX_INT_DIGITS {
            return Err(self.invalid(format!("an int of more than {MAX_INT_DIGITS} digits")));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| self.invalid("an int that is not a number"))?
            .trim();
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::Int(n));
        }
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => (Sign::Minus, rest),
            None => (Sign::Plus, text.strip_prefix('+').unwrap_or(text)),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid("an int that is not a number"));
        }
        let magnitude = num_bigint::BigUint::parse_bytes(digits.as_bytes(), 10)
            .ok_or_else(|| self.invalid("an int that is not a number"))?;
        Ok(Value::int(BigInt::from_biguint(sign, magnitude)))
    }

    /// Strings and bytes.
    fn text(&mut self, op: u8) -> Result<(), PickleError> {
        let value = match op {
            b'V' => {
                let line = self.line()?;
                Value::Str(self.raw_unicode_escape(line)?)
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => self.u32()?.into(),
                    0x8c => self.u8()?.into(),
                    _ => self.u64()?,
                };
                let n = self.len(n)?;
                let bytes = self.take(n)?;
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| self.invalid("a str that is not UTF-8 (a lone surrogate?)"))?;
                Value::Str(s.to_owned())
            }
            b'S' => {
                let line = self.line()?;
                let bytes = self.py2_repr(line)?;
                self.ascii(bytes)?
            }
            b'T' | b'U' => {
                let n = if op == b'T' {
                    u64::from(self.u32()?)
                } else {
                    self.u8()?.into()
                };
                let n = self.len(n)?;
                let bytes = self.take(n)?.to_vec();
                self.ascii(bytes)?
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let n = match op {
                    b'B' => self.u32()?.into(),
                    b'C' => self.u8()?.into(),
                    _ => self.u64()?,
                };
                let n = self.len(n)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            _ => return self.container(op),
        };
        self.scalar(value);
        Ok(())
    }

    /// A Python 2 `str`, which Python 3 reads as ASCII text.
    fn ascii(&self, bytes: Vec<u8>) -> Result<Value, PickleError> {
        if !bytes.is_ascii() {
            return Err(self.invalid("a Python 2 str that is not ASCII"));
        }
        // ASCII is UTF-8.
        String::from_utf8(bytes)
            .map(Value::Str)
            .map_err(|_| self.invalid("a Python 2 str that is not ASCII"))
    }

    /// Protocol 0's `str`: Latin-1 bytes with `\uXXXX` and `\UXXXXXXXX`
    /// escapes.
    fn raw_unicode_escape(&self, line: &[u8]) -> Result<String, PickleError> {
        let mut out = String::with_capacity(line.len());
        let mut i = 0;
        while i < line.len() {
            let b = line[i];
            let width = match (b, line.get(i + 1)) {
                (b'\\', Some(b'u')) => 4,
                (b'\\', Some(b'U')) => 8,
                _ => 0,
            };
            if width == 0 {
                out.push(char::from(b));
                i += 1;
                continue;
            }
            let hex = line
                .get(i + 2..i + 2 + width)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| self.invalid("a truncated \\u escape"))?;
            let c = char::from_u32(hex).ok_or_else(|| self.invalid("an escape that is not a character"))?;
            out.push(c);
            i += 2 + width;
        }
        Ok(out)
    }

    /// Protocol 0's Python 2 `str`: a quoted literal with escapes.
    fn py2_repr(&self, line: &[u8]) -> Result<Vec<u8>, PickleError> {
        let bad = || self.invalid("a quoted string that is not a Python literal");
        let quote = *line.first().ok_or_else(bad)?;
        if line.len() < 2 || (quote != b'\'' && quote != b'"') || line[line.len() - 1] != quote {
            return Err(bad());
        }
        let body = &line[1..line.len() - 1];
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i] != b'\\' {
                out.push(body[i]);
                i += 1;
                continue;
            }
            let c = *body.get(i + 1).ok_or_else(bad)?;
            i += 2;
            let byte = match c {
                b'\\' | b'\'' | b'"' => c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'a' => 7,
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                b'\n' => continue,
                b'x' => {
                    let hex = body.get(i..i + 2).ok_or_else(bad)?;
                    i += 2;
                    std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(bad)?
                }
                b'0'..=b'7' => {
                    let mut n = u32::from(c - b'0');
                    for _ in 0..2 {
                        match body.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                n = n * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    (n & 0xff) as u8
                }
                other => {
                    out.push(b'\\');
                    other
                }
            };
            out.push(byte);
        }
        Ok(out)
    }

    /// Containers, and the opcodes that are refused.
    fn container(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b')' => self.push(Node::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark()?;
                self.push(Node::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if self.stack.len() < n || self.marks.last().is_some_and(|&m| m > self.stack.len() - n) {
                    return Err(self.invalid("too few values for a tuple"));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(Node::Tuple(items));
            }
            b']' => self.push(Node::List(Vec::new())),
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Node::List(items));
            }
            b'a' => {
                let item = self.pop()?;
                self.extend(vec![item], "APPEND")?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.extend(items, "APPENDS")?;
            }
            b'}' => self.push(Node::Dict(Vec::new())),
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.push(Node::Dict(pairs));
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![key, value])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            0x8f => self.push(Node::Set(Vec::new())),
            0x90 => {
                let items = self.pop_mark()?;
                self.extend(items, "ADDITEMS")?;
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.push(Node::FrozenSet(items));
            }
            _ => return self.object(op),
        }
        Ok(())
    }

    fn pairs(&self, items: Vec<u32>) -> Result<Vec<(u32, u32)>, PickleError> {
        if items.len() % 2 != 0 {
            return Err(self.invalid("a dict with a key and no value"));
        }
        Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
    }

    /// `APPEND(S)` to the list, or `ADDITEMS` to the set, below the items.
    fn extend(&mut self, items: Vec<u32>, opcode: &'static str) -> Result<(), PickleError> {
        let target = self.top()? as usize;
        match (&mut self.nodes[target], opcode) {
            (Node::List(list), "APPEND" | "APPENDS") => list.extend(items),
            (Node::Set(set), "ADDITEMS") => set.extend(items),
            _ => return Err(self.invalid(format!("{opcode} to something that is not a list or set"))),
        }
        Ok(())
    }

    /// `SETITEM(S)` into the dict below the items.
    fn set_items(&mut self, items: Vec<u32>) -> Result<(), PickleError> {
        let pairs = self.pairs(items)?;
        let target = self.top()? as usize;
        match &mut self.nodes[target] {
            Node::Dict(dict) => dict.extend(pairs),
            _ => return Err(self.invalid("SETITEMS to something that is not a dict")),
        }
        Ok(())
    }

    /// Globals, calls and objects: the few constructors of plain values that
    /// old protocols use are mapped to data; everything else is refused.
    fn object(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.global(module, name, "GLOBAL")
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let text = |node: u32| match &self.nodes[node as usize] {
                    Node::Scalar(Value::Str(s)) => Some(s.clone()),
                    _ => None,
                };
                match (text(module), text(name)) {
                    (Some(m), Some(n)) => self.global(m.as_bytes(), n.as_bytes(), "STACK_GLOBAL"),
                    _ => Err(self.invalid("STACK_GLOBAL names that are not strings")),
                }
            }
            b'R' => self.reduce(),
            b'i' => {
                let module = self.line()?;
                let name = self.line()?;
                Err(self.refused("INST", Some(dotted(module, name))))
            }
            b'b' => Err(self.refused("BUILD", None)),
            b'o' => Err(self.refused("OBJ", None)),
            0x81 => Err(self.refused("NEWOBJ", None)),
            0x92 => Err(self.refused("NEWOBJ_EX", None)),
            0x82..=0x84 => {
                let code = match op {
                    0x82 => u32::from(self.u8()?),
                    0x83 => u32::from(u16::from_le_bytes(self.array()?)),
                    _ => self.u32()?,
                };
                Err(self.refused("EXT", Some(format!("copyreg extension code {code}"))))
            }
            b'P' | b'Q' => Err(self.refused("PERSID", Some("a persistent id".into()))),
            0x97 | 0x98 => Err(self.refused("NEXT_BUFFER", Some("an out-of-band buffer".into()))),
            _ => Err(PickleError::UnknownOpcode {
                opcode: op,
                at: self.at,
            }),
        }
    }

    fn global(&mut self, module: &[u8], name: &[u8], opcode: &'static str) -> Result<(), PickleError> {
        let full = dotted(module, name);
        match Known::find(module, name) {
            Some(known) => {
                self.push(Node::Global(known, full));
                Ok(())
            }
            None => Err(self.refused(opcode, Some(full))),
        }
    }

    /// `REDUCE` of a known constructor: the plain value it would make.
    fn reduce(&mut self) -> Result<(), PickleError> {
        let args = self.pop()?;
        let callee = self.pop()?;
        let Node::Global(known, _) = self.nodes[callee as usize] else {
            return Err(self.refused("REDUCE", None));
        };
        let Node::Tuple(args) = &self.nodes[args as usize] else {
            return Err(self.invalid("REDUCE with arguments that are not a tuple"));
        };
        let arg = |i: usize| args.get(i).map(|&n| &self.nodes[n as usize]);
        let node = match (known, args.len(), arg(0), arg(1)) {
            (Known::Set | Known::FrozenSet, 0, _, _) => wrap(known, Vec::new()),
            (Known::Set | Known::FrozenSet, 1, Some(Node::List(items) | Node::Tuple(items)), _) => {
                wrap(known, items.clone())
            }
            (Known::Bytes | Known::ByteArray, 0, _, _) => Node::Scalar(Value::Bytes(Vec::new())),
            (Known::Bytes | Known::ByteArray, 1, Some(Node::Scalar(Value::Bytes(b))), _) => {
                Node::Scalar(Value::Bytes(b.clone()))
            }
            (Known::Encode | Known::ByteArray, 2, Some(Node::Scalar(Value::Str(s))), Some(enc)) => {
                let latin1 = matches!(enc, Node::Scalar(Value::Str(e)) if e == "latin1" || e == "latin-1");
                let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
                match bytes {
                    Some(bytes) if latin1 => Node::Scalar(Value::Bytes(bytes)),
                    _ => return Err(self.invalid("bytes encoded other than as Latin-1")),
                }
            }
            _ => return Err(self.invalid(format!("arguments that {known:?} does not take here"))),
        };
        self.push(node);
        Ok(())
    }
}

fn wrap(known: Known, items: Vec<u32>) -> Node {
    if known == Known::Set {
        Node::Set(items)
    } else {
        Node::FrozenSet(items)
    }
}

fn dotted(module: &[u8], name: &[u8]) -> String {
    format!(
        "{}.{}",
        String::from_utf8_lossy(module),
        String::from_utf8_lossy(name)
    )
}

/// Turns the graph into a tree, counting depth and size.
struct Build<'g> {
    nodes: &'g [Node],
    max_depth: usize,
    budget: usize,
    limit: usize,
}

impl Build<'_> {
    /// Counts `bytes` of the result against the size limit.
    fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.budget = self
            .budget
            .checked_sub(bytes)
            .ok_or(PickleError::TooLarge { limit: self.limit })?;
        Ok(())
    }

    fn value(&mut self, index: u32, depth: usize) -> Result<Value, PickleError> {
        if depth > self.max_depth {
            return Err(PickleError::TooDeep {
                limit: self.max_depth,
            });
        }
        let nodes = self.nodes;
        let node = &nodes[index as usize];
        Ok(match node {
            Node::Scalar(v) => {
                let bytes = match v {
                    Value::Str(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    Value::BigInt(n) => n.bits().div_ceil(8) as usize,
                    _ => 0,
                };
                self.charge(bytes)?;
                v.clone()
            }
            Node::Tuple(items) => Value::Tuple(self.items(items, depth)?),
            Node::List(items) => Value::List(self.items(items, depth)?),
            Node::Set(items) => Value::Set(self.items(items, depth)?),
            Node::FrozenSet(items) => Value::FrozenSet(self.items(items, depth)?),
            Node::Dict(pairs) => {
                self.charge(pairs.len().saturating_mul(2 * std::mem::size_of::<Value>()))?;
                let mut out = Vec::with_capacity(pairs.len());
                for &(k, v) in pairs {
                    out.push((self.value(k, depth + 1)?, self.value(v, depth + 1)?));
                }
                Value::Dict(out)
            }
            Node::Global(_, name) => {
                return Err(PickleError::Refused {
                    opcode: "GLOBAL",
                    name: Some(name.clone()),
                    at: 0,
                });
            }
        })
    }

    fn items(&mut self, items: &[u32], depth: usize) -> Result<Vec<Value>, PickleError> {
        self.charge(items.len().saturating_mul(std::mem::size_of::<Value>()))?;
        let mut out = Vec::with_capacity(items.len());
        for &i in items {
            out.push(self.value(i, depth + 1)?);
        }
        Ok(out)
    }
}
