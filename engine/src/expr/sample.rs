//! `sample(list, k)` and `sample(n, k)`: k elements of a list (or k numbers of 1..=n) chosen at
//! random — a deterministic pseudo-random choice seeded by the case, so the same case always
//! draws the same sample and anyone can reproduce it from the seed stored with the case.

use std::sync::Arc;

use cel::{Context, ExecutionError, Value};

/// splitmix64: small, fast and well mixed; enough for sampling, not for secrets.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `k` distinct positions of `0..n`, in increasing order.
pub fn positions(seed: u64, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let mut draw = Draw(seed ^ (n as u64).rotate_left(17) ^ (k as u64).rotate_left(41));
    let k = k.min(n);
    for i in 0..k {
        let j = i + draw.below(n - i);
        all.swap(i, j);
    }
    let mut chosen = all[..k].to_vec();
    chosen.sort_unstable();
    chosen
}

/// Registers `sample` on `ctx`, drawing with `seed` (`None`: outside a case, an error).
pub(super) fn add_sample(ctx: &mut Context, seed: Option<u64>) -> Result<(), cel::DeclarationError> {
    ctx.add_function("sample", move |from: Value, k: i64| -> Result<Value, ExecutionError> {
        let seed = seed.ok_or_else(|| {
            ExecutionError::function_error("sample", "sample() draws for a case: use it in a process")
        })?;
        let k =
            usize::try_from(k).map_err(|_| ExecutionError::function_error("sample", "the sample size is negative"))?;
        match from {
            Value::List(items) => {
                let picked = positions(seed, items.len(), k).into_iter().map(|i| items[i].clone()).collect();
                Ok(Value::List(Arc::new(picked)))
            }
            Value::Int(n) => {
                let n = usize::try_from(n).map_err(|_| ExecutionError::function_error("sample", "a negative count"))?;
                if n > 1_000_000 {
                    return Err(ExecutionError::function_error("sample", "more than 1,000,000 to draw from"));
                }
                let picked = positions(seed, n, k).into_iter().map(|i| Value::Int(i as i64 + 1)).collect();
                Ok(Value::List(Arc::new(picked)))
            }
            other => {
                Err(ExecutionError::function_error("sample", format!("draws from a list or a count, not {other:?}")))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_distinct_sorted_and_the_same_for_the_same_seed() {
        let a = positions(42, 1200, 5);
        assert_eq!(a.len(), 5);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
        assert!(a.iter().all(|p| *p < 1200));
        assert_eq!(positions(42, 1200, 5), a, "reproducible from the seed");
        assert_ne!(positions(43, 1200, 5), a, "another case draws another sample");
        assert_eq!(positions(7, 3, 5), [0, 1, 2], "asking for more takes all");
    }
}
