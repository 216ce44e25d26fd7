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
    /// The instances the batch acts on as the store had them (read and locked together before
    /// the first unit); `instances` comes first.
    pub(super) fetched: HashMap<String, StoredInstance>,
    /// Idempotency keys → the instance each started.
    pub(super) keys: HashMap<StartKey, String>,
    /// The last folio number given per (process, scope) in this batch.
    pub(super) folios: HashMap<(String, String), i64>,
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
    Folio((String, String), Option<i64>),
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

    pub(super) fn put_folio(&mut self, process: &str, scope: &str, n: i64) {
        let key = (process.to_string(), scope.to_string());
        let old = self.folios.insert(key.clone(), n);
        self.undo.push(Undo::Folio(key, old));
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
                Undo::Folio(k, Some(n)) => {
                    self.folios.insert(k, n);
                }
                Undo::Folio(k, None) => {
                    self.folios.remove(&k);
                }
            }
        }
    }
}
