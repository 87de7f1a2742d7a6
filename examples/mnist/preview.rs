//! A picture of the first test digits with the label the model predicted for each, drawn
//! under the digit in green when it is right and red when it is wrong.

use crate::data::Split;
use crate::font;
use crate::idx::SIDE;

/// Each digit is drawn at this many screen pixels a pixel.
const ZOOM: usize = 2;
/// And its predicted label at this many a font pixel.
const LABEL_ZOOM: usize = 2;
const GAP: usize = 4;
const CELL_WIDTH: usize = SIDE * ZOOM;
const CELL_HEIGHT: usize = SIDE * ZOOM + GAP + font::HEIGHT * LABEL_ZOOM;
const RIGHT: [u8; 3] = [40, 200, 70];
const WRONG: [u8; 3] = [230, 40, 40];
const BACKGROUND: [u8; 3] = [24, 24, 24];

/// An RGB picture: `height × width × 3` bytes, row-major.
#[derive(Debug)]
pub struct Grid {
    pub rgb: Vec<u8>,
    pub height: usize,
    pub width: usize,
}

impl Grid {
    /// The picture as a labbook image, for an `#[log(image)]` site.
    pub fn into_image(self) -> labbook::Image {
        labbook::Image::rgb(self.width as u32, self.height as u32, self.rgb)
            .expect("a grid holds width × height × 3 bytes")
    }

    fn paint(&mut self, x: usize, y: usize, color: [u8; 3]) {
        let at = (y * self.width + x) * 3;
        self.rgb[at..at + 3].copy_from_slice(&color);
    }
}

/// The first `count` digits of `split` in rows of `columns`, each over its predicted label.
pub fn grid(split: &Split, predictions: &[u8], count: usize, columns: usize) -> Grid {
    let count = count.min(split.len()).min(predictions.len());
    let columns = columns.clamp(1, count.max(1));
    let rows = count.div_ceil(columns);
    let width = GAP + columns * (CELL_WIDTH + GAP);
    let height = GAP + rows * (CELL_HEIGHT + GAP);
    let mut grid = Grid {
        rgb: BACKGROUND.repeat(width * height),
        height,
        width,
    };
    for (i, &predicted) in predictions[..count].iter().enumerate() {
        let left = GAP + (i % columns) * (CELL_WIDTH + GAP);
        let top = GAP + (i / columns) * (CELL_HEIGHT + GAP);
        for (p, &value) in split.image(i).iter().enumerate() {
            for d in 0..ZOOM * ZOOM {
                let x = left + (p % SIDE) * ZOOM + d % ZOOM;
                let y = top + (p / SIDE) * ZOOM + d / ZOOM;
                grid.paint(x, y, [value; 3]);
            }
        }
        let color = if predicted == split.labels[i] {
            RIGHT
        } else {
            WRONG
        };
        let label_left = left + (CELL_WIDTH - font::WIDTH * LABEL_ZOOM) / 2;
        let label_top = top + SIDE * ZOOM + GAP;
        for y in 0..font::HEIGHT * LABEL_ZOOM {
            for x in 0..font::WIDTH * LABEL_ZOOM {
                let (gx, gy) = ((x / LABEL_ZOOM) as i64, (y / LABEL_ZOOM) as i64);
                if font::ink(predicted, gx, gy) {
                    grid.paint(label_left + x, label_top + y, color);
                }
            }
        }
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::PIXELS;

    #[test]
    fn labels_are_green_when_right_and_red_when_wrong() {
        let split = Split {
            images: vec![255; 3 * PIXELS],
            labels: vec![1, 7, 3],
        };
        let grid = grid(&split, &[1, 2, 3], 16, 4);
        assert_eq!((grid.width, grid.height), (4 + 3 * 60, 4 + 74 + 4));
        assert_eq!(grid.rgb.len(), grid.width * grid.height * 3);
        let has = |color: [u8; 3], cell: usize| {
            let (from, to) = (4 + cell * 60, 4 + cell * 60 + 56);
            (0..grid.height)
                .any(|y| (from..to).any(|x| grid.rgb[(y * grid.width + x) * 3..][..3] == color))
        };
        assert!(has(RIGHT, 0) && !has(WRONG, 0));
        assert!(has(WRONG, 1) && !has(RIGHT, 1));
        assert!(has(RIGHT, 2));
        assert!(has([255; 3], 0), "the digit itself is drawn");
    }
}
