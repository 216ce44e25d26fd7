//! What the units of a group-commit batch have decided so far, as later reads in the batch must
//! see it (nothing is written before the batch commits), with an undo log so that a unit the
//! machine refuses leaves it as it found it.

use std::collections::HashMap;

use crate::store::StoredInstance;

/// Instances as earlier units of a batch (and the unit at hand) left them, for later reads.
/// A unit that fails is undone: what it put is taken back.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    pub(super) instances: HashMap<String, StoredInstance>,
    /// Idempotency keys → the instance each started.
    pub(super) keys: HashMap<StartKey, String>,
    undo: Vec<Undo>,
}

/// An idempotency key as it is unique: per user and process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct StartKey {
    pub user: String,
    pub process: String,
    pub key: String,
}

#[derive(Debug)]
enum Undo {
    Instance(String, Option<Box<StoredInstance>>),
    Key(StartKey),
}

impl Overlay {
    pub(super) fn put(&mut self, s: StoredInstance) {
        let id = s.id.clone();
        let old = self.instances.insert(id.clone(), s);
        self.undo.push(Undo::Instance(id, old.map(Box::new)));
    }

    pub(super) fn put_key(&mut self, key: &StartKey, id: &str) {
        self.keys.insert(key.clone(), id.to_string());
        self.undo.push(Undo::Key(key.clone()));
    }

    pub(super) fn keep_unit(&mut self) {
        self.undo.clear();
    }

    pub(super) fn undo_unit(&mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Instance(id, Some(old)) => {
                    self.instances.insert(id, *old);
                }
                Undo::Instance(id, None) => {
                    self.instances.remove(&id);
                }
                Undo::Key(k) => {
                    self.keys.remove(&k);
                }
            }
        }
    }
}
