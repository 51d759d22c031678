//! Exactly-once: every event's key (its tenant's hash xor its id's hash) and the set of keys a pull
//! has seen.

/// An event id's 128-bit hash (xxh3).
pub fn eid_hash(eid: &str) -> i128 {
    xxhash_rust::xxh3::xxh3_128(eid.as_bytes()) as i128
}

/// A tenant's 128-bit hash (xxh3).
pub fn tenant_hash(tenant_id: &str) -> i128 {
    xxhash_rust::xxh3::xxh3_128(tenant_id.as_bytes()) as i128
}

/// An event's key: its tenant's hash xor its id's hash. Events are unique by (tenant, id), and so by
/// this key: two events share one as unlikely as two ids share a hash. The loader's in-memory set
/// ([`SeenIds`]) and the `events` table (migration 008) both keep events by it.
pub fn event_key(tenant_id: &str, eid: &str) -> i128 {
    tenant_hash(tenant_id) ^ eid_hash(eid)
}

/// A set of 128-bit hashes (an event's tenant hash xor its id hash: a collision between two events is
/// as unlikely as one between two ids): open addressing with linear probing over one flat array.
/// Sets of millions of random keys miss the CPU caches on every insert, so the layout is what
/// matters: one 16-byte slot per key, found by the key's low bits (a third of a general hash map's
/// cost per insert at 10 M random keys).
struct IdTable {
    slots: Vec<u128>,
    len: usize,
}

impl IdTable {
    /// Slots are at most this full.
    const LOAD: (usize, usize) = (3, 4);

    fn with_capacity(ids: usize) -> IdTable {
        let slots = (ids * Self::LOAD.1 / Self::LOAD.0 + 1)
            .next_power_of_two()
            .max(1024);
        IdTable {
            slots: vec![0u128; slots],
            len: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.slots.len() / Self::LOAD.1 * Self::LOAD.0
    }

    /// True if `key` was not in the set (it is now).
    fn insert(&mut self, key: u128) -> bool {
        // 0 marks an empty slot: the key 0 is stored as 1 (two keys out of 2^128 share a slot).
        let key = key.max(1);
        let mask = self.slots.len() - 1;
        let mut i = (key as u64 as usize) & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                self.slots[i] = key;
                self.len += 1;
                return true;
            }
            if slot == key {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    /// Asks the CPU to fetch the slot where a search for `key` starts (a hint only).
    #[inline(always)]
    fn prefetch(&self, key: u128) {
        let slot = (key.max(1) as u64 as usize) & (self.slots.len() - 1);
        #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
        if let Some(slot) = self.slots.get(slot) {
            safe_arch::prefetch_t0(slot);
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
        let _ = slot;
    }

    fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
    }

    /// The same keys in twice the slots.
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        *self = IdTable::with_capacity(self.len.max(1) * 2);
        for key in old.into_iter().filter(|&k| k != 0) {
            self.insert(key);
        }
    }
}

/// The events seen so far in a load or a whole pull, shared by the decoding threads: the first to
/// see an event keeps it. Copies of one event are the same event, so which copy is kept changes no
/// view; it only decides which object's count it adds to. A pull shares one set across its chunks,
/// so copies in different chunks of one pull never reach the database's check of stored events
/// (which would mean decoding a chunk again). Bounded: past [`SeenIds::MAX_IDS`] a shard starts
/// over, and the database's check catches what it forgot.
pub struct SeenIds {
    shards: Vec<std::sync::Mutex<IdTable>>,
    /// The pull these are the events of, if any (see [`SeenIds::for_pull`]).
    pull: Option<i64>,
    /// Some shard started over: some earlier events are forgotten.
    forgot: std::sync::atomic::AtomicBool,
}

impl SeenIds {
    const SHARDS: usize = 16;
    /// How many keys ahead [`SeenIds::first_of`] asks for slots.
    const PREFETCH: usize = 8;
    /// 16 bytes a slot, slots at most 3/4 full: at most ~0.35 GB.
    const MAX_IDS: usize = 16_000_000;

    /// An empty set, sized for about `expected` events (growing a set of millions moves every id
    /// several times).
    pub fn new(expected: usize) -> SeenIds {
        let per_shard = expected.min(Self::MAX_IDS) / Self::SHARDS;
        SeenIds {
            shards: (0..Self::SHARDS)
                .map(|_| std::sync::Mutex::new(IdTable::with_capacity(per_shard)))
                .collect(),
            pull: None,
            forgot: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The set of one pull (numbered `pull`, see `Store::next_pull`) of `gzip_bytes` of objects,
    /// offered every event the pull decodes, chunk after chunk.
    pub fn for_pull(pull: i64, gzip_bytes: u64) -> SeenIds {
        SeenIds {
            pull: Some(pull),
            ..SeenIds::for_gzip_bytes(gzip_bytes)
        }
    }

    /// As when a shard starts over (tests).
    #[cfg(test)]
    pub(crate) fn forget_some(&self) {
        self.forgot
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The pull whose every event so far this set holds: `None` outside a pull, or once the set
    /// has forgotten some.
    pub fn complete_pull(&self) -> Option<i64> {
        self.pull
            .filter(|_| !self.forgot.load(std::sync::atomic::Ordering::Acquire))
    }

    /// An empty set sized for the events of `gzip_bytes` of lake objects.
    pub fn for_gzip_bytes(gzip_bytes: u64) -> SeenIds {
        SeenIds::new(expected_events(gzip_bytes))
    }

    /// For each key, true the first time it is offered (since its shard last started over); a key
    /// repeated within `keys` is first at its first place. Keys go in a shard at a time, in one
    /// tight loop per shard: a set of millions misses the caches on nearly every key, and
    /// independent inserts let the CPU wait for many misses at once (one at a time, between the
    /// parsing of lines, they cost ~400 ns each here).
    pub(crate) fn first_of(&self, keys: &[i128], firsts: &mut Vec<bool>) {
        firsts.clear();
        firsts.resize(keys.len(), false);
        let shard_of = |key: i128| ((key >> 64) as u64 as usize) % Self::SHARDS;
        // The keys' places grouped by shard (a counting sort), so that each shard's loop knows
        // its next keys and can ask for their slots ahead.
        let mut starts = [0usize; Self::SHARDS + 1];
        for &key in keys {
            starts[shard_of(key) + 1] += 1;
        }
        for shard in 0..Self::SHARDS {
            starts[shard + 1] += starts[shard];
        }
        let mut order = vec![0usize; keys.len()];
        let mut next = starts;
        for (i, &key) in keys.iter().enumerate() {
            let shard = shard_of(key);
            order[next[shard]] = i;
            next[shard] += 1;
        }
        for shard in 0..Self::SHARDS {
            let mine = &order[starts[shard]..starts[shard + 1]];
            if mine.is_empty() {
                continue;
            }
            let mut set = self.shards[shard]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for &i in mine.iter().take(Self::PREFETCH) {
                set.prefetch(keys[i] as u128);
            }
            for (j, &i) in mine.iter().enumerate() {
                if set.len >= set.capacity() {
                    if set.len >= Self::MAX_IDS / Self::SHARDS {
                        self.forgot
                            .store(true, std::sync::atomic::Ordering::Release);
                        set.clear();
                    } else {
                        set.grow();
                    }
                }
                // Nearly every slot is a cache miss: asking for a later key's slot now lets the
                // misses overlap (one load stalled on them was ~5 % of a load's CPU, perf).
                if let Some(&ahead) = mine.get(j + Self::PREFETCH) {
                    set.prefetch(keys[ahead] as u128);
                }
                firsts[i] = set.insert(keys[i] as u128);
            }
        }
    }
}

/// About how many events `gzip_bytes` of lake objects hold: they compress about 15x and hold an
/// event per ~600 bytes (generated lakes: 375 MB of gzip for 10.06 M lines).
pub fn expected_events(gzip_bytes: u64) -> usize {
    usize::try_from(gzip_bytes.saturating_mul(15) / 600).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_table_keeps_every_key_once_through_growth_and_clears() {
        let mut table = IdTable::with_capacity(0);
        let keys: Vec<u128> = (0..50_000u128)
            .map(|i| xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes()))
            .chain([0, u128::MAX])
            .collect();
        for &key in &keys {
            if table.len >= table.capacity() {
                table.grow();
            }
            assert!(table.insert(key), "{key} is new");
        }
        // 0 and 1 share a slot: 0 is stored as 1.
        assert!(!table.insert(1));
        assert_eq!(table.len, keys.len());
        assert!(table.slots.len() >= table.len * 4 / 3);
        assert!(keys.iter().all(|&k| !table.insert(k)), "every key is in");
        table.clear();
        assert!(table.insert(keys[7]));
        assert_eq!(table.len, 1);
    }

    #[test]
    fn a_seen_set_started_small_grows_and_forgets_nothing() {
        let seen = SeenIds::new(0);
        let keys: Vec<i128> = (0..100_000i128).map(|i| eid_hash(&i.to_string())).collect();
        let mut firsts = Vec::new();
        for chunk in keys.chunks(1000) {
            seen.first_of(chunk, &mut firsts);
            assert!(firsts.iter().all(|&f| f));
        }
        // Again, and each twice within one call: never first.
        let twice: Vec<i128> = keys.iter().flat_map(|&k| [k, k]).collect();
        seen.first_of(&twice, &mut firsts);
        assert!(firsts.iter().all(|&f| !f));
        // A new key repeated in one call is first once, at its first place.
        seen.first_of(&[7, 8, 7], &mut firsts);
        assert_eq!(firsts, [true, true, false]);
    }
}
