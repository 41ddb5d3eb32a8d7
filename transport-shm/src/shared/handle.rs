//! What every shared-state handle has in common: cloning (another handle in
//! this process), `Debug`, and hand-off to child processes.

/// Implements `Clone`, `Debug` and `Handoff` for a handle type whose `obj`
/// field is an `Arc<Object>`; `$shape` gives the `Shape` to open it with.
macro_rules! object_handle {
    ($ty:ident $(<$g:ident $(: $b:path)?>)?, $kind:literal, $shape:expr, typed = $typed:expr) => {
        impl$(<$g $(: $b)?>)? Clone for $ty$(<$g>)? {
            fn clone(&self) -> Self {
                $ty {
                    obj: std::sync::Arc::clone(&self.obj),
                    _type: std::marker::PhantomData,
                }
            }
        }

        impl$(<$g $(: $b)?>)? std::fmt::Debug for $ty$(<$g>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("segment", &self.obj.name())
                    .finish_non_exhaustive()
            }
        }

        impl$(<$g $(: $b)?>)? transport_core::Handoff for $ty$(<$g>)? {
            const KIND: &'static str = $kind;

            fn prepare(self, cmd: &mut std::process::Command) -> Result<String, transport_core::HandoffError> {
                self.obj.prepare(cmd)
            }

            fn open(payload: &str) -> Result<Self, transport_core::OpenError> {
                Ok($ty {
                    obj: crate::shared::object::Object::open(payload, $shape)?,
                    _type: std::marker::PhantomData,
                })
            }

            fn message_type() -> Option<std::borrow::Cow<'static, str>> {
                $typed
            }

            fn child_watch() -> Option<fn(&str, &std::process::Child)> {
                crate::segment::child_watch(crate::segment::Kind::State)
            }
        }
    };
}

pub(crate) use object_handle;
