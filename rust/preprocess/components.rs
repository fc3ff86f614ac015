//! Connected components of a thresholded map, reported as bounding boxes.
//!
//! This is the detector's core for unannotated video: pixels with value above the
//! threshold (and not in the ignore mask) are foreground; each 4- or 8-connected
//! foreground region becomes one box. Sequential flood fill in raster order, so the
//! output order (by first pixel in raster order) is deterministic.

use crate::error::{Error, Result};

/// One component: half-open box [x0, x1) × [y0, y1), pixel count and value sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    pub area: usize,
    pub sum: f64,
}

/// Components of `values > threshold` (ignoring pixels where `ignore` is true) with
/// at least `min_area` pixels. `connectivity` is 4 or 8.
pub fn components(
    values: &[f32],
    (height, width): (usize, usize),
    threshold: f32,
    ignore: Option<&[bool]>,
    connectivity: u8,
    min_area: usize,
) -> Result<Vec<Component>> {
    let n = height * width;
    if values.len() != n {
        return Err(Error::input(
            "heat",
            format!("expected {height}x{width} values, got {}", values.len()),
        ));
    }
    if let Some(m) = ignore {
        if m.len() != n {
            return Err(Error::input(
                "ignore",
                format!("mask must have the map's shape {height}x{width}"),
            ));
        }
    }
    if connectivity != 4 && connectivity != 8 {
        return Err(Error::param(
            "connectivity",
            format!("must be 4 or 8, got {connectivity}"),
        ));
    }
    if !threshold.is_finite() {
        return Err(Error::param("threshold", "must be finite"));
    }
    let fg = |i: usize| values[i] > threshold && !ignore.is_some_and(|m| m[i]);
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for start in 0..n {
        if seen[start] || !fg(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (sy, sx) = (start / width, start % width);
        let mut c = Component {
            x0: sx,
            y0: sy,
            x1: sx + 1,
            y1: sy + 1,
            area: 0,
            sum: 0.0,
        };
        while let Some(i) = stack.pop() {
            let (y, x) = (i / width, i % width);
            c.area += 1;
            c.sum += f64::from(values[i]);
            c.x0 = c.x0.min(x);
            c.x1 = c.x1.max(x + 1);
            c.y0 = c.y0.min(y);
            c.y1 = c.y1.max(y + 1);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    if (dy == 0 && dx == 0) || (connectivity == 4 && dy != 0 && dx != 0) {
                        continue;
                    }
                    let (ny, nx) = (y as i64 + dy, x as i64 + dx);
                    if ny < 0 || nx < 0 || ny >= height as i64 || nx >= width as i64 {
                        continue;
                    }
                    let j = ny as usize * width + nx as usize;
                    if !seen[j] && fg(j) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if c.area >= min_area {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: [f32; 20] = [
        1., 1., 0., 0., 0., //
        0., 1., 0., 5., 0., //
        0., 0., 1., 0., 0., //
        0., 0., 0., 0., 2., //
    ];

    #[test]
    fn four_and_eight_connectivity() {
        let four = components(&MAP, (4, 5), 0.5, None, 4, 1).unwrap();
        let boxes: Vec<_> = four
            .iter()
            .map(|c| (c.x0, c.y0, c.x1, c.y1, c.area))
            .collect();
        assert_eq!(
            boxes,
            vec![
                (0, 0, 2, 2, 3),
                (3, 1, 4, 2, 1),
                (2, 2, 3, 3, 1),
                (4, 3, 5, 4, 1)
            ]
        );
        let eight = components(&MAP, (4, 5), 0.5, None, 8, 1).unwrap();
        let boxes: Vec<_> = eight
            .iter()
            .map(|c| (c.x0, c.y0, c.x1, c.y1, c.area))
            .collect();
        // (3,1) touches (2,2) diagonally, which touches the top-left group.
        assert_eq!(boxes, vec![(0, 0, 4, 3, 5), (4, 3, 5, 4, 1)]);
        assert_eq!(eight[0].sum, 9.0);
    }

    #[test]
    fn threshold_min_area_and_ignore() {
        let c = components(&MAP, (4, 5), 1.5, None, 8, 1).unwrap();
        assert_eq!(c.len(), 2);
        let c = components(&MAP, (4, 5), 0.5, None, 4, 2).unwrap();
        assert_eq!(c.len(), 1);
        let mut ignore = [false; 20];
        ignore[8] = true;
        let c = components(&MAP, (4, 5), 0.5, Some(&ignore), 8, 1).unwrap();
        let boxes: Vec<_> = c.iter().map(|c| (c.x0, c.y0, c.x1, c.y1)).collect();
        assert_eq!(boxes, vec![(0, 0, 3, 3), (4, 3, 5, 4)]);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(components(&MAP, (4, 4), 0.5, None, 4, 1).is_err());
        assert!(components(&MAP, (4, 5), 0.5, None, 6, 1).is_err());
        assert!(components(&MAP, (4, 5), f32::NAN, None, 4, 1).is_err());
        assert!(components(&MAP, (4, 5), 0.5, Some(&[false; 3]), 4, 1).is_err());
    }
}
