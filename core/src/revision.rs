//! Which of two changes of one entity is the newer, by revision and not by
//! arrival: the Durable Object lists its inbox in key order (a hash) and SQS
//! does not order a batch, so revision 6 may be folded before revision 5.
//! Every place that folds or remembers changes of one entity (the waiting
//! changes, the path memory, the sweep's taken marks) asks [`Stamp`].

/// A change's place in its entity's history: `sys.revision` when it said,
/// and whether it took the entity off the Delivery API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// `sys.revision`, when the change said it.
    pub revision: Option<u64>,
    /// An unpublish (or archive, delete): at the same revision it comes after
    /// the publish (an unpublish carries the revision it took down).
    pub removed: bool,
}

impl Stamp {
    /// A publish at `revision`.
    pub fn published(revision: Option<u64>) -> Stamp {
        Stamp { revision, removed: false }
    }

    /// A removal at `revision`.
    pub fn removed(revision: Option<u64>) -> Stamp {
        Stamp { revision, removed: true }
    }

    /// True when a change stamped `self`, arriving after one stamped `old`,
    /// is the one that stands: it is at a later revision (or the same one,
    /// no earlier in the entity's history). When either does not say its
    /// revision, arrival order is all there is, and the later one stands.
    pub fn supersedes(self, old: Stamp) -> bool {
        match (self.revision, old.revision) {
            (Some(new), Some(was)) => (new, self.removed) >= (was, old.removed),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stamp;

    #[test]
    fn the_higher_revision_stands_whatever_arrives_last() {
        let (five, six) = (Stamp::published(Some(5)), Stamp::published(Some(6)));
        assert!(six.supersedes(five));
        assert!(!five.supersedes(six), "revision 5 arriving after 6 is late");
        assert!(five.supersedes(five), "the same change again");
        assert!(Stamp::removed(Some(5)).supersedes(five), "an unpublish of revision 5 comes after its publish");
        assert!(!five.supersedes(Stamp::removed(Some(5))));
        assert!(six.supersedes(Stamp::removed(Some(5))), "a republish");
        assert!(
            Stamp::published(None).supersedes(six) && five.supersedes(Stamp::removed(None)),
            "no revision: arrival"
        );
    }
}
