//! What one Durable Object instance remembers of its own storage between
//! requests, so that a webhook costs one storage write: whether the
//! distribution's name is stored, and whether an alarm is set.
//!
//! Memory is only a cache; storage stays the truth. An evicted instance comes
//! back knowing nothing, and asks storage (once) or writes again: writing the
//! distribution's name twice, or setting an alarm that was already set, is
//! harmless, whereas believing in an alarm that is not there would strand a
//! change. So the cache says "set" only after this instance set one, and
//! "not set" from the moment the alarm handler starts (Cloudflare counts a
//! running alarm as no longer set, and delivers it at least once).

use std::cell::Cell;

/// What this instance knows of its storage (a Durable Object runs one
/// request at a time between awaits, on one thread: `Cell` is enough).
#[derive(Debug, Default)]
pub struct StorageCache {
    distribution_stored: Cell<bool>,
    alarm_set: Cell<Option<bool>>,
}

impl StorageCache {
    /// True once this instance stored the distribution's name.
    pub fn distribution_stored(&self) -> bool {
        self.distribution_stored.get()
    }

    /// This instance stored the distribution's name.
    pub fn stored_distribution(&self) {
        self.distribution_stored.set(true);
    }

    /// Whether an alarm is set, when this instance knows; `None` when it must ask storage.
    pub fn alarm_set(&self) -> Option<bool> {
        self.alarm_set.get()
    }

    /// This instance set the alarm (`true`), or deleted it or is running it (`false`).
    pub fn alarm_is(&self, set: bool) {
        self.alarm_set.set(Some(set));
    }
}

#[cfg(test)]
mod tests {
    use super::StorageCache;

    #[test]
    fn a_new_instance_knows_nothing_and_learns_what_it_does() {
        let cache = StorageCache::default();
        assert!(!cache.distribution_stored());
        assert_eq!(cache.alarm_set(), None, "a new instance asks storage");
        cache.stored_distribution();
        cache.alarm_is(true);
        assert!(cache.distribution_stored());
        assert_eq!(cache.alarm_set(), Some(true));
        cache.alarm_is(false);
        assert_eq!(cache.alarm_set(), Some(false));
    }
}
