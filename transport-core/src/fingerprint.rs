//! What a hand-off token says of the bytes an end carries, so a child built
//! separately from its parent (another compiler, other features, another
//! version of the message type) is refused with an error naming both sides
//! instead of reading messages it would misread:
//! - the archive format of this build ([`archive_format`]): rkyv's major
//!   version, byte order, alignment and pointer width, which the
//!   application chooses through rkyv's own features;
//! - the layout of the message type ([`message_fingerprint`]): its name
//!   without module paths, and the size and alignment of its archived form;
//! - a schema version, where the application gives one
//!   ([`Versioned`](crate::Versioned)).
//!
//! The name comes from [`std::any::type_name`], whose text std does not
//! promise to keep; paths are left out so that moving a type between
//! modules or crates changes nothing. A compiler that wrote a name
//! differently would make a hand-off refused, never accepted. The check
//! is a guard against mistakes, not against a hostile peer: every message
//! is validated by the receiver all the same.

use std::{
    mem::{align_of, size_of},
    sync::OnceLock,
};

use rkyv::{Archive, rancor};

/// The archive format this build writes and reads, as the hand-off token
/// carries it: for example `rkyv-0.8 little-endian aligned 32-bit`.
///
/// The format is rkyv's, chosen by the application through rkyv's features
/// (`big_endian`, `unaligned`, `pointer_width_16` / `pointer_width_64`);
/// the transport crates use rkyv's defaults and force none of them.
pub fn archive_format() -> &'static str {
    static FORMAT: OnceLock<String> = OnceLock::new();
    FORMAT.get_or_init(|| {
        // A `u32` of 1 archived: its first byte says the byte order, the
        // archived type's alignment says whether archives are aligned.
        let one = rkyv::to_bytes::<rancor::Failure>(&1u32).map(|b| b.first().copied());
        let order = if matches!(one, Ok(Some(1))) {
            "little-endian"
        } else {
            "big-endian"
        };
        let aligned = if align_of::<rkyv::Archived<u32>>() == 1 {
            "unaligned"
        } else {
            "aligned"
        };
        let width = rkyv::primitive::FixedUsize::BITS;
        format!("rkyv-0.8 {order} {aligned} {width}-bit")
    })
}

/// The fingerprint of message type `T` that hand-off tokens carry: its
/// name without module paths, and the size and alignment of its archived
/// form, for example `Job (archived: 16 bytes, align 8)`.
///
/// For backend authors whose own ends are typed (a queue of `T`); the typed
/// [`Sender`](crate::Sender), [`Receiver`](crate::Receiver) and
/// [`Connection`](crate::Connection) use it already.
pub fn message_fingerprint<T: Archive>() -> String {
    format!(
        "{} (archived: {} bytes, align {})",
        short_name::<T>(),
        size_of::<T::Archived>(),
        align_of::<T::Archived>()
    )
}

/// The fingerprint of a type shared as it is, not archived (a value in
/// shared memory): its name without module paths, its size and alignment.
pub fn layout_fingerprint<T>() -> String {
    format!(
        "{} ({} bytes, align {})",
        short_name::<T>(),
        size_of::<T>(),
        align_of::<T>()
    )
}

/// The fingerprint of a two-way end that sends `Out` and receives `In`.
/// The child's end sends what the parent's receives, so the two are
/// written in an order both ends agree on.
pub(crate) fn pair_fingerprint<Out: Archive, In: Archive>() -> String {
    let (out, inn) = (message_fingerprint::<Out>(), message_fingerprint::<In>());
    let (first, second) = if out <= inn { (out, inn) } else { (inn, out) };
    format!("{first} <-> {second}")
}

/// `T`'s name with every module path left out: `alloc::vec::Vec<app::Job>`
/// becomes `Vec<Job>`.
fn short_name<T: ?Sized>() -> String {
    strip_paths(std::any::type_name::<T>())
}

fn strip_paths(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut rest = full;
    while let Some(at) = rest.find("::") {
        out.push_str(&rest[..at]);
        // The segment before `::` is a path: drop it.
        let keep = out
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        out.truncate(keep);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_left_out_of_names() {
        assert_eq!(strip_paths("alloc::vec::Vec<app::jobs::Job>"), "Vec<Job>");
        assert_eq!(
            strip_paths("(u8, core::option::Option<alloc::string::String>)"),
            "(u8, Option<String>)"
        );
        assert_eq!(strip_paths("[a::B; 4]"), "[B; 4]");
        assert_eq!(strip_paths("u64"), "u64");
    }

    #[test]
    fn fingerprints_name_the_archived_layout() {
        assert_eq!(
            message_fingerprint::<u64>(),
            format!(
                "u64 (archived: 8 bytes, align {})",
                align_of::<rkyv::Archived<u64>>()
            )
        );
        assert_eq!(
            message_fingerprint::<String>(),
            format!(
                "String (archived: {} bytes, align {})",
                size_of::<rkyv::Archived<String>>(),
                align_of::<rkyv::Archived<String>>()
            )
        );
        assert_eq!(layout_fingerprint::<[u32; 3]>(), "[u32; 3] (12 bytes, align 4)");
        assert_eq!(pair_fingerprint::<u8, u16>(), pair_fingerprint::<u16, u8>());
    }

    #[test]
    fn the_format_of_this_build_is_rkyvs_default() {
        assert_eq!(archive_format(), "rkyv-0.8 little-endian aligned 32-bit");
    }
}
