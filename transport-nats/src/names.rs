//! Where a channel lives on the server: its subjects, stream and consumer.
//!
//! Channel `jobs` uses, under the prefix `transport`:
//!
//! | what | name |
//! |---|---|
//! | at most once, data of sender `S` | `transport.jobs.d.S`, queue group `workers` |
//! | at most once, credit for sender `S` | `transport.jobs.c.S` |
//! | at most once, a blocked sender asks for credit | `transport.jobs.a` |
//! | at least once, data | `transport.jobs.j`, stream `TRANSPORT_jobs`, durable consumer `workers` |
//! | at least once, dead letters | `transport.jobs.dead`, stream `TRANSPORT_jobs_DEAD` |
//! | at least once, processed markers ([`Options::deduplicate`]) | key-value bucket `TRANSPORT_jobs_DONE` (stream `KV_TRANSPORT_jobs_DONE`), one key per message id |
//! | who is there (both modes) | `transport.jobs.p` |
//!
//! [`Options::deduplicate`]: crate::Options::deduplicate

/// The longest channel name.
pub const MAX_NAME_LEN: usize = 64;

/// The subjects and JetStream names of one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) name: String,
    base: String,
}

/// The queue group and the durable consumer every receiver joins.
pub(crate) const GROUP: &str = "workers";

impl Names {
    /// The names of channel `name`, if it is 1 to [`MAX_NAME_LEN`] ASCII
    /// letters, digits, `_` and `-`.
    pub(crate) fn new(name: &str) -> Result<Names, String> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "channel name `{name}` must be 1 to {MAX_NAME_LEN} ASCII letters, digits, `_` or `-`"
            ));
        }
        Ok(Names {
            name: name.to_owned(),
            base: format!("transport.{name}"),
        })
    }

    pub(crate) fn data(&self, sender: &str) -> String {
        format!("{}.d.{sender}", self.base)
    }

    pub(crate) fn data_all(&self) -> String {
        format!("{}.d.*", self.base)
    }

    /// The sender id in a data subject of this channel.
    pub(crate) fn sender_of<'s>(&self, subject: &'s str) -> Option<&'s str> {
        subject
            .strip_prefix(self.base.as_str())?
            .strip_prefix(".d.")
            .filter(|id| !id.is_empty() && !id.contains('.'))
    }

    pub(crate) fn credit(&self, sender: &str) -> String {
        format!("{}.c.{sender}", self.base)
    }

    pub(crate) fn ask(&self) -> String {
        format!("{}.a", self.base)
    }

    pub(crate) fn presence(&self) -> String {
        format!("{}.p", self.base)
    }

    pub(crate) fn jetstream(&self) -> String {
        format!("{}.j", self.base)
    }

    pub(crate) fn stream(&self) -> String {
        format!("TRANSPORT_{}", self.name)
    }

    pub(crate) fn dead(&self) -> String {
        format!("{}.dead", self.base)
    }

    pub(crate) fn dead_stream(&self) -> String {
        format!("TRANSPORT_{}_DEAD", self.name)
    }

    /// The key-value bucket of processed markers.
    pub(crate) fn done_bucket(&self) -> String {
        format!("TRANSPORT_{}_DONE", self.name)
    }

    /// The stream that holds the bucket (as JetStream's key-value layer
    /// names it).
    pub(crate) fn done_stream(&self) -> String {
        format!("KV_{}", self.done_bucket())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_laid_out() {
        let n = Names::new("jobs-1").unwrap();
        assert_eq!(n.data("S1"), "transport.jobs-1.d.S1");
        assert_eq!(n.sender_of("transport.jobs-1.d.S1"), Some("S1"));
        assert_eq!(n.sender_of("transport.jobs-1.d."), None);
        assert_eq!(n.sender_of("transport.jobs-2.d.S1"), None);
        assert_eq!(n.stream(), "TRANSPORT_jobs-1");
        assert_eq!(n.done_stream(), "KV_TRANSPORT_jobs-1_DONE");
        assert!(Names::new("a.b").is_err());
        assert!(Names::new("").is_err());
        assert!(Names::new(&"x".repeat(65)).is_err());
    }
}
