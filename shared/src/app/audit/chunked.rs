//! A vector stored in fixed-size chunks, so that two of them join by moving chunks instead of
//! copying elements: joining the audits of several reader threads costs no copy and no second
//! allocation of the whole.
//!
//! Elements are numbered `chunk << CHUNK_BITS | offset`. After [`append`](ChunkedVec::append)
//! the other vector's elements keep their offsets and move up by whole chunks, so their numbers
//! shift by a constant that [`ChunkedVec::shift_for_append`] says in advance.

/// Elements per chunk, as a power of two.
const CHUNK_BITS: u32 = 16;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;

#[derive(Debug)]
pub struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec { chunks: Vec::new() }
    }
}

impl<T> ChunkedVec<T> {
    /// Adds an element, returning its number.
    pub fn push(&mut self, value: T) -> u32 {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK_LEN) {
            self.chunks.push(Vec::with_capacity(CHUNK_LEN));
        }
        let chunk = self.chunks.len() - 1;
        let last = &mut self.chunks[chunk];
        last.push(value);
        ((chunk as u32) << CHUNK_BITS) | (last.len() as u32 - 1)
    }

    pub fn get(&self, number: u32) -> &T {
        &self.chunks[(number >> CHUNK_BITS) as usize][(number as usize) & (CHUNK_LEN - 1)]
    }

    pub fn get_mut(&mut self, number: u32) -> &mut T {
        &mut self.chunks[(number >> CHUNK_BITS) as usize][(number as usize) & (CHUNK_LEN - 1)]
    }

    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// One more than the largest element number: the size of a table indexed by number.
    pub fn number_bound(&self) -> usize {
        match self.chunks.last() {
            None => 0,
            Some(last) => ((self.chunks.len() - 1) << CHUNK_BITS) + last.len(),
        }
    }

    /// Every element with its number, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(move |(o, v)| (((c as u32) << CHUNK_BITS) | o as u32, v))
        })
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.chunks.iter_mut().enumerate().flat_map(|(c, chunk)| {
            chunk
                .iter_mut()
                .enumerate()
                .map(move |(o, v)| (((c as u32) << CHUNK_BITS) | o as u32, v))
        })
    }

    /// The chunks as slices with the number of their first element: for splitting work.
    pub fn chunks(&self) -> impl ExactSizeIterator<Item = (u32, &[T])> {
        self.chunks
            .iter()
            .enumerate()
            .map(|(c, chunk)| (((c as u32) << CHUNK_BITS), chunk.as_slice()))
    }

    /// What [`append`](Self::append) will add to the numbers of the other vector's elements.
    pub fn shift_for_append(&self) -> u32 {
        (self.chunks.len() as u32) << CHUNK_BITS
    }

    /// Moves every chunk of `other` after this vector's chunks.
    pub fn append(&mut self, other: ChunkedVec<T>) {
        self.chunks.extend(other.chunks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_survive_an_append_shifted_by_whole_chunks() {
        let mut a = ChunkedVec::default();
        let mut b = ChunkedVec::default();
        for i in 0..(CHUNK_LEN + 10) {
            a.push(i);
        }
        let b_numbers: Vec<u32> = (0..100).map(|i| b.push(1_000_000 + i)).collect();
        let shift = a.shift_for_append();
        a.append(b);
        for (i, n) in b_numbers.iter().enumerate() {
            assert_eq!(*a.get(n + shift), 1_000_000 + i);
        }
        assert_eq!(a.len(), CHUNK_LEN + 110);
        assert_eq!(*a.get(CHUNK_LEN as u32 + 5), CHUNK_LEN + 5);
        assert_eq!(a.iter().count(), a.len());
        assert!(a.number_bound() >= a.len());
    }
}
