//! Event records binned into raster entries in one pass: what `raster_index` of
//! `snnconv.events.binning` computes with numpy, fused, for records of the package's
//! own event dtype (`x`, `y` u16, `t` i64, `p` u8, packed, little-endian: 13 bytes).

/// Bytes of one packed record and the offsets of its fields.
pub const RECORD_BYTES: usize = 13;
const X_AT: usize = 0;
const Y_AT: usize = 2;
const T_AT: usize = 4;
const P_AT: usize = 12;

/// How events become raster entries: step ⌊(t − start) / bin⌋ of `steps`, input
/// node (c·H + y)·W + x, channel c = 1 for p > 0 and 0 otherwise when there are two
/// channels (always 0 with one).
#[derive(Clone, Copy, Debug)]
pub struct EventBins {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub steps: usize,
    /// bin width, µs (> 0)
    pub bin: i64,
    /// the start of step 0, µs
    pub start: i64,
}

/// The entry `step·nodes + node` of every event inside the steps, in record order,
/// appended to `index`, and each stream's end in `index` (streams end at `ends`
/// records) appended to `offsets` after a leading 0. `Err(i)`: record i has a
/// coordinate outside the sensor (`index` and `offsets` then hold a partial result).
/// The caller makes sure `steps · channels · height · width <= 2³²`.
pub fn event_entries(
    records: &[u8],
    ends: &[usize],
    bins: &EventBins,
    index: &mut Vec<u32>,
    offsets: &mut Vec<u64>,
) -> Result<(), usize> {
    let n = records.len() / RECORD_BYTES;
    let (w, h) = (bins.width as u64, bins.height as u64);
    let nodes = bins.channels as u64 * h * w;
    let two = bins.channels == 2;
    let bin = bins.bin.max(1) as u64;
    // t − start below this is inside the steps (saturated: then every t ≥ start is)
    let span = (bins.steps as u64).saturating_mul(bin);
    let inv = 1.0 / bin as f64;
    index.reserve(n);
    offsets.push(0);
    let mut from = 0usize;
    for &end in ends {
        let end = end.min(n);
        for (i, r) in records[from * RECORD_BYTES..end * RECORD_BYTES]
            .chunks_exact(RECORD_BYTES)
            .enumerate()
        {
            let x = u64::from(u16::from_le_bytes([r[X_AT], r[X_AT + 1]]));
            let y = u64::from(u16::from_le_bytes([r[Y_AT], r[Y_AT + 1]]));
            if x >= w || y >= h {
                return Err(from + i);
            }
            let mut tb = [0u8; 8];
            tb.copy_from_slice(&r[T_AT..T_AT + 8]);
            let t = i64::from_le_bytes(tb);
            // t − start exactly (i128), inside when in [0, span)
            let d = i128::from(t) - i128::from(bins.start);
            if d < 0 || d >= i128::from(span) {
                continue;
            }
            let d = d as u64;
            // ⌊d / bin⌋: a floating-point estimate, corrected to the exact quotient
            // (a hardware division per event costs more than the rest of the loop)
            let mut step = (d as f64 * inv) as u64;
            while u128::from(step) * u128::from(bin) > u128::from(d) {
                step -= 1;
            }
            while u128::from(step + 1) * u128::from(bin) <= u128::from(d) {
                step += 1;
            }
            let c = u64::from(two && r[P_AT] != 0);
            index.push((step * nodes + (c * h + y) * w + x) as u32);
        }
        offsets.push(index.len() as u64);
        from = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(x: u16, y: u16, t: i64, p: u8) -> Vec<u8> {
        let mut r = Vec::with_capacity(RECORD_BYTES);
        r.extend_from_slice(&x.to_le_bytes());
        r.extend_from_slice(&y.to_le_bytes());
        r.extend_from_slice(&t.to_le_bytes());
        r.push(p);
        r
    }

    /// A 4 × 3 sensor with two polarity channels, two steps of 10 µs from `start`.
    fn small_sensor(start: i64) -> EventBins {
        EventBins {
            channels: 2,
            height: 3,
            width: 4,
            steps: 2,
            bin: 10,
            start,
        }
    }

    #[test]
    fn entries_follow_the_raster_layout_and_drop_events_outside_the_steps() {
        let bins = small_sensor(5);
        let recs: Vec<u8> = [
            record(1, 2, 5, 1),  // step 0, ON: (1·3 + 2)·4 + 1 = 21
            record(3, 0, 4, 0),  // before start: dropped
            record(0, 1, 24, 0), // step 1, OFF: 24 + 4 = 28
            record(2, 2, 25, 1), // step 2: dropped
            record(3, 2, 14, 7), // step 0, ON: 12 + 8 + 3 = 23
        ]
        .concat();
        let (mut index, mut offsets) = (Vec::new(), Vec::new());
        event_entries(&recs, &[3, 3, 5], &bins, &mut index, &mut offsets).unwrap();
        assert_eq!(index, vec![21, 28, 23]);
        assert_eq!(offsets, vec![0, 2, 2, 3]);
        let one = EventBins {
            channels: 1,
            ..bins
        };
        let (mut index, mut offsets) = (Vec::new(), Vec::new());
        event_entries(&recs, &[5], &one, &mut index, &mut offsets).unwrap();
        assert_eq!(index, vec![9, 12 + 4, 11]);
    }

    #[test]
    fn steps_are_exact_floor_quotients_at_every_bin_edge() {
        for &(bin, start) in &[(1i64, 0i64), (3, -7), (30_001, 0), (999_999_937, 12_345)] {
            let bins = EventBins {
                channels: 1,
                height: 1,
                width: 1,
                steps: 1000,
                bin,
                start,
            };
            let ts: Vec<i64> = (0..1000i64)
                .flat_map(|k| [k * bin - 1, k * bin, k * bin + 1])
                .map(|d| d + start)
                .chain([i64::MIN, i64::MAX])
                .collect();
            let recs: Vec<u8> = ts.iter().flat_map(|&t| record(0, 0, t, 0)).collect();
            let (mut index, mut offsets) = (Vec::new(), Vec::new());
            event_entries(&recs, &[ts.len()], &bins, &mut index, &mut offsets).unwrap();
            let want: Vec<u32> = ts
                .iter()
                .map(|&t| (i128::from(t) - i128::from(start)).div_euclid(i128::from(bin)))
                .filter(|s| (0..1000).contains(s))
                .map(|s| s as u32)
                .collect();
            assert_eq!(index, want);
        }
    }

    #[test]
    fn a_coordinate_outside_the_sensor_names_its_record() {
        let bins = small_sensor(0);
        let recs: Vec<u8> = [record(0, 0, 0, 0), record(1, 3, 0, 0)].concat();
        let (mut index, mut offsets) = (Vec::new(), Vec::new());
        assert_eq!(
            event_entries(&recs, &[2], &bins, &mut index, &mut offsets),
            Err(1)
        );
        let recs = record(4, 0, 0, 0);
        assert_eq!(
            event_entries(&recs, &[1], &bins, &mut index, &mut offsets),
            Err(0)
        );
    }
}
