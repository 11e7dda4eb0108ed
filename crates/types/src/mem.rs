//! Start-up helpers for preallocated memory.

use core::mem::MaybeUninit;

/// Touch every page of a vector's allocation (its elements and its spare capacity) so the first
/// use on the hot path does not take a page fault. Values are unchanged. Cost: one write per
/// page of the initialized part, a fill of the spare capacity. Call at start-up, never on the
/// hot path.
pub fn prefault<T: Copy>(v: &mut Vec<T>) {
    let size = core::mem::size_of::<T>().max(1);
    let step = (4096 / size).max(1);
    let mut i = 0;
    while i < v.len() {
        let x = v[i];
        v[i] = core::hint::black_box(x);
        i += step;
    }
    v.spare_capacity_mut().fill(MaybeUninit::zeroed());
    core::hint::black_box(v.as_ptr());
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_and_length_are_unchanged() {
        let mut v: Vec<u64> = Vec::with_capacity(10_000);
        v.extend(0..3_000u64);
        super::prefault(&mut v);
        assert_eq!(v.len(), 3_000);
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64));
        assert!(v.capacity() >= 10_000);
    }
}
