//! Hostile and hand-made pickles (the interop tests compare with Python's
//! own at every protocol).

use super::*;

fn sample() -> Value {
    Value::Tuple(vec![
        Value::None,
        Value::Bool(true),
        Value::Int(-5),
        Value::Int(70_000),
        Value::Int(i64::MIN),
        Value::int(BigInt::from(1u8) << 200u32),
        Value::Float(-0.5),
        Value::Str("héllo".into()),
        Value::Bytes(vec![0, 255]),
        Value::List(vec![Value::Int(1), Value::List(vec![])]),
        Value::Dict(vec![("k".into(), Value::Tuple(vec![]))]),
        Value::Set(vec![Value::Int(3)]),
        Value::FrozenSet(vec![]),
        Value::Str("x".repeat(300)),
    ])
}

#[test]
fn round_trips_every_kind() {
    let v = sample();
    assert_eq!(loads(&dumps(&v).unwrap()).unwrap(), v);
}

#[test]
fn big_int_only_when_needed() {
    assert_eq!(Value::int(BigInt::from(42)), Value::Int(42));
    // LONG1 of 8 bytes holding i64::MAX.
    let p = b"\x80\x02\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.";
    assert_eq!(loads(p).unwrap(), Value::Int(i64::MAX));
}

#[test]
fn protocol_0_text_forms() {
    // pickle.dumps((True, 12345678901234567890, 'a\u20ac\n', 1.5, 'py2'), 0)
    // by hand: I01, L...L, V with escapes, F, S.
    let p = b"(I01\nL12345678901234567890L\nVa\\u20ac\\u000a\nF1.5\nS'py2'\ntp0\n.";
    let v = loads(p).unwrap();
    assert_eq!(
        v,
        Value::Tuple(vec![
            Value::Bool(true),
            Value::int("12345678901234567890".parse::<BigInt>().unwrap()),
            Value::Str("a\u{20ac}\n".into()),
            Value::Float(1.5),
            Value::Str("py2".into()),
        ])
    );
}

#[test]
fn old_protocol_sets_and_bytes_are_data() {
    // pickle.dumps({1}, 2) and pickle.dumps(b'\xff', 2)
    let set = b"\x80\x02c__builtin__\nset\nq\x00]q\x01K\x01a\x85q\x02Rq\x03.";
    assert_eq!(loads(set).unwrap(), Value::Set(vec![Value::Int(1)]));
    let bytes = b"\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00\xc3\xbfq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.";
    assert_eq!(loads(bytes).unwrap(), Value::Bytes(vec![0xff]));
}

#[test]
fn classes_are_refused_by_name() {
    let stack_global = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";
    let e = loads(stack_global).unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert!(e.to_string().contains("`os.system`"), "{e}");
    let inst = b"(ifoo\nBar\n.";
    assert!(loads(inst).unwrap_err().to_string().contains("`foo.Bar`"));
    for op in [&b"\x80\x02N}b."[..], b"\x80\x02N)\x81.", b"\x80\x02\x82\x01."] {
        assert!(loads(op).unwrap_err().is_refused());
    }
}

#[test]
fn claimed_lengths_past_the_end_allocate_nothing() {
    for p in [
        &b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7fabc"[..],
        b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff",
        b"X\xff\xff\xff\xff",
        b"\x8b\xff\xff\xff\x7f",
        b"\x95\xff\xff\xff\xff\xff\xff\xff\xff.",
    ] {
        assert!(loads(p).is_err());
    }
}

#[test]
fn memo_bombs_hit_the_size_limit() {
    // A list of 16 references to the previous list, 30 times over: 16^30
    // leaves from a few hundred bytes.
    let mut p = b"\x80\x04]\x94".to_vec();
    for i in 0..30u8 {
        p.extend_from_slice(b"](");
        for _ in 0..16 {
            p.extend_from_slice(&[b'h', i]);
        }
        p.extend_from_slice(b"e\x94");
    }
    p.push(b'.');
    assert!(matches!(loads(&p), Err(PickleError::TooLarge { .. })));
}

#[test]
fn deep_nesting_and_cycles_are_bounded() {
    let mut p = b"\x80\x04".to_vec();
    p.extend(std::iter::repeat_n(b']', 100_000));
    p.extend(std::iter::repeat_n(b'a', 99_999));
    p.push(b'.');
    assert!(matches!(loads(&p), Err(PickleError::TooDeep { .. })));
    // l = []; l.append(l)
    let cycle = b"\x80\x04]\x94h\x00a.";
    assert!(matches!(loads(cycle), Err(PickleError::TooDeep { .. })));
}

#[test]
fn shared_lists_see_later_appends() {
    // x = []; (x, x) with x filled after it was memoized:
    // ] MEMOIZE h0 TUPLE2 ... APPEND to the memoized list via h0.
    let p = b"\x80\x04]\x94h\x00\x86\x94h\x00K\x07a0.";
    assert_eq!(
        loads(p).unwrap(),
        Value::Tuple(vec![
            Value::List(vec![Value::Int(7)]),
            Value::List(vec![Value::Int(7)])
        ])
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for p in [
        &b""[..],
        b".",
        b"(",
        b"t.",
        b"0.",
        b"a.",
        b"s.",
        b"\x80\x09.",
        b"\xff",
        b"\x86.",
        b"(\x85.",
    ] {
        assert!(loads(p).is_err(), "{p:?}");
    }
}
